"""Schema evolution: reading files written with older EDM4hep schemas into today's classes.

What differs between a file's definition of a datatype and ours is worked out once per file and
collection (`Evolution.plan`), then applied to every collection read (`Evolution.apply`):
- members and relations EDM4hep renamed (ROOT drops a renamed member: its old column is read with
  uproot, which follows the file's own streamers, and copied into ours);
- float -> double sub-members ROOT leaves unconverted in our doubles (`widen_floats`);
- OneToOne relations the file lacks (one unset reference per object, so accessors stay in range);
- links EDM4hep 0.99 (schemas 2 to 5) generated as datatypes (`vector<edm4hep::RecoMCParticleLinkData>`):
  ROOT cannot read that class into our `podio::LinkData`, so the data branch is left out and the
  weights are read with uproot from its split `<collection>.weight` leaf; the relation branches
  (`_<collection>_from` / `_to`) are the same as today's and are read as usual.
Differences that cannot be bridged are reported once per type as a SchemaEvolutionWarning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from k4mlinference.datamodel.model import Datatype, Member, member_dtype, normalize_type
from k4mlinference.io.datamodels import datatype_name, find_file_datatype
from k4mlinference.io.errors import SchemaEvolutionWarning
from k4mlinference.io.metadata import FileMetadata

_WARNED: set[tuple[str, str]] = set()  # (type, JSON hash): schema warnings given once


def forget_warnings() -> None:
    """Warn again about schema differences already reported (each is reported once per process)."""
    _WARNED.clear()


def _builtin(cpp_type: str) -> bool:
    """A C++ builtin or fixed-width type (ROOT converts those between each other)."""
    try:
        dt = member_dtype(cpp_type, {})
    except (ValueError, KeyError):
        return False
    return isinstance(dt, np.dtype) and dt.names is None


# Relations EDM4hep renamed since schema 1 (v00-10): (datatype, our name) -> the old name. They are
# read from the file's branch of the old name when the file's definition has it (and not ours).
RENAMED_RELATIONS = {
    ("edm4hep::SimTrackerHit", "particle"): "MCParticle",
}


# Members EDM4hep renamed since schema 1 (v00-10): (datatype, our name) -> the old name. ROOT drops a
# member whose name changed, so the reader copies the old column into ours after reading (TTree files).
RENAMED_MEMBERS = {
    ("edm4hep::ReconstructedParticle", "PDG"): "type",
    ("edm4hep::SimTrackerHit", "eDep"): "EDep",
    ("edm4hep::Cluster", "iPhi"): "phi",
}


def _renamed(table: dict[tuple[str, str], str], type_name: str, file_names: set[str]) -> dict[str, str]:
    """Our name -> the file's, for the entries of `table` that apply to a file's definition of `type_name`."""
    dt = datatype_name(type_name)
    return {ours: old for (t, ours), old in table.items() if t == dt and ours not in file_names and old in file_names}


def renamed_members(type_name: str, theirs: Datatype | None) -> dict[str, str]:
    """Our member name -> the file's, for the renamed members of a file's definition of `type_name`."""
    return {} if theirs is None else _renamed(RENAMED_MEMBERS, type_name, {m.name for m in theirs.members})


def renamed_relations(type_name: str, theirs: Datatype | None) -> dict[str, str]:
    """Our relation name -> the file's, for the renamed relations of a file's definition of `type_name`."""
    return {} if theirs is None else _renamed(RENAMED_RELATIONS, type_name, {r.name for r in theirs.relations})


def _names(items: list[Any]) -> dict[str, str]:
    return {m.name: m.type for m in items}


def schema_differences(ours: Datatype, theirs: Datatype, lost: dict[str, str] | None = None) -> list[str]:
    """Human-readable differences between our datatype and a file's definition of it.

    `lost` (member -> description) are type changes ROOT cannot convert (see `member_conversions`).
    """
    lost = lost or {}
    out = []
    renamed = renamed_relations(ours.name, theirs)
    if renamed:
        out.append("relations renamed (read): " + ", ".join(f"{old} -> {new}" for new, old in renamed.items()))
    moved = renamed_members(ours.name, theirs)
    if moved:
        out.append("members renamed (read from TTree files): " + ", ".join(f"{o} -> {n}" for n, o in moved.items()))
        theirs = Datatype(
            theirs.name,
            [Member(m.type, {o: n for n, o in moved.items()}.get(m.name, m.name)) for m in theirs.members],
            theirs.vector_members,
            theirs.one_to_one,
            theirs.one_to_many,
        )
    to_ours = {old: new for new, old in renamed.items()}
    their_rels = {to_ours.get(n, n): t for n, t in _names(theirs.relations).items()}
    for what, a, b in (
        ("members", _names(ours.members), _names(theirs.members)),
        ("vector members", _names(ours.vector_members), _names(theirs.vector_members)),
        ("relations", _names(ours.relations), their_rels),
    ):
        only_file = [n for n in b if n not in a]
        only_ours = [n for n in a if n not in b]
        changed = [f"{n} ({b[n]} -> {a[n]})" for n in a if n in b and a[n] != b[n] and n not in lost]
        if only_file:
            out.append(f"{what} in the file but not in ours (dropped): {', '.join(only_file)}")
        if only_ours:
            out.append(f"{what} of ours not in the file (left at default/empty): {', '.join(only_ours)}")
        if changed:
            out.append(f"{what} with another type (converted): {', '.join(changed)}")
    if lost:
        out.append(
            "members whose type ROOT cannot convert (left at default): "
            + ", ".join(f"{n} ({d})" for n, d in lost.items())
        )
    return out


@dataclass
class Conversions:
    """How the members of a file's datatype that changed type reach ours.

    ROOT converts builtin members (int32 -> uint64, float -> double). A member whose component type
    changed (schema 1's `Vector3f momentum` -> `Vector3d momentum`) is read by ROOT sub-member by
    sub-member at our offsets but with the file's types and no conversion: a float lands in the low
    4 bytes of our (zeroed) double. `widen` lists those float -> double sub-members ('momentum.x');
    the reader turns them back into the float's value after each read. `lost` names the changes
    ROOT cannot bridge at all (arrays <-> components, other sub-member type changes): those members
    keep their default value.
    """

    widen: list[str]
    lost: dict[str, str]


def _member_map(items: list[Any]) -> dict[str, str]:
    return {m.name: normalize_type(m.type) for m in items}


def member_conversions(md: FileMetadata, type_name: str, ours: Datatype | None) -> Conversions:
    """The member type changes between a file's definition of `type_name` and ours."""
    from k4mlinference.edm import loader

    conv = Conversions([], {})
    found = find_file_datatype(md, type_name)
    if ours is None or ours.link or found is None:
        return conv
    dm, theirs = found
    our_comps = {n: c for d in loader.loaded().values() for n, c in d.components.items()}
    their_comps = dm.components

    def compare(prefix: str, a: dict[str, str], b: dict[str, str], top: str) -> None:
        for name, ours_t in a.items():
            file_t = b.get(name)
            if file_t is None or file_t == ours_t:
                continue
            path = prefix + name
            if _builtin(ours_t) and _builtin(file_t):
                if prefix:  # inside a component: read with the file's type at our offset
                    if (file_t, ours_t) == ("float", "double"):
                        conv.widen.append(path)
                    else:
                        conv.lost[top] = f"{path}: {file_t} -> {ours_t} inside a component"
                continue  # a builtin member: ROOT converts it
            if ours_t in our_comps and file_t in their_comps:
                compare(
                    path + ".",
                    _member_map(our_comps[ours_t].members),
                    _member_map(their_comps[file_t].members),
                    top,
                )
            else:
                conv.lost[top] = f"{file_t} -> {ours_t}"

    for m in ours.members:
        compare("", {m.name: normalize_type(m.type)}, _member_map(theirs.members), m.name)
    # a member with any unconvertible part is not partially fixed
    conv.widen = [p for p in conv.widen if p.split(".", 1)[0] not in conv.lost]
    # vector members (their own branches): changed components are only reported, not fixed
    data_widen, conv.widen = conv.widen, []
    for m in ours.vector_members:
        t = normalize_type(m.type)
        if t in our_comps:
            compare("", {m.name: t}, _member_map(theirs.vector_members), m.name)
    for p in conv.widen:
        conv.lost.setdefault(p.split(".", 1)[0], f"{p}: float -> double inside a vector member")
    conv.widen = data_widen
    return conv


def check_schema(
    md: FileMetadata, type_name: str, ours: Datatype | None, conv: Conversions | None = None, collection: str = ""
) -> None:
    """Warn once per collection type when the file's definition differs from ours (naming the first collection)."""
    if ours is None or ours.link:
        return
    found = find_file_datatype(md, type_name)
    if found is None:
        return
    dm, theirs = found
    key = (type_name, dm.content_hash)
    if key in _WARNED:
        return
    _WARNED.add(key)
    diffs = schema_differences(ours, theirs, conv.lost if conv else None)
    if diffs:
        warnings.warn(
            f"{md.path}: {ours.name} {f'(collection {collection!r}) ' if collection else ''}was written with "
            f"{dm.name} schema {dm.schema_version}; " + "; ".join(diffs),
            SchemaEvolutionWarning,
            stacklevel=5,  # the user's frame.get()
        )


def widen_floats(coll: Any, paths: list[str]) -> None:
    """Turn floats that ROOT left in the low 4 bytes of our doubles into their value (see Conversions).

    A double whose high 32 bits are zero is +0.0 or a denormal, which no float converts to; so a
    value ROOT did convert is never touched.
    """
    import numpy as np

    view = coll.data_view()
    try:
        for path in paths:
            col = view
            for p in path.split("."):
                col = col[p]
            raw = col.view(np.uint64)
            mask = (raw >> np.uint64(32)) == 0
            if mask.any():
                col[mask] = (raw[mask] & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    finally:
        del view


def unset_object_id() -> Any:
    """podio's ObjectID of an unset relation (index podio::ObjectID::invalid)."""
    import cppyy

    oid = cppyy.gbl.podio.ObjectID()
    oid.index, oid.collectionID = int(cppyy.gbl.podio.ObjectID.invalid), 0
    return oid


class OldColumns:
    """Per-entry values of split leaves our classes no longer have (renamed members), read once per
    file and leaf. ROOT's own readers need the in-memory class to have the member, which ours no
    longer has, so the column is read with uproot, which reads the file's streamers instead."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cache: dict[tuple[str, str], list[np.ndarray]] = {}

    def get(self, category: str, leaf: str) -> list[np.ndarray]:
        key = (category, leaf)
        if key not in self._cache:
            try:
                import uproot

                with uproot.open(self.path) as f:
                    col = f[category][leaf].array(library="np")
            except Exception as exc:  # noqa: BLE001
                warnings.warn(
                    f"{self.path}: the renamed member {leaf!r} could not be read ({exc}); it is left at its default",
                    SchemaEvolutionWarning,
                    stacklevel=5,
                )
                col = []
            self._cache[key] = [np.asarray(v) for v in col]
        return self._cache[key]


@dataclass
class Evolution:
    """What to fix in each collection of one file collection after ROOT read it (empty: nothing)."""

    widen: list[str] = field(default_factory=list)  # float sub-members ROOT leaves unconverted in our doubles
    unset: list[str] = field(default_factory=list)  # our OneToOne relations the file lacks
    renamed: dict[str, str] = field(default_factory=dict)  # our member -> the file's old name (TTree only)
    link_weights: bool = False  # a link stored as an EDM4hep 0.99 datatype: weights from `<collection>.weight`

    @classmethod
    def plan(
        cls,
        md: FileMetadata,
        type_name: str,
        collection: str,
        ours: Datatype | None,
        missing_relations: list[str],
        ttree: bool,
        link_weights: bool = False,
    ) -> Evolution:
        """Compare the file's definition of `type_name` with ours (warning once about what is lost).

        `missing_relations`: our relations the file has no branch for; `link_weights`: the collection
        is a link the file stores as a generated datatype (its data branch is not read by ROOT)."""
        conv = member_conversions(md, type_name, ours)
        check_schema(md, type_name, ours, conv, collection)
        one_to_one = {r.name for r in ours.one_to_one} if ours else set()
        found = find_file_datatype(md, type_name)
        renamed = (
            renamed_members(type_name, found[1] if found else None) if ttree else {}
        )  # old schemas predate RNTuple
        return cls(conv.widen, [n for n in missing_relations if n in one_to_one], renamed, link_weights)

    def apply(self, coll: Any, columns: OldColumns, category: str, collection: str, entry: int) -> None:
        if self.link_weights:
            column = columns.get(category, f"{collection}.weight")
            weights = column[entry] if entry < len(column) else ()
            # one link per `from` reference; weights unreadable (warned by OldColumns): left at default
            n = len(coll.m_rel_from) if len(coll.m_rel_from) else len(weights)
            coll.m_data.resize(n)
            if n and len(weights) == n:
                view = coll.view("weight")
                view[:] = weights
                del view
        if self.widen:
            widen_floats(coll, self.widen)
        for ours, old in self.renamed.items():
            column = columns.get(category, f"{collection}.{old}")
            values = column[entry] if entry < len(column) else ()
            if len(values) == len(coll):
                view = coll.view(ours)
                view[:] = values
                del view
        for name in self.unset:  # OneToOne accessors index these vectors by object
            getattr(coll, "m_rel_" + name).resize(len(coll), unset_object_id())
