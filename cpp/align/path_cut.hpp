// Private to cpp/align: the post-processing that VCSL's dp and dtw share (vcsl/vta.py
// `zero_runs`, `cut_path` and the segment filter). A path is a monotone list of cells from
// its first to its last point; nothing here allocates once the caller's buffers are warm.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "vcdfast/align.hpp"

namespace vcdfast::detail {

struct Cell {
  std::int64_t q = 0, r = 0;
};

// Half-open range [start, end) of path indices. `end < start` can occur (VCSL keeps it and its
// length filter drops it), so both are signed.
struct Range {
  std::int64_t start = 0, end = 0;
};

// Runs of consecutive path points sharing one coordinate, as VCSL's `zero_runs` on np.diff plus
// its `+1`: a run of k points with an equal coordinate is [s, s + k). Only runs longer than
// `thres` points are appended.
template <class Coord>
inline void long_flat_runs(const std::vector<Cell>& path, Coord coord, std::int64_t thres, std::vector<Range>& out) {
  const auto n = static_cast<std::int64_t>(path.size());
  std::int64_t k = 0;
  while (k + 1 < n) {
    if (coord(path[k + 1]) != coord(path[k])) {
      ++k;
      continue;
    }
    std::int64_t e = k + 1;
    while (e + 1 < n && coord(path[e + 1]) == coord(path[k])) ++e;
    if (e + 1 - k > thres) out.push_back({k, e + 1});
    k = e;
  }
}

// VCSL's `cut_path`: the pieces of `path` left after removing every vertical or horizontal
// run longer than `thres` points. The endpoint bookkeeping follows VCSL literally (a run
// touching the path's first or last point drops that gap; overlapping runs yield an empty
// or negative piece that the length filter removes).
struct PathCutter {
  std::vector<Range> runs, merged, keep;
  std::vector<std::int64_t> endpoints;

  const std::vector<Range>& cut(const std::vector<Cell>& path, std::int64_t thres) {
    runs.clear();
    merged.clear();
    keep.clear();
    endpoints.clear();
    const auto n = static_cast<std::int64_t>(path.size());
    long_flat_runs(path, [](const Cell& c) { return c.q; }, thres, runs);
    const auto vertical = static_cast<std::ptrdiff_t>(runs.size());
    long_flat_runs(path, [](const Cell& c) { return c.r; }, thres, runs);
    // Both lists are sorted by start and no two runs share a start (two points in a row
    // with equal q and equal r cannot occur), so a merge equals VCSL's argsort.
    std::merge(runs.begin(), runs.begin() + vertical, runs.begin() + vertical, runs.end(), std::back_inserter(merged),
               [](const Range& a, const Range& b) { return a.start < b.start; });
    if (merged.empty()) {
      keep.push_back({0, n});
      return keep;
    }
    // [0, a1, b1, a2, b2, ...]: drop the leading 0 and a1 when a1 == 0, else keep the 0.
    endpoints.push_back(0);
    for (const Range& run : merged) {
      endpoints.push_back(run.start);
      endpoints.push_back(run.end);
    }
    const std::size_t first = merged.front().start == 0 ? 2 : 0;
    if (endpoints.back() == n)
      endpoints.pop_back();
    else
      endpoints.push_back(n);
    for (std::size_t i = first; i + 1 < endpoints.size(); i += 2) keep.push_back({endpoints[i], endpoints[i + 1]});
    return keep;
  }
};

// VCSL's segment filter after cut_path: a piece [s, e) becomes a box when it has more than
// `min_length` points, mean(filter_value) over its points > `threshold`, and both its query
// and reference extents (last - first) exceed `min_length`. The box's score is the mean of
// the input similarity along the piece. Sums are float64, in path order.
template <class FilterValue>
inline void emit_boxes(const SimMap& sims, const std::vector<Cell>& path, const std::vector<Range>& keep,
                       std::int64_t min_length, double threshold, FilterValue filter_value, std::vector<Box>& out) {
  for (const Range& piece : keep) {
    if (piece.end - piece.start <= min_length) continue;
    const Cell& first = path[static_cast<std::size_t>(piece.start)];
    const Cell& last = path[static_cast<std::size_t>(piece.end - 1)];
    double filter_sum = 0.0, sim_sum = 0.0;
    for (std::int64_t k = piece.start; k < piece.end; ++k) {
      const Cell& c = path[static_cast<std::size_t>(k)];
      const float s = sims.at(static_cast<std::size_t>(c.q), static_cast<std::size_t>(c.r));
      filter_sum += static_cast<double>(filter_value(s));
      sim_sum += static_cast<double>(s);
    }
    const auto count = static_cast<double>(piece.end - piece.start);
    if (filter_sum / count > threshold && last.q - first.q > min_length && last.r - first.r > min_length)
      out.push_back({first.q, first.r, last.q, last.r, static_cast<float>(sim_sum / count)});
  }
}

// VCSL's DP and DTW read every cell once to fill their matrices; that pass also refuses NaN and
// infinity. `bad` accumulates a row branch-free; row_is_finite checks it.
inline bool finite_cell(float v) { return std::fabs(v) <= std::numeric_limits<float>::max(); }

[[noreturn]] inline void non_finite_row(const char* method, std::size_t row) {
  throw std::invalid_argument(std::string(method) + ": the similarity map contains NaN or infinity (row " +
                              std::to_string(row) + "); clean it (np.nan_to_num) before calling");
}

}  // namespace vcdfast::detail
