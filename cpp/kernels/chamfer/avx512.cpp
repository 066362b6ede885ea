// AVX-512 chamfer tile reduction: 16 reference frames per step; mirrors avx2.cpp with lane
// masks for the tail. Tile columns are view-major (w * frames_r + j), so both maxima are
// element-wise over contiguous vectors. NaN-propagating max (vmaxps alone drops a NaN).
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma; self-contained.
#include <immintrin.h>

// GCC 12's _mm512_max_ps trips a false -Wmaybe-uninitialized inside its own header
// (_mm512_undefined_ps; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstddef>

#include "../isa_kernels.hpp"

namespace vcdfast::kernels {
namespace {

// max(acc, x), NaN if either is NaN (vmaxps returns its second operand when one is NaN).
inline __m512 nan_max(__m512 acc, __m512 x) {
  const __m512 m = _mm512_max_ps(x, acc);
  return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

}  // namespace

void chamfer_reduce_f32_avx512(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                               std::size_t frames_r, std::size_t views_r, int form, const float* bias, float* out,
                               std::size_t ldo) {
  const __m512 nv = _mm512_set1_ps(static_cast<float>(views));
  const __m512 nw = _mm512_set1_ps(static_cast<float>(views_r));
  const __m512 half = _mm512_set1_ps(0.5f);
  for (std::size_t f = 0; f < frames_q; ++f) {
    const float* rows = tile + f * views * ldt;
    const float* b = bias == nullptr ? nullptr : bias + f * views;
    for (std::size_t j = 0; j < frames_r; j += 16) {
      const std::size_t n = frames_r - j < 16 ? frames_r - j : 16;
      const __mmask16 mask = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
      __m512 result = _mm512_setzero_ps();
      if (form != kChamferQueryViewMax) {
        __m512 q_to_r = _mm512_setzero_ps();
        for (std::size_t v = 0; v < views; ++v) {
          const float* row = rows + v * ldt + j;
          __m512 m = _mm512_maskz_loadu_ps(mask, row);
          for (std::size_t w = 1; w < views_r; ++w) m = nan_max(m, _mm512_maskz_loadu_ps(mask, row + w * frames_r));
          q_to_r = _mm512_add_ps(q_to_r, m);
        }
        result = _mm512_div_ps(q_to_r, nv);
      }
      if (form != kChamferAsymmetric) {
        __m512 r_to_q = _mm512_setzero_ps();
        for (std::size_t w = 0; w < views_r; ++w) {
          const float* col = rows + w * frames_r + j;
          // without a bias 0 is subtracted: exact, so the result is bit for bit the unbiased one.
          __m512 m = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, col), _mm512_set1_ps(b == nullptr ? 0.0f : b[0]));
          for (std::size_t v = 1; v < views; ++v)
            m = nan_max(m, _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, col + v * ldt),
                                         _mm512_set1_ps(b == nullptr ? 0.0f : b[v])));
          r_to_q = form == kChamferSymmetric ? _mm512_add_ps(r_to_q, m) : w == 0 ? m : nan_max(r_to_q, m);
        }
        result = form == kChamferSymmetric ? _mm512_mul_ps(half, _mm512_add_ps(result, _mm512_div_ps(r_to_q, nw)))
                                           : r_to_q;
      }
      _mm512_mask_storeu_ps(out + f * ldo + j, mask, result);
    }
  }
}

}  // namespace vcdfast::kernels
