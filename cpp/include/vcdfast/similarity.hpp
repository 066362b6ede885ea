// Frame-to-frame similarity matrices. Pure C++: no Python, no allocation in the hot loops.
// Layout: row-major, last axis contiguous, strides in elements (not bytes).
#pragma once
#include <cstddef>
#include <cstdint>

namespace vcdfast {

// (rows, dim) matrix.
struct MatrixF32 {
  const float* data = nullptr;
  std::size_t rows = 0, dim = 0, row_stride = 0;
  const float* row(std::size_t i) const { return data + i * row_stride; }
};

// (frames, views, dim) tensor: V embeddings per frame (whole frame, crops, flips).
struct FramesF32 {
  const float* data = nullptr;
  std::size_t frames = 0, views = 0, dim = 0, frame_stride = 0, view_stride = 0;
  const float* at(std::size_t f, std::size_t v) const { return data + f * frame_stride + v * view_stride; }
};

// Writable (rows, cols) output.
struct OutF32 {
  float* data = nullptr;
  std::size_t rows = 0, cols = 0, row_stride = 0;
  float* row(std::size_t i) const { return data + i * row_stride; }
};

// out[p, q] = <q_p, r_q>, accumulated in float32 (cosine when rows are L2-normalised).
void cosine_matrix(const MatrixF32& q, const MatrixF32& r, const OutF32& out, int num_threads = 1);

enum class ChamferForm {
  asymmetric,      // ViSiL: out[p, q] = mean_v max_w <q[p, v], r[q, w]>
  symmetric,       // VCSL:  out[p, q] = (mean_v max_w S + mean_w max_v S) / 2
  query_view_max,  // views as alternative pictures: out[p, q] = max_w max_v (<q[p, v], r[q, w]> - bias[p, v]);
                   // with one reference view and no bias, chamfer_asymmetric(r, q) transposed
};
// O(P*Q) extra memory at most; never materialises the (P, V, Q, W) tensor. `bias` is a
// (P, V) matrix (rows = query frames, dim = query views) read by query_view_max only;
// data == nullptr means no bias, and any other form refuses one (std::invalid_argument).
void chamfer_matrix(ChamferForm form, const FramesF32& q, const FramesF32& r, const OutF32& out,
                    int num_threads = 1, const MatrixF32& bias = {});

// Similarity maps computed in this process so far (cosine_matrix and chamfer_matrix calls): a
// debug counter through which tests check that the query path computes each map once.
std::uint64_t similarity_maps_computed() noexcept;

}  // namespace vcdfast
