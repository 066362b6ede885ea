// Portable scalar GEMM for cosine and chamfer's S tiles: the fallback for CPUs without AVX2 and
// the level every test can force.
// Baseline code only: never include this header from an ISA file (cosine/avx2.cpp, ...).
#pragma once
#include <cstddef>

namespace vcdfast::kernels {

inline std::size_t gemm_nt_work_floats_serial(std::size_t) { return 0; }

// c[i * ldc + j] = <a_rows[i], b_rows[j]>: 4 x 4 blocks of scalar accumulators, k in order.
inline void gemm_nt_f32_serial(const float* const* a_rows, std::size_t m, const float* const* b_rows,
                               std::size_t n, std::size_t k, float* c, std::size_t ldc, float*) {
  constexpr std::size_t B = 4;
  for (std::size_t i0 = 0; i0 < m; i0 += B) {
    const std::size_t mi = m - i0 < B ? m - i0 : B;
    for (std::size_t j0 = 0; j0 < n; j0 += B) {
      const std::size_t nj = n - j0 < B ? n - j0 : B;
      float acc[B][B] = {};
      if (mi == B && nj == B) {
        for (std::size_t kk = 0; kk < k; ++kk)
          for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < B; ++j) acc[i][j] += a_rows[i0 + i][kk] * b_rows[j0 + j][kk];
      } else {
        for (std::size_t kk = 0; kk < k; ++kk)
          for (std::size_t i = 0; i < mi; ++i)
            for (std::size_t j = 0; j < nj; ++j) acc[i][j] += a_rows[i0 + i][kk] * b_rows[j0 + j][kk];
      }
      for (std::size_t i = 0; i < mi; ++i)
        for (std::size_t j = 0; j < nj; ++j) c[(i0 + i) * ldc + j0 + j] = acc[i][j];
    }
  }
}

}  // namespace vcdfast::kernels
