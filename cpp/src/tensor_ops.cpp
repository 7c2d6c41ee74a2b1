// The batched edm4eic::Tensor helpers of k4mlinference.edm.tensor, compiled once per machine into a small
// shared library and called through C entry points (ctypes): no cling parsing or JIT in any process.
// K4ML_FLOAT, K4ML_INT64 and K4ML_MAX_RANK come from k4mlinference/edm/tensor.py (the one dtype rule) as -D flags.
#include "edm4eic/edm4eic.h"

#include <cstdint>
#include <cstring>

namespace {
using TC = edm4eic::TensorCollection;
constexpr int kFloat = K4ML_FLOAT, kInt64 = K4ML_INT64, kMaxRank = K4ML_MAX_RANK;

// out: [status, elementType, rank, n_values, data address, shape...]; status 0 ok, 1 no tensor at index,
// 2 rank above kMaxRank, 3 unsupported element type, 4 size does not match the shape
void describe_one(const TC& c, std::size_t index, std::int64_t* out) {
  out[0] = 0;
  if (index >= c.m_data.size()) {
    out[0] = 1;
    return;
  }
  const auto& d = c.m_data[index];
  const int rank = static_cast<int>(d.shape_end - d.shape_begin);
  out[1] = d.elementType;
  out[2] = rank;
  if (rank > kMaxRank) {
    out[0] = 2;
    return;
  }
  std::int64_t expect = 1;
  for (int k = 0; k < rank; ++k) {
    out[5 + k] = c.m_vec_shape[d.shape_begin + k];
    expect *= out[5 + k];
  }
  if (d.elementType == kFloat) {
    out[3] = d.floatData_end - d.floatData_begin;
    out[4] = reinterpret_cast<std::intptr_t>(c.m_vec_floatData.data() + d.floatData_begin);
  } else if (d.elementType == kInt64) {
    out[3] = d.int64Data_end - d.int64Data_begin;
    out[4] = reinterpret_cast<std::intptr_t>(c.m_vec_int64Data.data() + d.int64Data_begin);
  } else {
    out[0] = 3;
    return;
  }
  if (out[3] != expect) out[0] = 4;
}

// Append one tensor (etype, shape) to the collection, its data zero-initialised; return its data address.
std::intptr_t emplace_one(TC& c, int etype, const std::int64_t* shape, int rank) {
  edm4eic::TensorData d{};
  d.elementType = etype;
  std::int64_t n = 1;
  for (int k = 0; k < rank; ++k) n *= shape[k];
  d.shape_begin = c.m_vec_shape.size();
  c.m_vec_shape.insert(c.m_vec_shape.end(), shape, shape + rank);
  d.shape_end = c.m_vec_shape.size();
  d.floatData_begin = d.floatData_end = c.m_vec_floatData.size();
  d.int64Data_begin = d.int64Data_end = c.m_vec_int64Data.size();
  std::intptr_t data = 0;
  if (etype == kFloat) {
    c.m_vec_floatData.resize(c.m_vec_floatData.size() + n);
    d.floatData_end = c.m_vec_floatData.size();
    data = reinterpret_cast<std::intptr_t>(c.m_vec_floatData.data() + d.floatData_begin);
  } else {
    c.m_vec_int64Data.resize(c.m_vec_int64Data.size() + n);
    d.int64Data_end = c.m_vec_int64Data.size();
    data = reinterpret_cast<std::intptr_t>(c.m_vec_int64Data.data() + d.int64Data_begin);
  }
  c.m_data.push_back(d);
  return data;
}

// For each collection i: append a tensor of shape (rows[i], inner...) filled from consecutive rows of src.
void scatter_rows(TC* const* colls, std::size_t n, int etype, const std::int64_t* rows, const std::int64_t* inner,
                  int inner_rank, const char* src, std::int64_t itemsize) {
  std::int64_t row_values = 1;
  std::int64_t shape[kMaxRank + 1];
  for (int k = 0; k < inner_rank; ++k) {
    row_values *= inner[k];
    shape[k + 1] = inner[k];
  }
  for (std::size_t i = 0; i < n; ++i) {
    shape[0] = rows[i];
    const std::int64_t nbytes = rows[i] * row_values * itemsize;
    void* dst = reinterpret_cast<void*>(emplace_one(*colls[i], etype, shape, inner_rank + 1));
    if (nbytes) std::memcpy(dst, src, nbytes);
    src += nbytes;
  }
}
}  // namespace

extern "C" {
// Tensor `index` of one collection; out holds 5 + K4ML_MAX_RANK int64.
void k4ml_tensor_describe(const TC* coll, std::size_t index, std::int64_t* out) { describe_one(*coll, index, out); }

// Tensor 0 of n collections; out is n rows of 5 + K4ML_MAX_RANK int64.
void k4ml_tensor_describe_many(const TC* const* colls, std::size_t n, std::int64_t* out) {
  for (std::size_t i = 0; i < n; ++i) describe_one(*colls[i], 0, out + i * (5 + kMaxRank));
}

// Copy n blocks (address, bytes) one after the other into dst.
void k4ml_tensor_gather(const std::int64_t* srcs, const std::int64_t* nbytes, std::size_t n, char* dst) {
  for (std::size_t i = 0; i < n; ++i) {
    if (nbytes[i]) std::memcpy(dst, reinterpret_cast<const void*>(srcs[i]), nbytes[i]);
    dst += nbytes[i];
  }
}

std::intptr_t k4ml_tensor_emplace(TC* coll, int etype, const std::int64_t* shape, int rank) {
  return emplace_one(*coll, etype, shape, rank);
}

void k4ml_tensor_scatter(TC* const* colls, std::size_t n, int etype, const std::int64_t* rows,
                         const std::int64_t* inner, int inner_rank, const char* src, std::int64_t itemsize) {
  scatter_rows(colls, n, etype, rows, inner, inner_rank, src, itemsize);
}

// A new collection (the caller takes ownership) holding one zero-filled tensor; its data address into *data.
TC* k4ml_tensor_new_emplace(int etype, const std::int64_t* shape, int rank, std::intptr_t* data) {
  TC* coll = new TC();
  *data = emplace_one(*coll, etype, shape, rank);
  return coll;
}

// n new collections (their addresses into out; the caller takes ownership), collection i holding the next
// rows[i] rows of src.
void k4ml_tensor_scatter_new(TC** out, std::size_t n, int etype, const std::int64_t* rows, const std::int64_t* inner,
                             int inner_rank, const char* src, std::int64_t itemsize) {
  for (std::size_t i = 0; i < n; ++i) out[i] = new TC();
  scatter_rows(out, n, etype, rows, inner, inner_rank, src, itemsize);
}
}
