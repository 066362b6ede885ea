// Temporal alignment of a (query frames x reference frames) similarity map into copied
// segments, with VCSL's semantics (vcsl/vta.py): boxes are inclusive frame indices in
// VCSL's order [q_start, r_start, q_end, r_end]. Scalar C++; parallelism is across pairs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vcdfast/align_params.hpp"

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

// Parameter structs: defaults and ranges come from the table in align_params.hpp; field names are
// the table's (and Python's keywords). for_each_param visits (name, field) in table order.

// Temporal network (Tan et al. 2009) as in VCSL. Thresholds are double because VCSL compares them
// as Python floats (float64) against IoUs and mean scores.
struct TnParams {
  static constexpr std::string_view group = "tn";
  std::int64_t max_step = int_default(group, "max_step");
  std::int64_t top_k = int_default(group, "top_k");
  std::int64_t max_path = int_default(group, "max_path");
  double min_sim = real_default(group, "min_sim");
  std::int64_t min_length = int_default(group, "min_length");
  double max_iou = real_default(group, "max_iou");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, TnParams>> for_each_param(P& p, F&& f) {
  f("max_step", p.max_step); f("top_k", p.top_k); f("max_path", p.max_path); f("min_sim", p.min_sim);
  f("min_length", p.min_length); f("max_iou", p.max_iou);
}

// Hough voting (Douze et al. 2010) as in VCSL.
struct HvParams {
  static constexpr std::string_view group = "hv";
  double iou_thresh = real_default(group, "iou_thresh");
  double min_sim = real_default(group, "min_sim");
  std::int64_t max_peaks = int_default(group, "max_peaks");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, HvParams>> for_each_param(P& p, F&& f) {
  f("iou_thresh", p.iou_thresh); f("min_sim", p.min_sim); f("max_peaks", p.max_peaks);
}

// Dynamic programming (Chou et al. 2015) as in VCSL; thresholds float32 as VCSL compares them.
struct DpParams {
  static constexpr std::string_view group = "dp";
  std::int64_t discontinue = int_default(group, "discontinue");
  float min_sim = static_cast<float>(real_default(group, "min_sim"));
  float ave_sim = static_cast<float>(real_default(group, "ave_sim"));
  std::int64_t min_length = int_default(group, "min_length");
  std::int64_t diagonal_thres = int_default(group, "diagonal_thres");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, DpParams>> for_each_param(P& p, F&& f) {
  f("discontinue", p.discontinue); f("min_sim", p.min_sim); f("ave_sim", p.ave_sim); f("min_length", p.min_length);
  f("diagonal_thres", p.diagonal_thres);
}

// Dynamic time warping as in VCSL.
struct DtwParams {
  static constexpr std::string_view group = "dtw";
  std::int64_t discontinue = int_default(group, "discontinue");
  float min_sim = static_cast<float>(real_default(group, "min_sim"));
  std::int64_t min_length = int_default(group, "min_length");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, DtwParams>> for_each_param(P& p, F&& f) {
  f("discontinue", p.discontinue); f("min_sim", p.min_sim); f("min_length", p.min_length);
}

// Iterative heaviest chains (vcdfast's, cpp/align/README.md "Chains").
struct ChainParams {
  static constexpr std::string_view group = "chain";
  double min_sim = real_default(group, "min_sim");
  std::int64_t max_step = int_default(group, "max_step");
  std::int64_t min_frames = int_default(group, "min_frames");
  std::int64_t max_chains = int_default(group, "max_chains");
  double stall_cost = real_default(group, "stall_cost");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, ChainParams>> for_each_param(P& p, F&& f) {
  f("min_sim", p.min_sim); f("max_step", p.max_step); f("min_frames", p.min_frames); f("max_chains", p.max_chains);
  f("stall_cost", p.stall_cost);
}

// Trimming of any method's boxes (vcdfast's, cpp/align/README.md "Trimming").
struct TrimParams {
  static constexpr std::string_view group = "trim";
  std::optional<double> trim_sim = optional_default(group, "trim_sim");  // nullopt: off
  std::int64_t trim_gap = int_default(group, "trim_gap");
};
template <class P, class F>
constexpr std::enable_if_t<std::is_same_v<std::remove_const_t<P>, TrimParams>> for_each_param(P& p, F&& f) {
  f("trim_sim", p.trim_sim); f("trim_gap", p.trim_gap);
}

// std::invalid_argument naming the first parameter out of the table's range.
template <class P>
void check_params(const P& params) {
  for_each_param(params, [](std::string_view name, const auto& value) { check_param(P::group, name, value); });
}

// Every default lies in its own range: evaluated at compile time, so a name missing from the
// table or a default out of range fails the build.
template <class P>
constexpr bool defaults_in_range() {
  bool ok = true;
  const P params{};
  for_each_param(params, [&ok](std::string_view name, const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::optional<double>>) {
      ok = ok && (!value || in_range(param_spec(P::group, name), *value));
    } else {
      ok = ok && in_range(param_spec(P::group, name), static_cast<double>(value));
    }
  });
  return ok;
}
static_assert(defaults_in_range<TnParams>() && defaults_in_range<HvParams>() && defaults_in_range<DpParams>() &&
              defaults_in_range<DtwParams>() && defaults_in_range<ChainParams>() &&
              defaults_in_range<TrimParams>());

// Each checks its parameters (std::invalid_argument) and refuses a map holding NaN or infinity
// (std::invalid_argument naming np.nan_to_num) in the pass that reads it.
std::vector<Box> align_tn(const SimMap& sims, const TnParams& params);
std::vector<Box> align_hv(const SimMap& sims, const HvParams& params);
std::vector<Box> align_dp(const SimMap& sims, const DpParams& params);
std::vector<Box> align_dtw(const SimMap& sims, const DtwParams& params);
// Heaviest chain of cells >= min_sim, its query rows then claimed, again up to max_chains times;
// boxes covering fewer than min_frames frames on an axis are not kept. Score: the chain's mean.
std::vector<Box> align_chain(const SimMap& sims, const ChainParams& params);

// The heaviest chain of cells >= trim_sim in `sims` (cpp/align/README.md, "Trimming"): its
// bounding box, scored with the mean similarity of its cells; nullopt when no cell reaches
// trim_sim. Needs trim_sim > 0 and trim_gap >= 1.
std::optional<Box> chain_extent(const SimMap& sims, double trim_sim, std::int64_t trim_gap);

// Each box cut to the extent of the heaviest chain inside it and rescored; boxes holding no
// cell >= trim_sim are dropped. Returns `boxes` unchanged when trimming is off. Boxes must lie
// inside the map (std::invalid_argument otherwise).
std::vector<Box> trim_boxes(const SimMap& sims, std::vector<Box> boxes, const TrimParams& params);

enum class AlignMethod { tn, hv, dp, dtw, chain };

struct AlignConfig {
  AlignMethod method = AlignMethod::tn;
  TnParams tn;
  HvParams hv;
  DpParams dp;
  DtwParams dtw;
  ChainParams chain;
  TrimParams trim;
};

// The configured method's boxes on `sims`, then trimmed: what the batch does per pair.
std::vector<Box> align(const SimMap& sims, const AlignConfig& config);

}  // namespace vcdfast
