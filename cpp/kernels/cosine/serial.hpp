// Scalar cosine/dot kernel: the portable fallback and the level every test can force.
#pragma once
#include <cstddef>

#include "vcdfast/similarity.hpp"

namespace vcdfast::kernels {

inline float dot_f32_serial(const float* a, const float* b, std::size_t n) {
  float acc = 0.0f;
  for (std::size_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Rows [p_begin, p_end) of the output.
inline void cosine_rows_f32_serial(const MatrixF32& q, const MatrixF32& r, const OutF32& out,
                                   std::size_t p_begin, std::size_t p_end) {
  for (std::size_t p = p_begin; p < p_end; ++p)
    for (std::size_t j = 0; j < r.rows; ++j) out.row(p)[j] = dot_f32_serial(q.row(p), r.row(j), q.dim);
}

}  // namespace vcdfast::kernels
