// Private to cpp/align: IoU of boxes whose sides count frames inclusively (+1), computed in
// the exact arithmetic of VCSL's vta.iou so that threshold comparisons match it bit for bit.
#pragma once
#include <algorithm>
#include <cstdint>

#include "vcdfast/align.hpp"

namespace vcdfast::detail {

// TN's form: all-integer areas, one float64 division (NumPy int64 / int64).
inline double iou_inclusive(const Box& a, const Box& b) {
  const std::int64_t iw = std::max<std::int64_t>(std::min(a.q_end, b.q_end) - std::max(a.q_start, b.q_start) + 1, 0);
  const std::int64_t ih = std::max<std::int64_t>(std::min(a.r_end, b.r_end) - std::max(a.r_start, b.r_start) + 1, 0);
  const std::int64_t inter = iw * ih;
  const std::int64_t area_a = (a.q_end - a.q_start + 1) * (a.r_end - a.r_start + 1);
  const std::int64_t area_b = (b.q_end - b.q_start + 1) * (b.r_end - b.r_start + 1);
  return static_cast<double>(inter) / static_cast<double>(area_a + area_b - inter);
}

// HV's form: VCSL keeps the accepted boxes `kept` as float32, so their corners are float32,
// their area is a float32 product and the rest is float64. Differs from the integer form
// only for coordinates or areas beyond 2**24.
inline double iou_inclusive_kept_f32(const Box& a, const Box& kept) {
  const float k0 = static_cast<float>(kept.q_start), k1 = static_cast<float>(kept.r_start);
  const float k2 = static_cast<float>(kept.q_end), k3 = static_cast<float>(kept.r_end);
  const double iw = std::max(std::min(static_cast<double>(a.q_end), static_cast<double>(k2)) -
                                 std::max(static_cast<double>(a.q_start), static_cast<double>(k0)) + 1.0,
                             0.0);
  const double ih = std::max(std::min(static_cast<double>(a.r_end), static_cast<double>(k3)) -
                                 std::max(static_cast<double>(a.r_start), static_cast<double>(k1)) + 1.0,
                             0.0);
  const double inter = iw * ih;
  const std::int64_t area_a = (a.q_end - a.q_start + 1) * (a.r_end - a.r_start + 1);
  const float area_kept = ((k2 - k0) + 1.0f) * ((k3 - k1) + 1.0f);
  return inter / ((static_cast<double>(area_a) + static_cast<double>(area_kept)) - inter);
}

}  // namespace vcdfast::detail
