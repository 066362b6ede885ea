// AVX2 chamfer tile reduction: 8 reference frames per step. Tile columns are view-major
// (w * frames_r + j), so "max over w" and "max over v" are both element-wise maxima of
// contiguous 8-float vectors. NaN-propagating max: vmaxps alone would drop a NaN operand.
// Compiled with -mavx2 -mfma; self-contained, called through the dispatch table.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "../isa_kernels.hpp"

namespace vcdfast::kernels {
namespace {

alignas(32) constexpr std::int32_t kLaneMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// max(acc, x), NaN if either is NaN (vmaxps returns its second operand when one is NaN).
inline __m256 nan_max(__m256 acc, __m256 x) {
  return _mm256_or_ps(_mm256_max_ps(x, acc), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

inline __m256 load_lanes(const float* p, std::size_t n, __m256i mask) {
  return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

}  // namespace

void chamfer_reduce_f32_avx2(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                             std::size_t frames_r, std::size_t views_r, int form, const float* bias, float* out,
                             std::size_t ldo) {
  const __m256 nv = _mm256_set1_ps(static_cast<float>(views));
  const __m256 nw = _mm256_set1_ps(static_cast<float>(views_r));
  const __m256 half = _mm256_set1_ps(0.5f);
  for (std::size_t f = 0; f < frames_q; ++f) {
    const float* rows = tile + f * views * ldt;
    const float* b = bias == nullptr ? nullptr : bias + f * views;
    for (std::size_t j = 0; j < frames_r; j += 8) {
      const std::size_t n = frames_r - j < 8 ? frames_r - j : 8;
      const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneMask + 8 - n));
      __m256 result = _mm256_setzero_ps();
      if (form != kChamferQueryViewMax) {
        __m256 q_to_r = _mm256_setzero_ps();
        for (std::size_t v = 0; v < views; ++v) {
          const float* row = rows + v * ldt + j;
          __m256 m = load_lanes(row, n, mask);
          for (std::size_t w = 1; w < views_r; ++w) m = nan_max(m, load_lanes(row + w * frames_r, n, mask));
          q_to_r = _mm256_add_ps(q_to_r, m);
        }
        result = _mm256_div_ps(q_to_r, nv);
      }
      if (form != kChamferAsymmetric) {
        __m256 r_to_q = _mm256_setzero_ps();
        for (std::size_t w = 0; w < views_r; ++w) {
          const float* col = rows + w * frames_r + j;
          // without a bias 0 is subtracted: exact, so the result is bit for bit the unbiased one.
          __m256 m = _mm256_sub_ps(load_lanes(col, n, mask), _mm256_set1_ps(b == nullptr ? 0.0f : b[0]));
          for (std::size_t v = 1; v < views; ++v)
            m = nan_max(m, _mm256_sub_ps(load_lanes(col + v * ldt, n, mask),
                                         _mm256_set1_ps(b == nullptr ? 0.0f : b[v])));
          r_to_q = form == kChamferSymmetric ? _mm256_add_ps(r_to_q, m) : w == 0 ? m : nan_max(r_to_q, m);
        }
        result = form == kChamferSymmetric ? _mm256_mul_ps(half, _mm256_add_ps(result, _mm256_div_ps(r_to_q, nw)))
                                           : r_to_q;
      }
      if (n == 8)
        _mm256_storeu_ps(out + f * ldo + j, result);
      else
        _mm256_maskstore_ps(out + f * ldo + j, mask, result);
    }
  }
}

}  // namespace vcdfast::kernels
