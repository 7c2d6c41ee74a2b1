// k4mlinference C++ core: podio's persistent helper types and the collection base class.
//
// The structs in namespace podio carry exactly the members (names, types, order) that podio
// writes to ROOT files, so ROOT computes the same streamer checksums and files interoperate.
// Everything here is plain C++17: no ROOT, no Python.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace podio {

/// Persistent reference to an object: its index in a collection and the collection's ID.
struct ObjectID {
  int index{-1};
  std::uint32_t collectionID{0};
  static constexpr int untracked = -1;  ///< object not (yet) in a collection
  static constexpr int invalid = -2;    ///< unset relation, as podio writes it
  bool operator==(const ObjectID& o) const { return index == o.index && collectionID == o.collectionID; }
  bool operator!=(const ObjectID& o) const { return !(*this == o); }
};

namespace detail {
/// The generated classes of the link From -> To (specialised by each datamodel header).
template <typename From, typename To>
struct LinkTypes;
}  // namespace detail

/// podio's link templates, naming the generated link types: LinkCollection<edm4hep::Cluster, edm4hep::MCParticle>.
template <typename From, typename To>
using LinkCollection = typename detail::LinkTypes<From, To>::collection;
template <typename From, typename To>
using Link = typename detail::LinkTypes<From, To>::object;
template <typename From, typename To>
using MutableLink = typename detail::LinkTypes<From, To>::mutable_object;

/// The payload of every podio::LinkCollection<From, To>.
struct LinkData {
  float weight{1.f};
};

namespace version {
struct Version {
  std::uint16_t major{0};
  std::uint16_t minor{0};
  std::uint16_t patch{0};
};
}  // namespace version

/// Collection name <-> ID table, written by podio 0.16 to 1.2 in `podio_metadata`.
struct CollectionIDTable {
  std::vector<std::uint32_t> m_collectionIDs;
  std::vector<std::string> m_names;
};

namespace root_utils {
/// One entry of `<category>___CollectionTypeInfo` (podio >= 1.3).
struct CollectionWriteInfo {
  std::uint32_t collectionID;
  std::string dataType;
  bool isSubset;
  unsigned int schemaVersion;
  std::string name;
  std::string storageType;
};
}  // namespace root_utils

}  // namespace podio

namespace k4ml {

/// A non-owning view of contiguous elements (vector members, relation IDs).
template <typename T>
class Span {
public:
  Span() = default;
  Span(T* data, std::size_t size) : m_data(data), m_size(size) {}
  T* begin() const { return m_data; }
  T* end() const { return m_data + m_size; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  T& operator[](std::size_t i) const { return m_data[i]; }
  T& at(std::size_t i) const {
    if (i >= m_size) throw std::out_of_range("k4ml::Span index out of range");
    return m_data[i];
  }

private:
  T* m_data{nullptr};
  std::size_t m_size{0};
};

class CollectionBase;

/// Finds collections by ID, so that relations (stored as podio::ObjectID) can be followed.
class CollectionResolver {
public:
  virtual ~CollectionResolver() = default;
  virtual const CollectionBase* find(std::uint32_t id) const = 0;
};

/// Process-unique IDs for collections that have no name yet; replaced by the hash of the
/// name when the collection is put into a frame (see CollectionBase::remapCollectionID).
inline std::uint32_t nextTemporaryID() {
  static std::uint32_t counter = 0;
  return 0xF0000000u | (++counter & 0x0FFFFFFFu);
}

/// Type-erased interface of every collection: what I/O, views and the framework need.
/// In memory a collection is stored exactly as podio stores it on disk: one vector of XData,
/// one vector<ObjectID> per relation and one vector<T> per vector member.
class CollectionBase {
public:
  virtual ~CollectionBase() = default;
  virtual std::size_t size() const = 0;
  virtual std::string getTypeName() const = 0;       ///< e.g. edm4hep::MCParticleCollection
  virtual std::string getValueTypeName() const = 0;  ///< e.g. edm4hep::MCParticle
  virtual std::string getDataTypeName() const = 0;   ///< e.g. edm4hep::MCParticleData
  virtual unsigned int getSchemaVersion() const = 0;
  virtual void clear() = 0;
  /// Address of the std::vector<XData> (as void*, for ROOT branch addresses).
  virtual void* dataBuffer() = 0;
  virtual std::size_t elementSize() const = 0;
  /// Relations in podio's on-disk order: all OneToMany, then all OneToOne.
  virtual std::vector<std::string> relationNames() const = 0;
  virtual std::vector<podio::ObjectID>* relationBuffer(std::size_t i) = 0;
  virtual std::vector<std::string> vectorMemberNames() const = 0;
  virtual std::vector<std::string> vectorMemberTypes() const = 0;
  virtual void* vectorMemberBuffer(std::size_t i) = 0;
  /// True for podio subset collections: references to objects owned by other collections.
  virtual bool isSubsetCollection() const { return false; }

  std::uint32_t getID() const { return m_id; }
  void setID(std::uint32_t id) { m_id = id; }
  const CollectionResolver* resolver() const { return m_resolver; }
  void setResolver(const CollectionResolver* r) { m_resolver = r; }

  /// Rewrite every stored reference to collection `from` so it points to `to`.
  virtual std::size_t remapCollectionID(std::uint32_t from, std::uint32_t to) {
    std::size_t n = 0;
    const auto names = relationNames();
    for (std::size_t r = 0; r < names.size(); ++r) {
      for (auto& id : *relationBuffer(r)) {
        if (id.collectionID == from) {
          id.collectionID = to;
          ++n;
        }
      }
    }
    return n;
  }

  /// Follow a reference: the collection of `id`, cast to the expected type, or nullptr.
  template <typename C>
  const C* resolve(const podio::ObjectID& id) const {
    if (id.index < 0) return nullptr;
    if (id.collectionID == m_id) return dynamic_cast<const C*>(this);
    if (!m_resolver) return nullptr;
    return dynamic_cast<const C*>(m_resolver->find(id.collectionID));
  }

protected:
  std::uint32_t m_id{nextTemporaryID()};
  const CollectionResolver* m_resolver{nullptr};
};

/// A plain ID -> collection map; the C++ side of a frame or event store.
class CollectionStore : public CollectionResolver {
public:
  void add(CollectionBase* c) {
    m_colls[c->getID()] = c;
    c->setResolver(this);
  }
  void remove(std::uint32_t id) { m_colls.erase(id); }
  const CollectionBase* find(std::uint32_t id) const override {
    auto it = m_colls.find(id);
    return it == m_colls.end() ? nullptr : it->second;
  }
  std::size_t size() const { return m_colls.size(); }

private:
  std::unordered_map<std::uint32_t, CollectionBase*> m_colls;
};

namespace detail {
/// Insert `value` at the end of element i's range [begin, end) in a concatenated buffer and
/// shift the ranges of the elements after it. Appending to the last element costs O(1).
template <typename Data, typename T>
void insertIntoRange(std::vector<Data>& data, std::vector<T>& buffer, std::size_t i,
                     unsigned int Data::*beginField, unsigned int Data::*endField, const T& value) {
  const unsigned int pos = data[i].*endField;
  buffer.insert(buffer.begin() + pos, value);
  data[i].*endField += 1;
  for (std::size_t j = i + 1; j < data.size(); ++j) {
    data[j].*beginField += 1;
    data[j].*endField += 1;
  }
}
}  // namespace detail

/// A podio subset collection of any datatype: no objects of its own, only references
/// (podio::ObjectID) to objects that live in other collections. Its on-disk form is exactly
/// that one vector (branch `C_objIdx`, podio < 0.17 `C#0`), so dataBuffer() is the reference
/// vector and there are no relation or vector-member buffers. getTypeName() is the normal
/// collection type (e.g. edm4hep::MCParticleCollection), as podio writes it with isSubset=true.
class SubsetCollection : public CollectionBase {
public:
  SubsetCollection() = default;
  SubsetCollection(std::string typeName, std::string valueTypeName, std::string dataTypeName,
                   unsigned int schemaVersion)
      : m_typeName(std::move(typeName)),
        m_valueTypeName(std::move(valueTypeName)),
        m_dataTypeName(std::move(dataTypeName)),
        m_schemaVersion(schemaVersion) {}

  std::size_t size() const override { return m_refs.size(); }
  std::string getTypeName() const override { return m_typeName; }
  std::string getValueTypeName() const override { return m_valueTypeName; }
  std::string getDataTypeName() const override { return m_dataTypeName; }
  unsigned int getSchemaVersion() const override { return m_schemaVersion; }
  bool isSubsetCollection() const override { return true; }
  void clear() override { m_refs.clear(); }
  void* dataBuffer() override { return &m_refs; }
  std::size_t elementSize() const override { return sizeof(podio::ObjectID); }
  std::vector<std::string> relationNames() const override { return {}; }
  std::vector<podio::ObjectID>* relationBuffer(std::size_t) override { return nullptr; }
  std::vector<std::string> vectorMemberNames() const override { return {}; }
  std::vector<std::string> vectorMemberTypes() const override { return {}; }
  void* vectorMemberBuffer(std::size_t) override { return nullptr; }

  std::size_t remapCollectionID(std::uint32_t from, std::uint32_t to) override {
    std::size_t n = 0;
    for (auto& id : m_refs) {
      if (id.collectionID == from) {
        id.collectionID = to;
        ++n;
      }
    }
    return n;
  }

  /// Add a reference; the object must already be in a collection (podio refuses untracked ones).
  void push_back(const podio::ObjectID& id) {
    if (id.index < 0) throw std::invalid_argument("k4ml::SubsetCollection: the object is not in a collection");
    m_refs.push_back(id);
  }
  const podio::ObjectID& ref(std::size_t i) const { return m_refs.at(i); }
  std::vector<podio::ObjectID>& refs() { return m_refs; }
  const std::vector<podio::ObjectID>& refs() const { return m_refs; }
  /// The collection that holds element i (through the resolver), or nullptr.
  const CollectionBase* collectionOf(std::size_t i) const {
    const auto& id = m_refs.at(i);
    if (id.index < 0 || !m_resolver) return nullptr;
    return m_resolver->find(id.collectionID);
  }

  std::vector<podio::ObjectID> m_refs;

private:
  std::string m_typeName;
  std::string m_valueTypeName;
  std::string m_dataTypeName;
  unsigned int m_schemaVersion{0};
};

/// podio::UserDataCollection<T>: a named vector of plain numbers.
template <typename T>
class UserDataCollection : public CollectionBase {
public:
  std::size_t size() const override { return m_data.size(); }
  std::string getTypeName() const override { return "podio::UserDataCollection<" + typeName() + ">"; }
  std::string getValueTypeName() const override { return typeName(); }
  std::string getDataTypeName() const override { return typeName(); }
  unsigned int getSchemaVersion() const override { return 1; }
  void clear() override { m_data.clear(); }
  void* dataBuffer() override { return &m_data; }
  std::size_t elementSize() const override { return sizeof(T); }
  std::vector<std::string> relationNames() const override { return {}; }
  std::vector<podio::ObjectID>* relationBuffer(std::size_t) override { return nullptr; }
  std::vector<std::string> vectorMemberNames() const override { return {}; }
  std::vector<std::string> vectorMemberTypes() const override { return {}; }
  void* vectorMemberBuffer(std::size_t) override { return nullptr; }
  void push_back(T v) { m_data.push_back(v); }
  T operator[](std::size_t i) const { return m_data[i]; }
  T& operator[](std::size_t i) { return m_data[i]; }
  T at(std::size_t i) const { return m_data.at(i); }
  bool empty() const { return m_data.empty(); }
  typename std::vector<T>::const_iterator begin() const { return m_data.begin(); }
  typename std::vector<T>::const_iterator end() const { return m_data.end(); }
  typename std::vector<T>::iterator begin() { return m_data.begin(); }
  typename std::vector<T>::iterator end() { return m_data.end(); }
  UserDataCollection* operator->() { return this; }
  const UserDataCollection* operator->() const { return this; }
  std::vector<T>& vec() { return m_data; }
  const std::vector<T>& vec() const { return m_data; }
  static std::string typeName();

  std::vector<T> m_data;
};

template <> inline std::string UserDataCollection<float>::typeName() { return "float"; }
template <> inline std::string UserDataCollection<double>::typeName() { return "double"; }
template <> inline std::string UserDataCollection<std::int8_t>::typeName() { return "int8_t"; }
template <> inline std::string UserDataCollection<std::int16_t>::typeName() { return "int16_t"; }
template <> inline std::string UserDataCollection<std::int32_t>::typeName() { return "int32_t"; }
template <> inline std::string UserDataCollection<std::int64_t>::typeName() { return "int64_t"; }
template <> inline std::string UserDataCollection<std::uint8_t>::typeName() { return "uint8_t"; }
template <> inline std::string UserDataCollection<std::uint16_t>::typeName() { return "uint16_t"; }
template <> inline std::string UserDataCollection<std::uint32_t>::typeName() { return "uint32_t"; }
template <> inline std::string UserDataCollection<std::uint64_t>::typeName() { return "uint64_t"; }

/// Address of a vector's storage, for zero-copy views from Python.
template <typename T>
std::uintptr_t vectorAddress(const std::vector<T>& v) {
  return reinterpret_cast<std::uintptr_t>(v.data());
}
inline std::uintptr_t bufferAddress(void* vec) {
  // every std::vector<T> stores its begin pointer first (libstdc++ and libc++ alike)
  return *reinterpret_cast<std::uintptr_t*>(vec);
}

}  // namespace k4ml
