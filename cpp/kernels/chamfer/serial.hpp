// Portable scalar chamfer tile reduction: the fallback for CPUs without AVX2 and the level every
// test can force. Baseline code only: never include this header from an ISA file.
#pragma once
#include <cmath>
#include <cstddef>
#include <limits>

#include "../isa_kernels.hpp"

namespace vcdfast::kernels {

// max(acc, x), NaN if either is NaN.
inline float nan_max_serial(float acc, float x) {
  if (std::isnan(acc) || std::isnan(x)) return std::numeric_limits<float>::quiet_NaN();
  return x > acc ? x : acc;
}

// See ChamferReduceFn in ../isa_kernels.hpp for the tile layout and the forms.
inline void chamfer_reduce_f32_serial(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                                      std::size_t frames_r, std::size_t views_r, int form, const float* bias,
                                      float* out, std::size_t ldo) {
  for (std::size_t f = 0; f < frames_q; ++f) {
    const float* rows = tile + f * views * ldt;
    for (std::size_t j = 0; j < frames_r; ++j) {
      float result = 0.0f;
      if (form != kChamferQueryViewMax) {
        float q_to_r = 0.0f;
        for (std::size_t v = 0; v < views; ++v) {
          float m = rows[v * ldt + j];
          for (std::size_t w = 1; w < views_r; ++w) m = nan_max_serial(m, rows[v * ldt + w * frames_r + j]);
          q_to_r += m;
        }
        result = q_to_r / static_cast<float>(views);
      }
      if (form != kChamferAsymmetric) {
        // without a bias 0 is subtracted: exact, so the result is bit for bit the unbiased one.
        auto biased = [&](std::size_t v, std::size_t w) {
          return rows[v * ldt + w * frames_r + j] - (bias == nullptr ? 0.0f : bias[f * views + v]);
        };
        float r_to_q = 0.0f;
        for (std::size_t w = 0; w < views_r; ++w) {
          float m = biased(0, w);
          for (std::size_t v = 1; v < views; ++v) m = nan_max_serial(m, biased(v, w));
          r_to_q = form == kChamferSymmetric ? r_to_q + m : w == 0 ? m : nan_max_serial(r_to_q, m);
        }
        result = form == kChamferSymmetric ? 0.5f * (result + r_to_q / static_cast<float>(views_r)) : r_to_q;
      }
      out[f * ldo + j] = result;
    }
  }
}

}  // namespace vcdfast::kernels
