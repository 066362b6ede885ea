// Temporal alignment of a (query frames x reference frames) similarity map into copied
// segments, with VCSL's semantics (vcsl/vta.py): boxes are inclusive frame indices in
// VCSL's order [q_start, r_start, q_end, r_end]. Scalar C++; parallelism is across pairs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vcdfast {

struct SimMap {
  const float* data = nullptr;
  std::size_t rows = 0, cols = 0, row_stride = 0;
  float at(std::size_t i, std::size_t j) const { return data[i * row_stride + j]; }
};

struct Box {
  std::int64_t q_start = 0, r_start = 0, q_end = 0, r_end = 0;
  float score = 0.0f;  // each method documents its score in cpp/align/README.md
};

// Temporal network (Tan et al. 2009) as in VCSL; defaults are towhee's. Thresholds are
// double because VCSL compares them as Python floats (float64) against IoUs and mean scores.
struct TnParams {
  std::int64_t max_step = 10, top_k = 5, max_path = 10;
  double min_sim = 0.2;
  std::int64_t min_length = 5;
  double max_iou = 0.3;
};

// Hough voting (Douze et al. 2010) as in VCSL.
struct HvParams {
  double iou_thresh = 0.9, min_sim = 0.2;
  std::int64_t max_peaks = 100;
};

// Dynamic programming (Chou et al. 2015) as in VCSL (DpVtaModel defaults).
struct DpParams {
  std::int64_t discontinue = 3;
  float min_sim = 0.0f, ave_sim = 0.3f;
  std::int64_t min_length = 5, diagonal_thres = 10;
};

// Dynamic time warping as in VCSL (DtwModel defaults).
struct DtwParams {
  std::int64_t discontinue = 3;
  float min_sim = 0.2f;
  std::int64_t min_length = 5;
};

// Each throws std::invalid_argument for parameters out of range.
std::vector<Box> align_tn(const SimMap& sims, const TnParams& params);
std::vector<Box> align_hv(const SimMap& sims, const HvParams& params);
std::vector<Box> align_dp(const SimMap& sims, const DpParams& params);
std::vector<Box> align_dtw(const SimMap& sims, const DtwParams& params);

}  // namespace vcdfast
