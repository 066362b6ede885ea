// AVX2 + FMA dot-product GEMM (C = A * B^T): a 6 x 16 register tile, 12 ymm accumulators.
// Per k: two aligned loads of the packed B panel, six broadcasts of A, twelve FMAs.
// Compiled with -mavx2 -mfma; self-contained (see gemm_blocked.inc), called through the table.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "../isa_kernels.hpp"
#include "gemm_blocked.inc"

namespace vcdfast::kernels {
namespace {

alignas(32) constexpr std::int32_t kLaneMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// Mask enabling the first n (0..8) lanes.
inline __m256i first_lanes(std::size_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneMask + 8 - n));
}

struct MicroAvx2 {
  static constexpr std::size_t MR = 6, NR = 16;

  // c[i * ldc + j] (+)= sum_k a[i][k * kStep] * b[k * NR + j] for i < mr, j < nr.
  template <std::size_t kStep>
  static void run(std::size_t kc, const float* const* a, const float* b, float* c, std::size_t ldc,
                  std::size_t mr, std::size_t nr, bool accumulate) {
    const float* a0 = a[0];
    const float* a1 = a[1];
    const float* a2 = a[2];
    const float* a3 = a[3];
    const float* a4 = a[4];
    const float* a5 = a[5];
    // C is read (or written) only after the k loop; fetching its lines now hides the miss behind
    // kc iterations (C is far larger than the caches for long videos). A row's 16 floats may
    // straddle two lines.
    for (std::size_t i = 0; i < mr; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps();
    __m256 c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps();
    __m256 c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (std::size_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_load_ps(b + k * NR);
      const __m256 b1 = _mm256_load_ps(b + k * NR + 8);
      __m256 x = _mm256_broadcast_ss(a0 + k * kStep);
      c00 = _mm256_fmadd_ps(x, b0, c00);
      c01 = _mm256_fmadd_ps(x, b1, c01);
      x = _mm256_broadcast_ss(a1 + k * kStep);
      c10 = _mm256_fmadd_ps(x, b0, c10);
      c11 = _mm256_fmadd_ps(x, b1, c11);
      x = _mm256_broadcast_ss(a2 + k * kStep);
      c20 = _mm256_fmadd_ps(x, b0, c20);
      c21 = _mm256_fmadd_ps(x, b1, c21);
      x = _mm256_broadcast_ss(a3 + k * kStep);
      c30 = _mm256_fmadd_ps(x, b0, c30);
      c31 = _mm256_fmadd_ps(x, b1, c31);
      x = _mm256_broadcast_ss(a4 + k * kStep);
      c40 = _mm256_fmadd_ps(x, b0, c40);
      c41 = _mm256_fmadd_ps(x, b1, c41);
      x = _mm256_broadcast_ss(a5 + k * kStep);
      c50 = _mm256_fmadd_ps(x, b0, c50);
      c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    const __m256 lo[MR] = {c00, c10, c20, c30, c40, c50};
    const __m256 hi[MR] = {c01, c11, c21, c31, c41, c51};
    if (nr == NR) {
      for (std::size_t i = 0; i < mr; ++i) {
        float* ci = c + i * ldc;
        __m256 v0 = lo[i], v1 = hi[i];
        if (accumulate) {
          v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
          v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
        }
        _mm256_storeu_ps(ci, v0);
        _mm256_storeu_ps(ci + 8, v1);
      }
      return;
    }
    const __m256i m0 = first_lanes(nr < 8 ? nr : 8), m1 = first_lanes(nr > 8 ? nr - 8 : 0);
    for (std::size_t i = 0; i < mr; ++i) {
      float* ci = c + i * ldc;
      __m256 v0 = lo[i], v1 = hi[i];
      if (accumulate) {
        v0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), v0);
        v1 = _mm256_add_ps(_mm256_maskload_ps(ci + 8, m1), v1);
      }
      _mm256_maskstore_ps(ci, m0, v0);
      _mm256_maskstore_ps(ci + 8, m1, v1);
    }
  }
};

}  // namespace

std::size_t gemm_nt_work_floats_avx2(std::size_t n) { return gemm_work_floats<MicroAvx2>(n); }

void gemm_nt_f32_avx2(const float* const* a_rows, std::size_t m, const float* const* b_rows, std::size_t n,
                      std::size_t k, float* c, std::size_t ldc, float* work) {
  gemm_nt_blocked<MicroAvx2>(a_rows, m, b_rows, n, k, c, ldc, work);
}

}  // namespace vcdfast::kernels
