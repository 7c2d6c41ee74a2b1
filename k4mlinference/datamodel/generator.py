"""Generate plain C++17 headers and a ROOT selection file from a parsed datamodel.

For each datatype X podio's storage layout is reproduced: `XData` (members, then begin/end
indices of vector members and OneToMany relations), and `XCollection` holding a
`std::vector<XData>`, one `std::vector<podio::ObjectID>` per relation and one `std::vector<T>`
per vector member. Because memory equals the on-disk layout, ROOT reads straight into a
collection and numpy views need no conversion. Handles `X` (read-only) and `MutableX` give
podio's object API with getters, setters and relation navigation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from k4mlinference.datamodel.model import Datamodel, Datatype, Member, load_builtin_datamodels

CORE_INCLUDE = "k4ml/podio_types.h"


def _ns_open(ns: str) -> str:
    return "".join(f"namespace {p} {{\n" for p in ns.split("::")) if ns else ""


def _ns_close(ns: str) -> str:
    return "".join("}\n" for _ in ns.split("::")) if ns else ""


def _resolving_getter(owner: str, target: str, signature: str, id_expr: str) -> str:
    """C++ of a relation getter: the ObjectID `id_expr` resolved through the frame to a `target` handle
    (an empty handle when the target collection is not available)."""
    return (
        f"inline {target} {owner}::{signature} const {{\n"
        f"  const auto& id = {id_expr};\n"
        f"  const auto* c = m_coll->template resolve<{target}Collection>(id);\n"
        f"  return c ? {target}(c, id.index) : {target}();\n}}"
    )


def _getter(name: str) -> str:
    return "get" + name[0].upper() + name[1:]


def _setter(name: str) -> str:
    return "set" + name[0].upper() + name[1:]


def _adder(name: str) -> str:
    return "addTo" + name[0].upper() + name[1:]


def _default_init(m: Member) -> str:
    return "{" + m.default + "}" if m.default not in (None, "") else "{}"


def _member_args(dt: Datatype, defaults: bool) -> str:
    """`const T1& a, const T2& b = {default}, ...`: every member after the first may be left out."""
    return ", ".join(
        f"const {m.cpp_type}& {m.name}" + (f" = {_default_init(m)}" if defaults and i else "")
        for i, m in enumerate(dt.members)
    )


# The API only C++ algorithms use (standalone objects, clone, push_back, create(members...), operators)
# is hidden from cling: Python does not need it, and cling parses the generated header at every start.
CXX_ONLY = "#ifndef __CLING__"
CXX_ONLY_END = "#endif  // __CLING__"


class _Gen:
    def __init__(self, dm: Datamodel, upstream: list[Datamodel]):
        self.dm = dm
        self.upstream = upstream
        self.interfaces = {n for d in [dm, *upstream] for n in d.interfaces}
        self.known_types = {n for d in [dm, *upstream] for n in d.datatypes}

    # ---------------------------------------------------------------- components & data
    def component(self, c) -> str:
        lines = [_ns_open(c.namespace), f"/// {c.description}".rstrip(), f"struct {c.bare_name} {{"]
        for m in c.members:
            lines.append(f"  {m.cpp_type} {m.name}{_default_init(m)};  // {m.doc}".rstrip(" /"))
        ops = self.vector_operators(c)
        lines += [CXX_ONLY, *ops, CXX_ONLY_END] if ops else []
        lines += ["};", _ns_close(c.namespace)]
        return "\n".join(lines)

    @staticmethod
    def vector_operators(c) -> list[str]:
        """Arithmetic for components made of 2-4 numbers of one type (EDM4hep's Vector2f/3f/3d/4f...).

        Member functions only: the data layout, and so the streamer checksum, stays podio's."""
        types = {m.type for m in c.members}
        if not 2 <= len(c.members) <= 4 or len(types) != 1 or c.members[0].array or not c.members[0].is_builtin:
            return []
        X, T = c.bare_name, c.members[0].cpp_type
        names = [m.name for m in c.members]

        def each(fmt: str) -> str:
            return ", ".join(fmt.format(n=n) for n in names)

        printed = " << ' ' << ".join(f"v.{n}" for n in names)
        idx = " : ".join(f"i == {k} ? {n}" for k, n in enumerate(names[:-1])) + f" : {names[-1]}"
        return [
            f"  constexpr {X} operator+(const {X}& o) const {{ return {{{each('{n} + o.{n}')}}}; }}",
            f"  constexpr {X} operator-(const {X}& o) const {{ return {{{each('{n} - o.{n}')}}}; }}",
            f"  constexpr {X} operator-() const {{ return {{{each('-{n}')}}}; }}",
            f"  constexpr {X} operator*(double s) const {{ return {{{each('static_cast<' + T + '>({n} * s)')}}}; }}",
            f"  constexpr {X} operator/(double s) const {{ return {{{each('static_cast<' + T + '>({n} / s)')}}}; }}",
            f"  {X}& operator+=(const {X}& o) {{ return *this = *this + o; }}",
            f"  {X}& operator-=(const {X}& o) {{ return *this = *this - o; }}",
            f"  constexpr bool operator==(const {X}& o) const {{ return {' && '.join(f'{n} == o.{n}' for n in names)}; }}",
            f"  constexpr bool operator!=(const {X}& o) const {{ return !(*this == o); }}",
            f"  constexpr const {T}& operator[](unsigned i) const {{ return {idx}; }}",
            f"  constexpr {T}& operator[](unsigned i) {{ return {idx}; }}",
            f"  constexpr double dot(const {X}& o) const {{ return {' + '.join(f'double({n}) * o.{n}' for n in names)}; }}",
            f"  friend constexpr {X} operator*(double s, const {X}& v) {{ return v * s; }}",
            f"  friend std::ostream& operator<<(std::ostream& os, const {X}& v) {{ return os << {printed}; }}",
        ]

    def data_struct(self, dt: Datatype) -> str:
        if dt.link:
            return ""
        lines = [
            _ns_open(dt.namespace),
            f"/// Persistent data of {dt.name}: {dt.description}",
            f"struct {dt.bare_name}Data {{",
        ]
        for m in dt.members:
            lines.append(f"  {m.cpp_type} {m.name}{_default_init(m)};")
        for f in dt.range_fields:
            lines.append(f"  unsigned int {f}{{0}};")
        lines += ["};", _ns_close(dt.namespace)]
        return "\n".join(lines)

    # ---------------------------------------------------------------- handles
    def target_is_resolvable(self, t: str) -> bool:
        return t in self.known_types and t not in self.interfaces

    def handle_decl(self, dt: Datatype) -> str:
        X = dt.bare_name
        L = [_ns_open(dt.namespace)]
        L.append(f"/// Read-only handle to one {dt.name}: (collection, index), as cheap to copy as a pointer.")
        L.append(f"class {X} {{\npublic:")
        L.append(f"  using collection_type = {X}Collection;\n  using mutable_type = Mutable{X};")
        L.append(f"  {X}() = default;  ///< an empty handle (isAvailable() is false), podio's makeEmpty()")
        L.append(f"  {X}(const {X}Collection* coll, std::size_t idx) : m_coll(coll), m_idx(idx) {{}}")
        L.append("  bool isAvailable() const { return m_coll != nullptr; }")
        L.append("  std::size_t getIndex() const { return m_idx; }")
        L.append("  podio::ObjectID getObjectID() const;")
        L.append(f"  const {X}Collection* getCollection() const {{ return m_coll; }}")
        L.append(f"  bool operator==(const {X}& o) const {{ return m_coll == o.m_coll && m_idx == o.m_idx; }}")
        L.append(f"  bool operator!=(const {X}& o) const {{ return !(*this == o); }}")
        L.append(CXX_ONLY)
        L.append(f"  static {X} makeEmpty() {{ return {{}}; }}")
        L.append("  podio::ObjectID id() const { return getObjectID(); }")
        L.append("  /// A new object outside any collection with this one's members (and relations, by default).")
        L.append(f"  Mutable{X} clone(bool cloneRelations = true) const;")
        L.append(
            f"  bool operator<(const {X}& o) const {{ return m_coll != o.m_coll ? m_coll < o.m_coll : m_idx < o.m_idx; }}"
        )
        L.append(CXX_ONLY_END)
        L.append(f"  const {dt.data_type}& getData() const;")
        for m in dt.members:
            L.append(f"  const {m.cpp_type}& {_getter(m.name)}() const;")
        for m in dt.vector_members:
            L.append(f"  k4ml::Span<const {m.cpp_type}> {_getter(m.name)}() const;")
            L.append(f"  std::size_t {m.name}_size() const {{ return {_getter(m.name)}().size(); }}")
        for r in dt.one_to_many:
            L.append(f"  k4ml::Span<const podio::ObjectID> {r.name}IDs() const;")
            L.append(f"  std::size_t {r.name}_size() const {{ return {r.name}IDs().size(); }}")
            if self.target_is_resolvable(r.type):
                L.append(f"  std::vector<{r.type}> {_getter(r.name)}() const;")
                L.append(f"  {r.type} {_getter(r.name)}(std::size_t i) const;")
        for r in dt.one_to_one:
            L.append(f"  const podio::ObjectID& {r.name}ID() const;")
            if self.target_is_resolvable(r.type):
                L.append(f"  {r.type} {_getter(r.name)}() const;")
        L.append(
            f"\nprotected:\n  const {X}Collection* m_coll{{nullptr}};\n  std::size_t m_idx{{0}};\n"
            f"  std::shared_ptr<{X}Collection> m_own;  ///< storage of an object not (yet) in a collection\n"
            f"  friend class {X}Collection;\n}};\n"
        )
        L.append(f"/// Writable handle: from {X}Collection::create(), or standalone (Mutable{X}()) and then push_back.")
        L.append(f"class Mutable{X} : public {X} {{\npublic:")
        L.append(f"  Mutable{X}({X}Collection* coll, std::size_t idx) : {X}(coll, idx) {{}}")
        L.append(CXX_ONLY)
        L.append(f"  Mutable{X}();  ///< a new object outside any collection")
        if dt.members:
            L.append("  /// A new object outside any collection with its members in declaration order.")
            L.append(f"  Mutable{X}({_member_args(dt, True)});")
        L.append(f"  explicit Mutable{X}(std::shared_ptr<{X}Collection> own);")
        L.append(CXX_ONLY_END)
        L.append(f"  {dt.data_type}& data() const;")
        for m in dt.members:
            L.append(f"  void {_setter(m.name)}(const {m.cpp_type}& v) const;")
            L.append(f"  {m.cpp_type}& {m.name}() const;")
        for m in dt.vector_members:
            L.append(f"  void {_adder(m.name)}(const {m.cpp_type}& v) const;")
        for r in dt.one_to_many:
            L.append(f"  void {_adder(r.name)}(const podio::ObjectID& id) const;")
            if r.type in self.known_types or r.type in self.interfaces:
                if r.type in self.interfaces:
                    for t in self.interface_types(r.type):
                        L.append(
                            f"  void {_adder(r.name)}(const {t}& o) const {{ {_adder(r.name)}(o.getObjectID()); }}"
                        )
                else:
                    L.append(f"  void {_adder(r.name)}(const {r.type}& o) const;")
        for r in dt.one_to_one:
            L.append(f"  void {_setter(r.name)}(const podio::ObjectID& id) const;")
            if r.type in self.interfaces:
                for t in self.interface_types(r.type):
                    L.append(f"  void {_setter(r.name)}(const {t}& o) const {{ {_setter(r.name)}(o.getObjectID()); }}")
            elif r.type in self.known_types:
                L.append(f"  void {_setter(r.name)}(const {r.type}& o) const;")
        L.append("};")
        L.append(_ns_close(dt.namespace))
        return "\n".join(L)

    def interface_types(self, iface: str) -> list[str]:
        for d in [self.dm, *self.upstream]:
            if iface in d.interfaces:
                return d.interfaces[iface].types
        return []

    # ---------------------------------------------------------------- collections
    def collection_decl(self, dt: Datatype) -> str:
        X = dt.bare_name
        D = dt.data_type
        L = [_ns_open(dt.namespace)]
        L.append(f"/// Collection of {dt.name}, stored as podio stores it on disk.")
        L.append(f"class {X}Collection : public k4ml::CollectionBase {{\npublic:")
        L.append(f"  using value_type = {X};\n  using mutable_type = Mutable{X};\n  using data_type = {D};")
        L.append("  std::size_t size() const override { return m_data.size(); }")
        L.append("  bool empty() const { return m_data.empty(); }")
        L.append(f'  std::string getTypeName() const override {{ return "{dt.collection_type}"; }}')
        L.append(f'  std::string getValueTypeName() const override {{ return "{dt.name}"; }}')
        L.append(f'  std::string getDataTypeName() const override {{ return "{D}"; }}')
        schema = 1 if dt.link else self.dm.schema_version
        L.append(f"  unsigned int getSchemaVersion() const override {{ return {schema}; }}")
        clear = ["m_data.clear();"] + [f"m_rel_{r.name}.clear();" for r in dt.relations]
        clear += [f"m_vec_{m.name}.clear();" for m in dt.vector_members]
        L.append(f"  void clear() override {{ {' '.join(clear)} }}")
        L.append("  void* dataBuffer() override { return &m_data; }")
        L.append(f"  std::size_t elementSize() const override {{ return sizeof({D}); }}")
        rels = ", ".join(f'"{r.name}"' for r in dt.relations)
        L.append(f"  std::vector<std::string> relationNames() const override {{ return {{{rels}}}; }}")
        L.append("  std::vector<podio::ObjectID>* relationBuffer(std::size_t i) override {\n    (void)i;")
        for i, r in enumerate(dt.relations):
            L.append(f"    if (i == {i}) return &m_rel_{r.name};")
        L.append("    return nullptr;\n  }")
        vms = ", ".join(f'"{m.name}"' for m in dt.vector_members)
        vmt = ", ".join(f'"{m.type}"' for m in dt.vector_members)
        L.append(f"  std::vector<std::string> vectorMemberNames() const override {{ return {{{vms}}}; }}")
        L.append(f"  std::vector<std::string> vectorMemberTypes() const override {{ return {{{vmt}}}; }}")
        L.append("  void* vectorMemberBuffer(std::size_t i) override {\n    (void)i;")
        for i, m in enumerate(dt.vector_members):
            L.append(f"    if (i == {i}) return &m_vec_{m.name};")
        L.append("    return nullptr;\n  }")
        # element creation: new ranges start at the current end of each buffer
        L.append(f"  Mutable{X} create() {{")
        L.append(f"    {D} d{{}};")
        for m in dt.vector_members:
            L.append(f"    d.{m.name}_begin = d.{m.name}_end = static_cast<unsigned int>(m_vec_{m.name}.size());")
        for r in dt.one_to_many:
            L.append(f"    d.{r.name}_begin = d.{r.name}_end = static_cast<unsigned int>(m_rel_{r.name}.size());")
        L.append("    m_data.push_back(d);")
        for r in dt.one_to_one:
            L.append(f"    m_rel_{r.name}.push_back(podio::ObjectID{{podio::ObjectID::invalid, 0}});")
        L.append(f"    return Mutable{X}(this, m_data.size() - 1);\n  }}")
        L.append(CXX_ONLY)
        if dt.members:
            sets = " ".join(f"o.{_setter(m.name)}({m.name});" for m in dt.members)
            L.append("  /// create() with members in declaration order (the ones left out keep their defaults).")
            L.append(
                f"  Mutable{X} create({_member_args(dt, True)}) {{\n    auto o = create();\n    {sets}\n    return o;\n  }}"
            )
        L.append(
            f"  /// Add an object made outside (Mutable{X}(), clone()) or taken from another collection: its\n"
            f"  /// members and relations are copied in; a standalone handle then refers to the new element.\n"
            f"  void push_back(const {X}& o) {{\n"
            f'    if (!o.m_coll) throw std::invalid_argument("{X}Collection::push_back: empty handle");\n'
            f'    if (o.m_coll == this) throw std::invalid_argument("{X}Collection::push_back: already in this collection");\n'
            f"    const std::size_t i = appendCopy(*o.m_coll, o.m_idx, true);\n"
            f"    if (o.m_own) {{  // podio: the pushed handle now is the collection's element\n"
            f"      auto& h = const_cast<{X}&>(o);\n      h.m_own.reset();\n      h.m_coll = this;\n      h.m_idx = i;\n    }}\n  }}"
        )
        L.append(f"  {X}Collection* operator->() {{ return this; }}")
        L.append(f"  const {X}Collection* operator->() const {{ return this; }}")
        L.append("  bool isValid() const { return true; }")
        L.append("  /// Append a copy of element i of `src` (relations too if asked); returns its index.")
        L.append(f"  std::size_t appendCopy(const {X}Collection& src, std::size_t i, bool relations) {{")
        L.append(f"    {D} d = src.m_data[i];\n    (void)relations;")
        for m in dt.vector_members:
            L.append(
                f"    d.{m.name}_begin = static_cast<unsigned int>(m_vec_{m.name}.size());\n"
                f"    m_vec_{m.name}.insert(m_vec_{m.name}.end(), src.m_vec_{m.name}.begin() + src.m_data[i].{m.name}_begin,\n"
                f"                          src.m_vec_{m.name}.begin() + src.m_data[i].{m.name}_end);\n"
                f"    d.{m.name}_end = static_cast<unsigned int>(m_vec_{m.name}.size());"
            )
        for r in dt.one_to_many:
            L.append(
                f"    d.{r.name}_begin = static_cast<unsigned int>(m_rel_{r.name}.size());\n"
                f"    if (relations)\n"
                f"      m_rel_{r.name}.insert(m_rel_{r.name}.end(), src.m_rel_{r.name}.begin() + src.m_data[i].{r.name}_begin,\n"
                f"                            src.m_rel_{r.name}.begin() + src.m_data[i].{r.name}_end);\n"
                f"    d.{r.name}_end = static_cast<unsigned int>(m_rel_{r.name}.size());"
            )
        for r in dt.one_to_one:
            L.append(
                f"    m_rel_{r.name}.push_back(relations ? src.m_rel_{r.name}[i] : podio::ObjectID{{podio::ObjectID::invalid, 0}});"
            )
        L.append("    m_data.push_back(d);\n    return m_data.size() - 1;\n  }")
        # podio's column access: coll.momentum() is every element's momentum (the first nElem if given)
        taken = {"size", "empty", "create", "push_back", "clear", "data", "at", "reserve", "begin", "end", "isValid"}
        for m in dt.members:
            if m.name in taken:
                continue
            L.append(
                f"  std::vector<{m.cpp_type}> {m.name}(std::size_t nElem = 0) const {{\n"
                f"    const std::size_t n = nElem == 0 || nElem > m_data.size() ? m_data.size() : nElem;\n"
                f"    std::vector<{m.cpp_type}> out;\n    out.reserve(n);\n"
                f"    for (std::size_t i = 0; i < n; ++i) out.push_back(m_data[i].{m.name});\n    return out;\n  }}"
            )
        L.append(CXX_ONLY_END)
        L.append("  void reserve(std::size_t n) {\n    m_data.reserve(n);")
        for r in dt.one_to_one:
            L.append(f"    m_rel_{r.name}.reserve(n);")
        L.append("  }")
        L.append(f"  {X} operator[](std::size_t i) const {{ return {X}(this, i); }}")
        L.append(
            f'  {X} at(std::size_t i) const {{\n    if (i >= m_data.size()) throw std::out_of_range("{X}Collection::at");\n    return {X}(this, i);\n  }}'
        )
        L.append(
            f'  Mutable{X} mutableAt(std::size_t i) {{\n    if (i >= m_data.size()) throw std::out_of_range("{X}Collection::mutableAt");\n    return Mutable{X}(this, i);\n  }}'
        )
        L.append("  class const_iterator {\n  public:")
        L.append(f"    const_iterator(const {X}Collection* c, std::size_t i) : m_c(c), m_i(i) {{}}")
        L.append(f"    {X} operator*() const {{ return {X}(m_c, m_i); }}")
        L.append("    const_iterator& operator++() { ++m_i; return *this; }")
        L.append("    bool operator!=(const const_iterator& o) const { return m_i != o.m_i; }")
        L.append("    bool operator==(const const_iterator& o) const { return m_i == o.m_i; }")
        L.append(f"  private:\n    const {X}Collection* m_c;\n    std::size_t m_i;\n  }};")
        L.append("  using iterator = const_iterator;")
        L.append("  const_iterator begin() const { return const_iterator(this, 0); }")
        L.append("  const_iterator end() const { return const_iterator(this, m_data.size()); }")
        L.append(f"  std::vector<{D}>& data() {{ return m_data; }}")
        L.append(f"  const std::vector<{D}>& data() const {{ return m_data; }}")
        L.append(f"\n  std::vector<{D}> m_data;")
        for r in dt.relations:
            L.append(f"  std::vector<podio::ObjectID> m_rel_{r.name};")
        for m in dt.vector_members:
            L.append(f"  std::vector<{m.cpp_type}> m_vec_{m.name};")
        L.append("};")
        L.append(_ns_close(dt.namespace))
        return "\n".join(L)

    # ---------------------------------------------------------------- inline definitions
    def handle_impl(self, dt: Datatype) -> str:
        X = dt.bare_name
        D = dt.data_type
        L = [_ns_open(dt.namespace)]
        L.append(f"inline const {D}& {X}::getData() const {{ return m_coll->m_data[m_idx]; }}")
        printed = [m for m in dt.members if m.is_builtin]
        fields = " << ".join(f'" {m.name}=" << o.{_getter(m.name)}()' for m in printed) or '""'
        L.append(
            f"{CXX_ONLY}\n/// `info() << obj`: the type, index and the plain-number members.\n"
            f"inline std::ostream& operator<<(std::ostream& os, const {X}& o) {{\n"
            f'  if (!o.isAvailable()) return os << "{dt.name} (empty)";\n'
            f'  return os << "{dt.name} #" << o.getIndex() << {fields};\n}}\n{CXX_ONLY_END}'
        )
        L.append(
            f"inline podio::ObjectID {X}::getObjectID() const {{\n"
            f"  if (!m_coll || m_own) return podio::ObjectID{{podio::ObjectID::untracked, 0}};\n"
            f"  return podio::ObjectID{{static_cast<int>(m_idx), m_coll->getID()}};\n}}"
        )
        for m in dt.members:
            L.append(
                f"inline const {m.cpp_type}& {X}::{_getter(m.name)}() const {{ return m_coll->m_data[m_idx].{m.name}; }}"
            )
        for m in dt.vector_members:
            L.append(
                f"inline k4ml::Span<const {m.cpp_type}> {X}::{_getter(m.name)}() const {{\n"
                f"  const auto& d = m_coll->m_data[m_idx];\n"
                f"  return {{m_coll->m_vec_{m.name}.data() + d.{m.name}_begin, d.{m.name}_end - d.{m.name}_begin}};\n}}"
            )
        for r in dt.one_to_many:
            L.append(
                f"inline k4ml::Span<const podio::ObjectID> {X}::{r.name}IDs() const {{\n"
                f"  const auto& d = m_coll->m_data[m_idx];\n"
                f"  return {{m_coll->m_rel_{r.name}.data() + d.{r.name}_begin, d.{r.name}_end - d.{r.name}_begin}};\n}}"
            )
            if self.target_is_resolvable(r.type):
                T = r.type
                L.append(_resolving_getter(X, T, f"{_getter(r.name)}(std::size_t i)", f"{r.name}IDs().at(i)"))
                L.append(
                    f"inline std::vector<{T}> {X}::{_getter(r.name)}() const {{\n"
                    f"  std::vector<{T}> out;\n  for (const auto& id : {r.name}IDs()) {{\n"
                    f"    const auto* c = m_coll->template resolve<{T}Collection>(id);\n"
                    f"    out.push_back(c ? {T}(c, id.index) : {T}());\n  }}\n  return out;\n}}"
                )
        for r in dt.one_to_one:
            L.append(
                f"inline const podio::ObjectID& {X}::{r.name}ID() const {{ return m_coll->m_rel_{r.name}[m_idx]; }}"
            )
            if self.target_is_resolvable(r.type):
                T = r.type
                L.append(_resolving_getter(X, T, f"{_getter(r.name)}()", f"{r.name}ID()"))
        L.append(CXX_ONLY)
        L.append(
            f"inline Mutable{X}::Mutable{X}(std::shared_ptr<{X}Collection> own) : {X}(own.get(), 0) {{ m_own = std::move(own); }}"
        )
        L.append(
            f"inline Mutable{X}::Mutable{X}() : Mutable{X}(std::make_shared<{X}Collection>()) {{ m_own->create(); }}"
        )
        if dt.members:
            sets = " ".join(f"{_setter(m.name)}({m.name});" for m in dt.members)
            L.append(f"inline Mutable{X}::Mutable{X}({_member_args(dt, False)}) : Mutable{X}() {{ {sets} }}")
        L.append(
            f"inline Mutable{X} {X}::clone(bool cloneRelations) const {{\n"
            f"  auto own = std::make_shared<{X}Collection>();\n"
            f"  if (m_coll) {{\n    own->appendCopy(*m_coll, m_idx, cloneRelations);\n"
            f"    own->setResolver(m_coll->resolver());  // the copied relations resolve as the original's\n"
            f"  }} else {{\n    own->create();\n  }}\n"
            f"  return Mutable{X}(std::move(own));\n}}"
        )
        L.append(CXX_ONLY_END)
        MC = f"const_cast<{X}Collection*>(m_coll)"
        L.append(f"inline {D}& Mutable{X}::data() const {{ return {MC}->m_data[m_idx]; }}")
        for m in dt.members:
            L.append(
                f"inline void Mutable{X}::{_setter(m.name)}(const {m.cpp_type}& v) const {{ data().{m.name} = v; }}"
            )
            L.append(f"inline {m.cpp_type}& Mutable{X}::{m.name}() const {{ return data().{m.name}; }}")
        for m in dt.vector_members:
            L.append(
                f"inline void Mutable{X}::{_adder(m.name)}(const {m.cpp_type}& v) const {{\n"
                f"  auto* c = {MC};\n"
                f"  k4ml::detail::insertIntoRange(c->m_data, c->m_vec_{m.name}, m_idx, &{D}::{m.name}_begin, &{D}::{m.name}_end, v);\n}}"
            )
        for r in dt.one_to_many:
            L.append(
                f"inline void Mutable{X}::{_adder(r.name)}(const podio::ObjectID& id) const {{\n"
                f'  if (id.index < 0) throw std::invalid_argument("{X}::{_adder(r.name)}: the object is not in a collection");\n'
                f"  auto* c = {MC};\n"
                f"  k4ml::detail::insertIntoRange(c->m_data, c->m_rel_{r.name}, m_idx, &{D}::{r.name}_begin, &{D}::{r.name}_end, id);\n}}"
            )
            if r.type in self.known_types and r.type not in self.interfaces:
                L.append(
                    f"inline void Mutable{X}::{_adder(r.name)}(const {r.type}& o) const {{ {_adder(r.name)}(o.getObjectID()); }}"
                )
        for r in dt.one_to_one:
            L.append(
                f"inline void Mutable{X}::{_setter(r.name)}(const podio::ObjectID& id) const {{ {MC}->m_rel_{r.name}[m_idx] = id; }}"
            )
            if r.type in self.known_types and r.type not in self.interfaces:
                L.append(
                    f"inline void Mutable{X}::{_setter(r.name)}(const {r.type}& o) const {{ {_setter(r.name)}(o.getObjectID()); }}"
                )
        L.append(_ns_close(dt.namespace))
        return "\n".join(L)

    # ---------------------------------------------------------------- whole header
    def header(self) -> str:
        dm = self.dm
        guard = f"K4ML_GENERATED_{dm.name.upper()}_H"
        out = [
            f"// Generated by k4mlinference from the {dm.name} datamodel (schema {dm.schema_version}). Do not edit.",
            f"#ifndef {guard}\n#define {guard}",
            "#include <array>\n#include <cstdint>\n#include <memory>\n#include <ostream>\n#include <stdexcept>\n#include <string>\n#include <vector>",
            f'#include "{CORE_INCLUDE}"',
        ]
        out += [f'#include "{u.name}/{u.name}.h"' for u in self.upstream]
        for c in dm.components.values():
            out.append(self.component(c))
        for dt in dm.datatypes.values():
            out.append(self.data_struct(dt))
        # forward declarations so handles and collections may refer to each other
        for dt in dm.datatypes.values():
            out.append(
                f"{_ns_open(dt.namespace)}class {dt.bare_name};\nclass Mutable{dt.bare_name};\nclass {dt.bare_name}Collection;\n{_ns_close(dt.namespace)}"
            )
        for dt in dm.datatypes.values():
            out.append(self.handle_decl(dt))
        for dt in dm.datatypes.values():
            out.append(self.collection_decl(dt))
        for dt in dm.datatypes.values():
            out.append(self.handle_impl(dt))
        out.append(self.link_aliases())
        out.append(f"#endif  // {guard}\n")
        return "\n".join(out)

    def link_aliases(self) -> str:
        """podio::LinkCollection<From, To>, podio::Link<From, To> and podio::MutableLink<From, To> name the
        generated link types (the primary templates are in k4ml/podio_types.h)."""
        L = [CXX_ONLY, "namespace podio::detail {"]
        for dt in self.dm.datatypes.values():
            if dt.link and self.target_is_resolvable(dt.link[0]) and self.target_is_resolvable(dt.link[1]):
                f, t = dt.link
                L.append(
                    f"template <>\nstruct LinkTypes<{f}, {t}> {{\n  using collection = {dt.name}Collection;\n"
                    f"  using object = {dt.name};\n  using mutable_object = {dt.namespace}::Mutable{dt.bare_name};\n}};"
                )
        L += ["}  // namespace podio::detail", CXX_ONLY_END]
        return "\n".join(L) if len(L) > 4 else ""

    def selection(self) -> str:
        """ROOT selection: persistent structs with class version = schema version, as podio."""
        v = self.dm.schema_version
        L = ["<lcgdict>", "  <selection>"]
        for c in self.dm.components.values():
            L.append(f'    <class name="{c.name}" ClassVersion="{v}"/>')
            L.append(f'    <class name="std::vector<{c.name}>"/>')
        for dt in self.dm.datatypes.values():
            if dt.link:
                continue
            L.append(f'    <class name="{dt.data_type}" ClassVersion="{v}"/>')
            L.append(f'    <class name="std::vector<{dt.data_type}>"/>')
        L += ["  </selection>", "</lcgdict>", ""]
        return "\n".join(L)


def generate_header(dm: Datamodel, upstream: list[Datamodel] | None = None) -> str:
    """C++ header text for a datamodel (upstream datamodels are included, not repeated)."""
    return _Gen(dm, upstream or []).header()


def generate_selection(dm: Datamodel, upstream: list[Datamodel] | None = None) -> str:
    return _Gen(dm, upstream or []).selection()


def type_headers(dm: Datamodel) -> dict[str, str]:
    """podio's per-type header paths (`edm4hep/MCParticleCollection.h`, `edm4hep/MutableMCParticle.h`,
    `edm4hep/MCParticle.h`, `edm4hep/MCParticleData.h`, components, links) -> their text.

    Each one includes the datamodel's single header: podio users include per-type headers, and
    one header keeps the generated code (and its compile) in one place."""
    include = f'#pragma once\n// Generated by k4mlinference (podio-compatible path). Do not edit.\n#include "{dm.name}/{dm.name}.h"\n'
    names = [c.bare_name for c in dm.components.values()]
    for dt in dm.datatypes.values():
        X = dt.bare_name
        names += [X, f"Mutable{X}", f"{X}Collection", f"{X}Data", f"{X}CollectionData", f"{X}Obj"]
    return {f"{dm.name}/{n}.h": include for n in names if n != dm.name}


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_headers(out_dir: Path, datamodels: list[Datamodel] | None = None) -> list[Path]:
    """Write `<out>/<dm>/<dm>.h` and podio's per-type headers for each datamodel; returns the main headers."""
    datamodels = datamodels or load_builtin_datamodels()
    paths = []
    for i, dm in enumerate(datamodels):
        ups = [d for d in datamodels[:i] if d.name in dm.upstream]
        p = Path(out_dir) / dm.name / f"{dm.name}.h"
        _write_if_changed(p, generate_header(dm, ups))
        for rel, text in type_headers(dm).items():
            _write_if_changed(Path(out_dir) / rel, text)
        paths.append(p)
    return paths


def main() -> None:
    """`python -m k4mlinference.datamodel.generator OUT_DIR`: headers for C++ users (CMake)."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args()
    for p in write_headers(args.out_dir):
        print(p)


if __name__ == "__main__":
    main()
