// Hough voting over time offsets (Douze, Jégou & Schmid, IEEE TMM 2010) with the exact
// semantics of VCSL's vta.hv; the spec is cpp/align/README.md and the naive reference
// tests/reference.py:hv_reference.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "iou.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast {
namespace {

using i64 = std::int64_t;

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("hv: " + what); }

void check(const SimMap& sims, const HvParams& p) {
  if (sims.rows == 0 || sims.cols == 0) fail("the similarity map is empty; both axes need at least one frame");
  check_params(p);
}

// NumPy's float32 pairwise summation (numpy/_core/src/umath/loops_utils.h.src), the order
// np.sum uses on a contiguous float32 vector: VCSL's votes are np.sum of a diagonal.
float pairwise_sum(const float* a, std::size_t n) {
  if (n < 8) {
    float res = 0.0f;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

struct Peak {
  float vote;
  i64 sigma;  // reference frame - query frame along the diagonal
  i64 q0, len;
};

}  // namespace

std::vector<Box> align_hv(const SimMap& sims, const HvParams& params) {
  check(sims, params);
  const i64 rows = static_cast<i64>(sims.rows), cols = static_cast<i64>(sims.cols);
  const float thr = static_cast<float>(params.min_sim);  // VCSL compares in float32

  // One vote per diagonal holding a similarity >= min_sim: the sum of the diagonal with the
  // similarities below min_sim set to 0 (NumPy's order, starting from 0 as np.sum does).
  std::vector<Peak> peaks;
  peaks.reserve(static_cast<std::size_t>(rows + cols - 1));
  std::vector<float> diag(static_cast<std::size_t>(std::min(rows, cols)));
  for (i64 sigma = -(rows - 1); sigma < cols; ++sigma) {
    const i64 q0 = std::max<i64>(0, -sigma), q1 = std::min(rows, cols - sigma);
    const std::size_t n = static_cast<std::size_t>(q1 - q0);
    bool hit = false, finite = true;
    const float* p = sims.data + static_cast<std::size_t>(q0) * sims.row_stride + static_cast<std::size_t>(q0 + sigma);
    for (std::size_t i = 0; i < n; ++i, p += sims.row_stride + 1) {
      const float v = *p;
      finite &= std::fabs(v) <= 3.40282347e38f;
      diag[i] = v < thr ? 0.0f : v;
      hit |= diag[i] >= thr;
    }
    if (!finite)
      fail("the similarity map contains NaN or infinity (diagonal r - q = " + std::to_string(sigma) +
           "); clean it (np.nan_to_num) before calling");
    if (hit) peaks.push_back({0.0f + pairwise_sum(diag.data(), n), sigma, q0, q1 - q0});
  }

  // Python's stable sort by descending vote: equal votes keep ascending sigma.
  std::stable_sort(peaks.begin(), peaks.end(), [](const Peak& a, const Peak& b) { return a.vote > b.vote; });
  if (static_cast<i64>(peaks.size()) > params.max_peaks) peaks.resize(static_cast<std::size_t>(params.max_peaks));

  std::vector<Box> boxes;
  for (const Peak& pk : peaks) {
    if (pk.vote <= 0.0f) continue;
    Box box;
    box.q_start = pk.q0;
    box.r_start = pk.q0 + pk.sigma;
    box.q_end = pk.q0 + pk.len - 1;
    box.r_end = pk.q0 + pk.len - 1 + pk.sigma;
    bool overlaps = false;
    for (const Box& kept : boxes) overlaps = overlaps || detail::iou_inclusive_kept_f32(box, kept) > params.iou_thresh;
    if (overlaps) continue;
    box.score = static_cast<float>(static_cast<double>(pk.vote) / static_cast<double>(pk.len));
    boxes.push_back(box);
  }
  return boxes;
}

}  // namespace vcdfast
