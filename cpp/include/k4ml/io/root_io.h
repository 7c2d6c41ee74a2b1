// k4mlinference podio ROOT I/O core: moves whole collections between ROOT files and the
// collections' own std::vectors, with no per-element work outside ROOT.
//
// A collection (k4ml::CollectionBase) stores exactly podio's on-disk form: a std::vector<XData>,
// one std::vector<podio::ObjectID> per relation and one std::vector<T> per vector member. So a
// reader only has to point each branch (or RNTuple field) at the matching vector and let ROOT
// fill it; a writer points the branches at the vectors and calls Fill. Everything that decides
// *which* branch belongs to which vector (naming schemes of the podio versions, schema
// differences) is done once per file in Python; the per-event path is a few calls into here.
#pragma once

#include <TBranch.h>
#include <TClass.h>
#include <TFile.h>
#include <TKey.h>
#include <TObject.h>
#include <TTree.h>

#include <ROOT/RNTuple.hxx>
#include <ROOT/RField.hxx>
#include <ROOT/RNTupleDescriptor.hxx>
#include <ROOT/RNTupleModel.hxx>
#include <ROOT/RNTupleReader.hxx>
#include <ROOT/RNTupleView.hxx>
#include <ROOT/RNTupleWriteOptions.hxx>
#include <ROOT/RNTupleWriter.hxx>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "k4ml/io/podio_legacy.h"
#include "k4ml/podio_types.h"

namespace k4ml {
namespace io {

/// Frame parameters in podio >= 1.0's flat form (keys[i] -> values[i]), for all four types.
struct Parameters {
  std::vector<std::string> intKeys, floatKeys, doubleKeys, stringKeys;
  std::vector<std::vector<int>> intValues;
  std::vector<std::vector<float>> floatValues;
  std::vector<std::vector<double>> doubleValues;
  std::vector<std::vector<std::string>> stringValues;

  void clear() {
    intKeys.clear();
    floatKeys.clear();
    doubleKeys.clear();
    stringKeys.clear();
    intValues.clear();
    floatValues.clear();
    doubleValues.clear();
    stringValues.clear();
  }
  bool empty() const { return intKeys.empty() && floatKeys.empty() && doubleKeys.empty() && stringKeys.empty(); }
  void addInt(const std::string& k, const std::vector<int>& v) { intKeys.push_back(k), intValues.push_back(v); }
  void addFloat(const std::string& k, const std::vector<float>& v) { floatKeys.push_back(k), floatValues.push_back(v); }
  void addDouble(const std::string& k, const std::vector<double>& v) { doubleKeys.push_back(k), doubleValues.push_back(v); }
  void addString(const std::string& k, const std::vector<std::string>& v) {
    stringKeys.push_back(k), stringValues.push_back(v);
  }

  /// Flatten podio < 1.0's GenericParameters maps into this form.
  void fromLegacy(const podio::GenericParameters& gp) {
    clear();
    for (const auto& [k, v] : gp._intMap) addInt(k, v);
    for (const auto& [k, v] : gp._floatMap) addFloat(k, v);
    for (const auto& [k, v] : gp._doubleMap) addDouble(k, v);
    for (const auto& [k, v] : gp._stringMap) addString(k, v);
  }
};

namespace detail {
/// The branches of one collection and the pointer slots ROOT reads through (stable addresses).
struct BranchSet {
  TBranch* data{nullptr};
  std::vector<TBranch*> rels;
  std::vector<TBranch*> vecs;
  void* dataAddr{nullptr};
  std::vector<void*> relAddr;
  std::vector<void*> vecAddr;
};

inline TBranch* findBranch(TTree* tree, const std::string& name) {
  if (name.empty()) return nullptr;
  auto* br = tree->GetBranch(name.c_str());
  if (!br) throw std::runtime_error("branch '" + name + "' not found in tree '" + tree->GetName() + "'");
  return br;
}

/// ROOT's normalized spelling of a class name (`vector<int32_t>` -> `vector<int>`), with the
/// 64-bit integer spellings (`long`, `Long64_t`, `long long`: same layout) made equal.
inline std::string normalizedClass(const std::string& name) {
  auto* cl = TClass::GetClass(name.c_str());
  std::string out = cl ? cl->GetName() : name;
  const std::pair<std::string, std::string> same[] = {
      {"ULong64_t", "unsigned long"}, {"Long64_t", "long"}, {"unsigned long long", "unsigned long"}, {"long long", "long"}};
  for (const auto& [from, to] : same) {
    for (auto pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + to.size()))
      out.replace(pos, from.size(), to);
  }
  return out;
}

/// Refuse to point a branch at a vector of another type (ROOT would not check it).
inline void checkClass(TBranch* br, const std::string& expected) {
  if (!br) return;
  const std::string onFile = normalizedClass(br->GetClassName());
  const std::string want = normalizedClass(expected);
  if (onFile != want)
    throw std::runtime_error("branch '" + std::string(br->GetName()) + "' holds " + onFile + ", but the collection stores " + want);
}

inline long readBranch(TBranch* br, void*& slot, void* target, long long entry) {
  slot = target;
  br->SetAddress(&slot);
  const int nb = br->GetEntry(entry);
  if (nb < 0) throw std::runtime_error(std::string("I/O error reading branch '") + br->GetName() + "' entry " + std::to_string(entry));
  return nb;
}
}  // namespace detail

/// Reads collections of one category tree straight into collections' vectors.
class TreeCategoryReader {
public:
  explicit TreeCategoryReader(TTree* tree) : m_tree(tree) {}
  /// Drop the addresses of our vectors from the tree (call before closing the file; not done in
  /// the destructor, which may run after ROOT has already deleted the tree at exit).
  void release() {
    if (m_tree) m_tree->ResetBranchAddresses();
    m_tree = nullptr;
  }
  TreeCategoryReader(const TreeCategoryReader&) = delete;
  TreeCategoryReader& operator=(const TreeCategoryReader&) = delete;

  long long entries() const { return m_tree->GetEntries(); }
  TTree* tree() const { return m_tree; }

  /// Register the branches of one collection: `rels[i]`/`vecs[i]` name the branch for the
  /// collection's relation/vector member i ("" where the file has none). Returns a slot number.
  /// `proto` is a collection of the target type, used to check the branches' classes.
  int addCollection(const std::string& data, const std::vector<std::string>& rels, const std::vector<std::string>& vecs,
                    k4ml::CollectionBase& proto) {
    detail::BranchSet s;
    s.data = detail::findBranch(m_tree, data);
    // a subset collection's only branch (`C_objIdx`) holds its references
    detail::checkClass(s.data, proto.isSubsetCollection() ? std::string("vector<podio::ObjectID>")
                                                          : "vector<" + proto.getDataTypeName() + ">");
    for (const auto& r : rels) {
      s.rels.push_back(detail::findBranch(m_tree, r));
      detail::checkClass(s.rels.back(), "vector<podio::ObjectID>");
    }
    const auto vecTypes = proto.vectorMemberTypes();
    for (std::size_t i = 0; i < vecs.size(); ++i) {
      s.vecs.push_back(detail::findBranch(m_tree, vecs[i]));
      detail::checkClass(s.vecs.back(), "vector<" + vecTypes.at(i) + ">");
    }
    s.relAddr.resize(rels.size(), nullptr);
    s.vecAddr.resize(vecs.size(), nullptr);
    if (s.data) m_tree->AddBranchToCache(s.data, true);
    for (auto* b : s.rels)
      if (b) m_tree->AddBranchToCache(b, true);
    for (auto* b : s.vecs)
      if (b) m_tree->AddBranchToCache(b, true);
    m_sets.push_back(std::move(s));
    return static_cast<int>(m_sets.size()) - 1;
  }

  /// Read entry `entry` of slot `slot` into `coll` (its vectors are replaced); returns bytes read.
  long read(int slot, long long entry, k4ml::CollectionBase& coll) {
    auto& s = m_sets.at(slot);
    long nb = 0;
    if (s.data) nb += detail::readBranch(s.data, s.dataAddr, coll.dataBuffer(), entry);
    for (std::size_t i = 0; i < s.rels.size(); ++i)
      if (s.rels[i]) nb += detail::readBranch(s.rels[i], s.relAddr[i], coll.relationBuffer(i), entry);
    for (std::size_t i = 0; i < s.vecs.size(); ++i)
      if (s.vecs[i]) nb += detail::readBranch(s.vecs[i], s.vecAddr[i], coll.vectorMemberBuffer(i), entry);
    return nb;
  }

  /// Read the frame parameters of `entry` (GP* branches, or PARAMETERS for podio < 1.0).
  const Parameters& readParameters(long long entry) {
    m_params.clear();
    if (!m_paramsSetUp) setUpParameters();
    if (m_legacy) {
      podio::GenericParameters* p = &m_legacyParams;
      m_legacy->SetAddress(&p);
      if (m_legacy->GetEntry(entry) < 0) throw std::runtime_error("I/O error reading PARAMETERS");
      m_params.fromLegacy(m_legacyParams);
      return m_params;
    }
    for (auto& [br, addr] : m_gp) {
      void* a = addr;
      br->SetAddress(&a);
      if (br->GetEntry(entry) < 0) throw std::runtime_error(std::string("I/O error reading ") + br->GetName());
    }
    return m_params;
  }

private:
  void setUpParameters() {
    m_paramsSetUp = true;
    if (auto* b = m_tree->GetBranch("PARAMETERS")) {
      m_legacy = b;
      return;
    }
    const std::pair<const char*, void*> gp[] = {
        {"GPIntKeys", &m_params.intKeys},       {"GPIntValues", &m_params.intValues},
        {"GPFloatKeys", &m_params.floatKeys},   {"GPFloatValues", &m_params.floatValues},
        {"GPDoubleKeys", &m_params.doubleKeys}, {"GPDoubleValues", &m_params.doubleValues},
        {"GPStringKeys", &m_params.stringKeys}, {"GPStringValues", &m_params.stringValues},
    };
    for (const auto& [name, addr] : gp)
      if (auto* b = m_tree->GetBranch(name)) m_gp.emplace_back(b, addr);
  }

  TTree* m_tree;
  std::deque<detail::BranchSet> m_sets;
  Parameters m_params;
  podio::GenericParameters m_legacyParams;
  TBranch* m_legacy{nullptr};
  std::vector<std::pair<TBranch*, void*>> m_gp;
  bool m_paramsSetUp{false};
};

/// Writes one category tree in podio's layout; branches are made from the first frame.
class TreeCategoryWriter {
public:
  TreeCategoryWriter(TFile* file, const std::string& name) : m_file(file) {
    TDirectory::TContext ctx(file);
    m_tree = new TTree(name.c_str(), (name + " data tree").c_str());  // owned by the file
    m_tree->SetDirectory(file);
  }
  TreeCategoryWriter(const TreeCategoryWriter&) = delete;
  TreeCategoryWriter& operator=(const TreeCategoryWriter&) = delete;

  /// Create the branches of one collection (called in podio's branch order). `dataClass` is e.g.
  /// `vector<edm4hep::MCParticleData>`; `vecClasses[i]` the class of vector member i.
  int addCollection(const std::string& name, const std::string& dataClass, const std::vector<std::string>& relNames,
                    const std::vector<std::string>& vecNames, const std::vector<std::string>& vecClasses,
                    k4ml::CollectionBase& coll) {
    detail::BranchSet s;
    s.relAddr.resize(relNames.size());
    s.vecAddr.resize(vecNames.size());
    m_sets.push_back(std::move(s));
    auto& b = m_sets.back();
    b.dataAddr = coll.dataBuffer();
    b.data = makeBranch(name, dataClass, &b.dataAddr);
    for (std::size_t i = 0; i < relNames.size(); ++i) {
      b.relAddr[i] = coll.relationBuffer(i);
      b.rels.push_back(makeBranch("_" + name + "_" + relNames[i], "vector<podio::ObjectID>", &b.relAddr[i]));
    }
    for (std::size_t i = 0; i < vecNames.size(); ++i) {
      b.vecAddr[i] = coll.vectorMemberBuffer(i);
      b.vecs.push_back(makeBranch("_" + name + "_" + vecNames[i], vecClasses.at(i), &b.vecAddr[i]));
    }
    return static_cast<int>(m_sets.size()) - 1;
  }

  /// Create the 8 GP* parameter branches (after all collection branches, as podio).
  void addParameterBranches() {
    m_gpPtrs = {&m_params.intKeys,   &m_params.intValues,    &m_params.floatKeys,  &m_params.floatValues,
                &m_params.doubleKeys, &m_params.doubleValues, &m_params.stringKeys, &m_params.stringValues};
    const char* names[] = {"GPIntKeys",    "GPIntValues",    "GPFloatKeys",  "GPFloatValues",
                           "GPDoubleKeys", "GPDoubleValues", "GPStringKeys", "GPStringValues"};
    const char* classes[] = {"vector<string>", "vector<vector<int> >",    "vector<string>", "vector<vector<float> >",
                             "vector<string>", "vector<vector<double> >", "vector<string>", "vector<vector<string> >"};
    for (int i = 0; i < 8; ++i) makeBranch(names[i], classes[i], &m_gpPtrs[i]);
  }

  Parameters& parameters() { return m_params; }

  /// Point slot `slot`'s branches at `coll` for the next fill().
  void set(int slot, k4ml::CollectionBase& coll) {
    auto& s = m_sets.at(slot);
    s.dataAddr = coll.dataBuffer();
    s.data->SetAddress(&s.dataAddr);
    for (std::size_t i = 0; i < s.rels.size(); ++i) {
      s.relAddr[i] = coll.relationBuffer(i);
      s.rels[i]->SetAddress(&s.relAddr[i]);
    }
    for (std::size_t i = 0; i < s.vecs.size(); ++i) {
      s.vecAddr[i] = coll.vectorMemberBuffer(i);
      s.vecs[i]->SetAddress(&s.vecAddr[i]);
    }
  }

  long fill() {
    const int nb = m_tree->Fill();
    if (nb < 0) throw std::runtime_error(std::string("I/O error filling tree '") + m_tree->GetName() + "'");
    m_params.clear();
    return nb;
  }

  long long entries() const { return m_tree->GetEntries(); }

  /// Write the tree header (replacing intermediate AutoSave cycles) and drop user addresses.
  void finish() {
    TDirectory::TContext ctx(m_file);
    m_tree->Write("", TObject::kOverwrite);
    m_tree->ResetBranchAddresses();
  }

private:
  TBranch* makeBranch(const std::string& name, const std::string& cls, void* addr) {
    auto* br = m_tree->Branch(name.c_str(), cls.c_str(), addr, 32000, 99);
    if (!br) throw std::runtime_error("could not create branch '" + name + "' of class " + cls);
    return br;
  }

  TFile* m_file;
  TTree* m_tree;
  std::deque<detail::BranchSet> m_sets;
  Parameters m_params;
  std::vector<void*> m_gpPtrs;
};

/// Contents of `podio_metadata` that this package writes (podio >= 1.3 layout).
class MetadataWriter {
public:
  void addTypeInfo(const std::string& category, std::uint32_t id, const std::string& dataType, bool isSubset,
                   unsigned int schemaVersion, const std::string& name, const std::string& storageType) {
    auto& v = infoFor(category);
    v.push_back(podio::root_utils::CollectionWriteInfo{id, dataType, isSubset, schemaVersion, name, storageType});
  }
  void addCategory(const std::string& category) { infoFor(category); }
  void addDatamodel(const std::string& name, const std::string& json) { m_edm.emplace_back(name, json); }
  void setPodioVersion(unsigned major, unsigned minor, unsigned patch) { m_podio = version(major, minor, patch); }
  void addDatamodelVersion(const std::string& name, unsigned major, unsigned minor, unsigned patch) {
    m_versions.emplace_back(name, version(major, minor, patch));
  }

  void write(TFile* file) {
    TDirectory::TContext ctx(file);
    auto* t = new TTree("podio_metadata", "metadata tree for podio I/O functionality");
    t->SetDirectory(file);
    std::vector<void*> ptrs;
    ptrs.reserve(m_infos.size() + 2 + m_versions.size());
    for (auto& [cat, infos] : m_infos) {
      ptrs.push_back(&infos);
      t->Branch((cat + "___CollectionTypeInfo").c_str(), "vector<podio::root_utils::CollectionWriteInfo>", &ptrs.back());
    }
    ptrs.push_back(&m_podio);
    t->Branch("PodioBuildVersion", "podio::version::Version", &ptrs.back());
    ptrs.push_back(&m_edm);
    t->Branch("EDMDefinitions", "vector<tuple<string,string> >", &ptrs.back());
    for (auto& [name, v] : m_versions) {
      ptrs.push_back(&v);
      t->Branch((name + "___Version").c_str(), "podio::version::Version", &ptrs.back());
    }
    if (t->Fill() < 0) throw std::runtime_error("I/O error writing podio_metadata");
    t->Write("", TObject::kOverwrite);
    t->ResetBranchAddresses();
  }

  /// The same contents as an RNTuple `podio_metadata` (podio's RNTuple layout): versions as
  /// vector<uint16_t>, plus `availableCategories`, since an RNTuple's fields are not scanned for them.
  void writeNTuple(TFile* file) {
    auto model = ROOT::RNTupleModel::Create();
    auto asVector = [](const podio::version::Version& v) { return std::vector<std::uint16_t>{v.major, v.minor, v.patch}; };
    *model->MakeField<std::vector<std::uint16_t>>("PodioBuildVersion") = asVector(m_podio);
    for (const auto& [name, v] : m_versions) *model->MakeField<std::vector<std::uint16_t>>(name + "___Version") = asVector(v);
    *model->MakeField<std::vector<std::tuple<std::string, std::string>>>("EDMDefinitions") = m_edm;
    auto categories = model->MakeField<std::vector<std::string>>("availableCategories");
    for (const auto& [cat, infos] : m_infos) {
      categories->push_back(cat);
      *model->MakeField<std::vector<podio::root_utils::CollectionWriteInfo>>(cat + "___CollectionTypeInfo") = infos;
    }
    auto writer = ROOT::RNTupleWriter::Append(std::move(model), "podio_metadata", *file);
    writer->Fill();
  }  // the writer commits the RNTuple when it goes out of scope

private:
  static podio::version::Version version(unsigned a, unsigned b, unsigned c) {
    return podio::version::Version{static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(b),
                                   static_cast<std::uint16_t>(c)};
  }
  std::vector<podio::root_utils::CollectionWriteInfo>& infoFor(const std::string& category) {
    for (auto& [c, v] : m_infos)
      if (c == category) return v;
    m_infos.emplace_back(category, std::vector<podio::root_utils::CollectionWriteInfo>{});
    return m_infos.back().second;
  }

  std::deque<std::pair<std::string, std::vector<podio::root_utils::CollectionWriteInfo>>> m_infos;
  std::vector<std::tuple<std::string, std::string>> m_edm;
  podio::version::Version m_podio{};
  std::deque<std::pair<std::string, podio::version::Version>> m_versions;
};

// ------------------------------------------------------------------------------------------ RNTuple

/// podio_metadata of an RNTuple file (podio writes versions as vector<uint16_t>).
struct NTupleMetadata {
  std::vector<std::uint16_t> podioVersion;
  std::vector<std::tuple<std::string, std::string>> edmDefinitions;
  std::vector<std::string> categories;
  std::map<std::string, std::vector<podio::root_utils::CollectionWriteInfo>> typeInfo;
  std::map<std::string, std::vector<std::uint16_t>> datamodelVersions;
};

inline std::vector<std::string> topLevelFields(ROOT::RNTupleReader& reader) {
  std::vector<std::string> out;
  const auto& desc = reader.GetDescriptor();
  for (const auto& f : desc.GetTopLevelFields()) out.push_back(f.GetFieldName());
  return out;
}

inline NTupleMetadata readNTupleMetadata(TFile* file) {
  auto* nt = file->Get<ROOT::RNTuple>("podio_metadata");
  if (!nt) throw std::runtime_error("no RNTuple 'podio_metadata'");
  auto reader = ROOT::RNTupleReader::Open(*nt);
  NTupleMetadata md;
  const std::string suffixInfo = "___CollectionTypeInfo", suffixVersion = "___Version";
  auto endsWith = [](const std::string& s, const std::string& suf) {
    return s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
  };
  for (const auto& name : topLevelFields(*reader)) {
    if (name == "PodioBuildVersion") {
      md.podioVersion = reader->GetView<std::vector<std::uint16_t>>(name)(0);
    } else if (name == "EDMDefinitions") {
      md.edmDefinitions = reader->GetView<std::vector<std::tuple<std::string, std::string>>>(name)(0);
    } else if (name == "availableCategories") {
      md.categories = reader->GetView<std::vector<std::string>>(name)(0);
    } else if (endsWith(name, suffixInfo)) {
      md.typeInfo[name.substr(0, name.size() - suffixInfo.size())] =
          reader->GetView<std::vector<podio::root_utils::CollectionWriteInfo>>(name)(0);
    } else if (endsWith(name, suffixVersion)) {
      md.datamodelVersions[name.substr(0, name.size() - suffixVersion.size())] =
          reader->GetView<std::vector<std::uint16_t>>(name)(0);
    }
  }
  return md;
}

/// Reads collections of one category RNTuple straight into collections' vectors.
class NTupleCategoryReader {
public:
  NTupleCategoryReader(TFile* file, const std::string& name) {
    auto* nt = file->Get<ROOT::RNTuple>(name.c_str());
    if (!nt) throw std::runtime_error("no RNTuple '" + name + "'");
    m_reader = ROOT::RNTupleReader::Open(*nt);
  }
  long long entries() const { return static_cast<long long>(m_reader->GetNEntries()); }
  std::vector<std::string> fields() { return topLevelFields(*m_reader); }

  /// As TreeCategoryReader::addCollection, with the C++ type name of each field
  /// (e.g. `std::vector<edm4hep::MCParticleData>`) since views are type-erased.
  int addCollection(const std::string& data, const std::string& dataType, const std::vector<std::string>& rels,
                    const std::vector<std::string>& vecs, const std::vector<std::string>& vecTypes,
                    k4ml::CollectionBase& coll) {
    Slot s;
    if (!data.empty()) s.data = std::make_unique<ROOT::RNTupleView<void>>(view(data, coll.dataBuffer(), dataType));
    for (std::size_t i = 0; i < rels.size(); ++i) {
      s.rels.emplace_back(rels[i].empty() ? nullptr
                                          : std::make_unique<ROOT::RNTupleView<void>>(
                                                view(rels[i], coll.relationBuffer(i), "std::vector<podio::ObjectID>")));
    }
    for (std::size_t i = 0; i < vecs.size(); ++i) {
      s.vecs.emplace_back(vecs[i].empty() ? nullptr
                                          : std::make_unique<ROOT::RNTupleView<void>>(
                                                view(vecs[i], coll.vectorMemberBuffer(i), vecTypes.at(i))));
    }
    m_slots.push_back(std::move(s));
    return static_cast<int>(m_slots.size()) - 1;
  }

  void read(int slot, long long entry, k4ml::CollectionBase& coll) {
    auto& s = m_slots.at(slot);
    if (s.data) {
      s.data->BindRawPtr(coll.dataBuffer());
      (*s.data)(entry);
    }
    for (std::size_t i = 0; i < s.rels.size(); ++i)
      if (s.rels[i]) {
        s.rels[i]->BindRawPtr(coll.relationBuffer(i));
        (*s.rels[i])(entry);
      }
    for (std::size_t i = 0; i < s.vecs.size(); ++i)
      if (s.vecs[i]) {
        s.vecs[i]->BindRawPtr(coll.vectorMemberBuffer(i));
        (*s.vecs[i])(entry);
      }
  }

  const Parameters& readParameters(long long entry) {
    m_params.clear();
    const auto names = fields();
    auto has = [&](const char* n) {
      for (const auto& f : names)
        if (f == n) return true;
      return false;
    };
    if (has("GPIntKeys")) {
      m_params.intKeys = m_reader->GetView<std::vector<std::string>>("GPIntKeys")(entry);
      m_params.intValues = m_reader->GetView<std::vector<std::vector<int>>>("GPIntValues")(entry);
    }
    if (has("GPFloatKeys")) {
      m_params.floatKeys = m_reader->GetView<std::vector<std::string>>("GPFloatKeys")(entry);
      m_params.floatValues = m_reader->GetView<std::vector<std::vector<float>>>("GPFloatValues")(entry);
    }
    if (has("GPDoubleKeys")) {
      m_params.doubleKeys = m_reader->GetView<std::vector<std::string>>("GPDoubleKeys")(entry);
      m_params.doubleValues = m_reader->GetView<std::vector<std::vector<double>>>("GPDoubleValues")(entry);
    }
    if (has("GPStringKeys")) {
      m_params.stringKeys = m_reader->GetView<std::vector<std::string>>("GPStringKeys")(entry);
      m_params.stringValues = m_reader->GetView<std::vector<std::vector<std::string>>>("GPStringValues")(entry);
    }
    return m_params;
  }

private:
  ROOT::RNTupleView<void> view(const std::string& field, void* ptr, const std::string& type) {
    return m_reader->GetView(field, ptr, type);
  }
  struct Slot {
    std::unique_ptr<ROOT::RNTupleView<void>> data;
    std::vector<std::unique_ptr<ROOT::RNTupleView<void>>> rels;
    std::vector<std::unique_ptr<ROOT::RNTupleView<void>>> vecs;
  };
  std::unique_ptr<ROOT::RNTupleReader> m_reader;
  std::deque<Slot> m_slots;
  Parameters m_params;
};

/// Writes one category RNTuple in podio's layout: fields named like the TTree branches (`C`,
/// `_C_<relation>`, `_C_<vectorMember>`, `C_objIdx`) and the 8 GP* fields. The schema is
/// collected from the first frame; the RNTuple is created at the first fill(), and every fill binds
/// the fields straight to the collections' vectors (no copies).
class NTupleCategoryWriter {
public:
  NTupleCategoryWriter(TFile* file, const std::string& name, int compression = -1)
      : m_file(file), m_name(name), m_compression(compression), m_model(ROOT::RNTupleModel::CreateBare()) {}
  NTupleCategoryWriter(const NTupleCategoryWriter&) = delete;
  NTupleCategoryWriter& operator=(const NTupleCategoryWriter&) = delete;

  /// As TreeCategoryWriter::addCollection; the type names are C++ spellings such as
  /// `std::vector<edm4hep::MCParticleData>` (RNTuple fields are typed, not class-streamed).
  int addCollection(const std::string& name, const std::string& dataType, const std::vector<std::string>& relNames,
                    const std::vector<std::string>& vecNames, const std::vector<std::string>& vecTypes,
                    k4ml::CollectionBase& coll) {
    Slot s;
    s.data = name;
    addField(name, dataType);
    for (const auto& r : relNames) {
      s.rels.push_back("_" + name + "_" + r);
      addField(s.rels.back(), "std::vector<podio::ObjectID>");
    }
    for (std::size_t i = 0; i < vecNames.size(); ++i) {
      s.vecs.push_back("_" + name + "_" + vecNames[i]);
      addField(s.vecs.back(), vecTypes.at(i));
    }
    s.coll = &coll;
    m_slots.push_back(std::move(s));
    return static_cast<int>(m_slots.size()) - 1;
  }

  void addParameterBranches() {
    const char* keys[] = {"GPIntKeys", "GPFloatKeys", "GPDoubleKeys", "GPStringKeys"};
    const char* values[] = {"GPIntValues", "GPFloatValues", "GPDoubleValues", "GPStringValues"};
    const char* valueTypes[] = {"std::vector<std::vector<std::int32_t>>", "std::vector<std::vector<float>>",
                                "std::vector<std::vector<double>>", "std::vector<std::vector<std::string>>"};
    for (int i = 0; i < 4; ++i) {
      addField(keys[i], "std::vector<std::string>");
      addField(values[i], valueTypes[i]);
    }
    m_hasParams = true;
  }

  Parameters& parameters() { return m_params; }
  void set(int slot, k4ml::CollectionBase& coll) { m_slots.at(slot).coll = &coll; }

  long fill() {
    if (!m_writer) open();
    for (auto& s : m_slots) {
      m_entry->BindRawPtr(s.data, s.coll->dataBuffer());
      for (std::size_t i = 0; i < s.rels.size(); ++i) m_entry->BindRawPtr(s.rels[i], s.coll->relationBuffer(i));
      for (std::size_t i = 0; i < s.vecs.size(); ++i) m_entry->BindRawPtr(s.vecs[i], s.coll->vectorMemberBuffer(i));
    }
    if (m_hasParams) {
      m_entry->BindRawPtr("GPIntKeys", &m_params.intKeys);
      m_entry->BindRawPtr("GPIntValues", &m_params.intValues);
      m_entry->BindRawPtr("GPFloatKeys", &m_params.floatKeys);
      m_entry->BindRawPtr("GPFloatValues", &m_params.floatValues);
      m_entry->BindRawPtr("GPDoubleKeys", &m_params.doubleKeys);
      m_entry->BindRawPtr("GPDoubleValues", &m_params.doubleValues);
      m_entry->BindRawPtr("GPStringKeys", &m_params.stringKeys);
      m_entry->BindRawPtr("GPStringValues", &m_params.stringValues);
    }
    const auto nb = m_writer->Fill(*m_entry);
    m_params.clear();
    ++m_entries;
    return static_cast<long>(nb);
  }

  long long entries() const { return m_entries; }

  /// Commit the RNTuple to the file (its header, footer and anchor); the frames' vectors are no
  /// longer referenced afterwards.
  void finish() {
    if (!m_writer) open();
    m_entry.reset();
    m_writer.reset();
  }

private:
  void addField(const std::string& name, const std::string& type) {
    m_model->AddField(ROOT::RFieldBase::Create(name, type).Unwrap());  // throws for unknown types
  }
  void open() {
    ROOT::RNTupleWriteOptions options;
    if (m_compression >= 0) options.SetCompression(m_compression);
    m_writer = ROOT::RNTupleWriter::Append(std::move(m_model), m_name, *m_file, options);
    m_entry = m_writer->GetModel().CreateBareEntry();
  }
  struct Slot {
    std::string data;
    std::vector<std::string> rels, vecs;
    k4ml::CollectionBase* coll{nullptr};
  };

  TFile* m_file;
  std::string m_name;
  int m_compression;
  std::unique_ptr<ROOT::RNTupleModel> m_model;
  std::unique_ptr<ROOT::RNTupleWriter> m_writer;
  std::unique_ptr<ROOT::REntry> m_entry;
  std::deque<Slot> m_slots;
  Parameters m_params;
  bool m_hasParams{false};
  long long m_entries{0};
};

/// A frame's collection store that reads a collection from the file the first time a relation
/// points to it. One process-wide loader (set once from Python) gets the frame's token and the
/// collection ID and returns the collection, or nullptr; the per-frame cost is one integer.
class LazyCollectionStore : public k4ml::CollectionStore {
public:
  /// Returns the collection's address (a k4ml::CollectionBase, single inheritance) or 0; plain
  /// integers keep the signature easy for cppyy to wrap a Python callable.
  using Loader = std::function<std::uintptr_t(std::uint64_t, std::uint32_t)>;
  static Loader& loader() {
    static Loader l;
    return l;
  }
  static void setLoader(const Loader& l) { loader() = l; }

  std::uint64_t token{0};

  const k4ml::CollectionBase* find(std::uint32_t id) const override {
    if (const auto* c = k4ml::CollectionStore::find(id)) return c;
    if (!token || !loader() || m_busy) return nullptr;
    m_busy = true;
    const k4ml::CollectionBase* c = nullptr;
    try {
      c = reinterpret_cast<const k4ml::CollectionBase*>(loader()(token, id));
    } catch (...) {
      c = nullptr;
    }
    m_busy = false;
    return c;
  }

private:
  mutable bool m_busy{false};
};

/// Class name of a key in a file ("TTree", "ROOT::RNTuple", ...), or "" when absent.
inline std::string keyClass(TFile* file, const std::string& name) {
  auto* key = file->GetKey(name.c_str());
  return key ? key->GetClassName() : "";
}

}  // namespace io
}  // namespace k4ml
