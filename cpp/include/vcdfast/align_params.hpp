// The one table of alignment parameters: names, defaults and valid ranges. The parameter structs
// in align.hpp take their defaults from it, the kernels validate against it, the bindings read it
// (vcdfast._core.align_params()) and Python never restates a value. Each default is written
// once, here.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace vcdfast {

enum class ParamKind {
  integer,        // int64; Python ints beyond int64 saturate (each is only compared with frame counts)
  real,           // finite
  optional_real,  // finite, or absent (Python None): the feature is off
};

struct ParamSpec {
  std::string_view group;  // a method ("tn", "hv", "dp", "dtw", "chain"), "trim" (any method) or "norm"
  std::string_view name;
  ParamKind kind;
  double default_value;  // the single-pair kernels' default; NaN: off (optional_real)
  double lower;          // valid: value >= lower (> lower when lower_open); -inf: no bound
  bool lower_open;
  std::string_view doc;
};

inline constexpr double kOff = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kNoBound = -std::numeric_limits<double>::infinity();

// Method defaults are the peers': TN's towhee's, HV's VCSL's, DP's DpVtaModel's, DTW's DtwModel's
// (cpp/align/README.md says why for DP). Trimming and the chain method are vcdfast's
// (cpp/align/README.md, "Trimming" and "Chains"); the chain method's defaults are the query's,
// chosen for maps of normalised similarities (see kQueryDefaults for how).
inline constexpr ParamSpec kAlignParams[] = {
    {"tn", "max_step", ParamKind::integer, 10, 1, false, "largest frame step between linked nodes, both axes"},
    {"tn", "top_k", ParamKind::integer, 5, 1, false, "reference frames kept per query frame (clamped to Q)"},
    {"tn", "max_path", ParamKind::integer, 10, 0, false, "longest-path passes after the first"},
    {"tn", "min_sim", ParamKind::real, 0.2, 0, false, "edge threshold and a box's least mean similarity"},
    {"tn", "min_length", ParamKind::integer, 5, 0, false, "a box's sides must span more frames than this"},
    {"tn", "max_iou", ParamKind::real, 0.3, 0, true, "a box must overlap every kept box by less IoU"},
    {"hv", "iou_thresh", ParamKind::real, 0.9, 0, false, "a box overlapping a kept box by more IoU is dropped"},
    {"hv", "min_sim", ParamKind::real, 0.2, 0, false, "similarities below it do not vote"},
    {"hv", "max_peaks", ParamKind::integer, 100, 1, false, "diagonals kept by vote"},
    {"dp", "discontinue", ParamKind::integer, 3, 0, false, "unmatched cells a path may cross"},
    {"dp", "min_sim", ParamKind::real, 0.0, kNoBound, false, "a cell with sims + 1 below it is unmatched"},
    {"dp", "ave_sim", ParamKind::real, 0.3, kNoBound, false, "a segment needs mean(sims + 1) above it"},
    {"dp", "min_length", ParamKind::integer, 5, 0, false, "a segment must span more frames than this"},
    {"dp", "diagonal_thres", ParamKind::integer, 10, 0, false, "longer flat runs cut a path"},
    {"dtw", "discontinue", ParamKind::integer, 3, 0, false, "longer flat runs cut the path"},
    {"dtw", "min_sim", ParamKind::real, 0.2, kNoBound, false, "a piece needs a mean similarity above it"},
    {"dtw", "min_length", ParamKind::integer, 5, 0, false, "a piece must span more frames than this"},
    {"chain", "min_sim", ParamKind::real, 0.15, 0, true, "cells below it belong to no chain"},
    {"chain", "max_step", ParamKind::integer, 2, 1, false,
     "a chain's next cell lies 1 to max_step rows down and 0 to max_step columns right"},
    {"chain", "min_frames", ParamKind::integer, 2, 1, false, "a box must cover at least this many frames, both axes"},
    {"chain", "max_chains", ParamKind::integer, 32, 1, false, "chains searched per map, short ones included"},
    {"chain", "stall_cost", ParamKind::real, 0.2, 0, false,
     "weight a chain loses per step that stays in its reference column"},
    {"trim", "trim_sim", ParamKind::optional_real, kOff, 0, true,
     "cut each box to its heaviest chain of pairs >= trim_sim and rescore it (None: off)"},
    {"trim", "trim_gap", ParamKind::integer, 3, 1, false, "largest step of a chain, both axes"},
    {"norm", "norm_lower", ParamKind::real, 0.0, kNoBound, false, "normalize: clip below, subtract"},
    {"norm", "norm_upper", ParamKind::real, 0.3, kNoBound, false, "normalize: clip above (> norm_lower)"},
};

// vcdfast.query's defaults where they differ from the table's. The query's default method is
// chain (its table values are the query's); these are TN's, for a query that asks for TN, on maps
// of normalised similarities (vcdfast.normalise: cosine minus beta x the k-th background
// neighbour), chosen on the tuning split of bench/make_dataset.py (seed 0, generator d4b39d5) by
// bench/sweep_query.py: the best TN setting (VCSL F1 + segment µAP) / 2 among those that flag at
// most 5% of the copy-free queries (F1 0.617, µAP 0.694 there; chain 0.74 / 0.81 on the same
// maps; the seeds' recipe 0.335 / 0.556). min_length 2 keeps copies of 3 sampled frames. TN never
// links its source node, so a path may start up to max_step - 1 frames before the copy:
// trim_sim cuts each box to its heaviest chain and rescores it. Other methods' queries use the
// table's values (no trimming).
struct QueryDefault {
  std::string_view group, name;
  double value;
};
inline constexpr QueryDefault kQueryDefaults[] = {
    {"tn", "max_step", 5},
    {"tn", "min_sim", 0.1},
    {"tn", "min_length", 2},
    {"tn", "trim_sim", 0.2},
};

// The row of (group, name); a name missing from the table fails the build where a default is
// taken in a constant expression (align.hpp), and throws std::logic_error otherwise.
constexpr const ParamSpec& param_spec(std::string_view group, std::string_view name) {
  for (const ParamSpec& spec : kAlignParams)
    if (spec.group == group && spec.name == name) return spec;
  throw std::logic_error("no such alignment parameter");
}

constexpr std::int64_t int_default(std::string_view group, std::string_view name) {
  return static_cast<std::int64_t>(param_spec(group, name).default_value);
}
constexpr double real_default(std::string_view group, std::string_view name) {
  return param_spec(group, name).default_value;
}
constexpr std::optional<double> optional_default(std::string_view group, std::string_view name) {
  const double v = param_spec(group, name).default_value;
  return v != v ? std::nullopt : std::optional<double>(v);  // NaN: off
}

// Whether `value` lies in the row's range (and is finite, for reals).
constexpr bool in_range(const ParamSpec& spec, double value) {
  const bool finite = value == value && value - value == 0.0;  // constexpr std::isfinite
  if (spec.kind != ParamKind::integer && !finite) return false;
  return spec.lower_open ? value > spec.lower : value >= spec.lower;
}

// std::invalid_argument ("tn: max_step must be >= 1, got 0") unless the value is in range.
void check_param(std::string_view group, std::string_view name, std::int64_t value);
void check_param(std::string_view group, std::string_view name, double value);
void check_param(std::string_view group, std::string_view name, const std::optional<double>& value);

}  // namespace vcdfast
