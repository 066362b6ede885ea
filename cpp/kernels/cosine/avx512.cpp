// AVX-512 (F/BW/VL/DQ) + FMA dot-product GEMM (C = A * B^T): an 8 x 32 register tile,
// 16 zmm accumulators. Mirrors avx2.cpp: per k, two aligned loads of the packed B panel,
// eight broadcasts of A, sixteen FMAs; tails use AVX-512 lane masks.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma; self-contained.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "../isa_kernels.hpp"
#include "gemm_blocked.inc"

namespace vcdfast::kernels {
namespace {

// Mask enabling the first n (0..16) lanes.
inline __mmask16 first_lanes16(std::size_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

struct MicroAvx512 {
  static constexpr std::size_t MR = 8, NR = 32;

  // c[i * ldc + j] (+)= sum_k a[i][k * kStep] * b[k * NR + j] for i < mr, j < nr.
  template <std::size_t kStep>
  static void run(std::size_t kc, const float* const* a, const float* b, float* c, std::size_t ldc,
                  std::size_t mr, std::size_t nr, bool accumulate) {
    // As avx2.cpp: fetch the C tile's lines (a 128-byte row spans up to three) before the k loop.
    for (std::size_t i = 0; i < mr; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR / 2), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    const float* ap[MR];
    __m512 lo[MR], hi[MR];
#pragma GCC unroll 8
    for (std::size_t i = 0; i < MR; ++i) {
      ap[i] = a[i];
      lo[i] = _mm512_setzero_ps();
      hi[i] = _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (std::size_t k = 0; k < kc; ++k) {
      const __m512 b0 = _mm512_load_ps(b + k * NR);
      const __m512 b1 = _mm512_load_ps(b + k * NR + 16);
#pragma GCC unroll 8
      for (std::size_t i = 0; i < MR; ++i) {
        const __m512 x = _mm512_set1_ps(ap[i][k * kStep]);
        lo[i] = _mm512_fmadd_ps(x, b0, lo[i]);
        hi[i] = _mm512_fmadd_ps(x, b1, hi[i]);
      }
    }
    const __mmask16 m0 = first_lanes16(nr < 16 ? nr : 16), m1 = first_lanes16(nr > 16 ? nr - 16 : 0);
    for (std::size_t i = 0; i < mr; ++i) {
      float* ci = c + i * ldc;
      __m512 v0 = lo[i], v1 = hi[i];
      if (accumulate) {
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
        v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
      }
      _mm512_mask_storeu_ps(ci, m0, v0);
      _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
  }
};

}  // namespace

std::size_t gemm_nt_work_floats_avx512(std::size_t n) { return gemm_work_floats<MicroAvx512>(n); }

void gemm_nt_f32_avx512(const float* const* a_rows, std::size_t m, const float* const* b_rows, std::size_t n,
                        std::size_t k, float* c, std::size_t ldc, float* work) {
  gemm_nt_blocked<MicroAvx512>(a_rows, m, b_rows, n, k, c, ldc, work);
}

}  // namespace vcdfast::kernels
