// Chains of similar frame pairs (vcdfast's, not VCSL's): the heaviest chain in a map, which trims
// any method's boxes (cpp/align/README.md, "Trimming") and, taken again and again with the
// query rows of earlier chains claimed, is the chain method ("Chains"). Naive references:
// tests/reference.py chain_extent_ref, chains_ref. O(rows * cols * step) time per chain,
// O(cols * step) memory per thread.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "path_cut.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast {
namespace {

using i64 = std::int64_t;

// Best chain ending at a cell: its weight (0: none), first cell (row * cols + col), cell count,
// steps that stayed in their column (each cost stall_cost of the weight).
struct Chains {
  std::vector<double> weight;
  std::vector<i64> start, length, stalls;
  void resize(std::size_t n) {
    weight.resize(n);
    start.resize(n);
    length.resize(n);
    stalls.resize(n);
  }
};

// Per-thread buffers reused across calls (a batch trims many boxes per thread).
struct ChainWorkspace {
  Chains window;       // the last trim_gap rows, row i in slot i % trim_gap
  Chains above, from;  // best predecessor per column: over the window's rows, then over columns
};

ChainWorkspace& workspace() {
  thread_local ChainWorkspace ws;
  return ws;
}

// The heaviest chain of cells >= min_sim whose rows are not `claimed` (nullptr: none are) and
// whose steps do not cross a claimed row; each step that stays in its column costs `stall_cost`
// of the weight. Score: the cells' mean.
std::optional<Box> heaviest_chain(const SimMap& sims, double min_sim, i64 step, const std::vector<char>* claimed,
                                  double stall_cost) {
  const std::size_t rows = sims.rows, cols = sims.cols;
  if (rows == 0 || cols == 0) return std::nullopt;
  // Rows further up than the map is tall, or columns further left than it is wide, do not exist.
  const auto gap = static_cast<std::size_t>(std::min<i64>(step, static_cast<i64>(rows)));
  const auto reach = static_cast<std::size_t>(std::min<i64>(step, static_cast<i64>(cols) - 1));
  const float threshold = static_cast<float>(min_sim);  // compared in float32, as NumPy compares a float32 map
  ChainWorkspace& ws = workspace();
  ws.window.resize(gap * cols);
  ws.above.resize(cols);
  ws.from.resize(cols);
  const auto c = static_cast<i64>(cols);
  double best = 0.0;
  i64 best_start = -1, best_end = -1, best_length = 0, best_span = 0, best_stalls = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    // Best chain ending up to `gap` rows above, per column; the oldest row wins ties ...
    std::fill(ws.above.weight.begin(), ws.above.weight.end(), 0.0);
    for (std::size_t k = i < gap ? 0 : i - gap; k < i; ++k) {
      const std::size_t slot = (k % gap) * cols;
      for (std::size_t j = 0; j < cols; ++j)
        if (ws.window.weight[slot + j] > ws.above.weight[j]) {
          ws.above.weight[j] = ws.window.weight[slot + j];
          ws.above.start[j] = ws.window.start[slot + j];
          ws.above.length[j] = ws.window.length[slot + j];
          ws.above.stalls[j] = ws.window.stalls[slot + j];
        }
    }
    // ... then up to `reach` columns to the left. Ties go to the diagonal (one column left), then
    // the same column, then further left: in a still shot every path weighs the same, and a
    // chain down one column is a box one reference frame wide, which min_frames drops (and
    // stall_cost makes lose to a diagonal that is nearly as heavy).
    ws.from = ws.above;
    for (std::size_t j = 0; j < cols; ++j)
      if (ws.from.weight[j] > 0.0) {
        ws.from.weight[j] -= stall_cost;
        ws.from.stalls[j] += 1;
      }
    for (std::size_t d = 1; d <= reach; ++d)
      for (std::size_t j = d; j < cols; ++j)
        if (d == 1 ? ws.above.weight[j - 1] >= ws.from.weight[j] && ws.above.weight[j - 1] > 0.0
                   : ws.above.weight[j - d] > ws.from.weight[j]) {
          ws.from.weight[j] = ws.above.weight[j - d];
          ws.from.start[j] = ws.above.start[j - d];
          ws.from.length[j] = ws.above.length[j - d];
          ws.from.stalls[j] = ws.above.stalls[j - d];
        }
    // Row i's chains overwrite the oldest row of the window, which has just been read.
    const std::size_t slot = (i % gap) * cols;
    const bool open = claimed == nullptr || !(*claimed)[i];
    for (std::size_t j = 0; j < cols; ++j) {
      const float v = open ? sims.at(i, j) : -std::numeric_limits<float>::infinity();
      const bool linked = ws.from.weight[j] > 0.0;
      const double w = v >= threshold ? static_cast<double>(v) + (linked ? ws.from.weight[j] : 0.0) : 0.0;
      const i64 start = linked ? ws.from.start[j] : static_cast<i64>(i * cols + j);
      const i64 length = linked ? ws.from.length[j] + 1 : 1;
      const i64 stalls = linked ? ws.from.stalls[j] : 0;
      ws.window.weight[slot + j] = w;
      ws.window.start[slot + j] = start;
      ws.window.length[slot + j] = length;
      ws.window.stalls[slot + j] = stalls;
      if (w <= 0.0 || w < best) continue;
      // Equal weights: the chain whose box is wider on its narrower axis wins, then the first
      // end cell in row-major order.
      const i64 span = std::min(static_cast<i64>(i) - start / c, static_cast<i64>(j) - start % c) + 1;
      if (w > best || span > best_span) {
        best = w;
        best_span = span;
        best_start = start;
        best_end = static_cast<i64>(i * cols + j);
        best_length = length;
        best_stalls = stalls;
      }
    }
    // No chain steps across a claimed row: its box would hold another chain's query frames.
    if (!open) std::fill(ws.window.weight.begin(), ws.window.weight.end(), 0.0);
  }
  if (best_end < 0) return std::nullopt;
  return Box{best_start / c, best_start % c, best_end / c, best_end % c,
             static_cast<float>((best + static_cast<double>(best_stalls) * stall_cost) /
                                static_cast<double>(best_length))};
}

}  // namespace

std::optional<Box> chain_extent(const SimMap& sims, double trim_sim, i64 trim_gap) {
  check_param("trim", "trim_sim", trim_sim);
  check_param("trim", "trim_gap", trim_gap);
  return heaviest_chain(sims, trim_sim, trim_gap, nullptr, 0.0);
}

std::vector<Box> align_chain(const SimMap& sims, const ChainParams& params) {
  check_params(params);
  for (std::size_t i = 0; i < sims.rows; ++i) {
    bool finite = true;
    for (std::size_t j = 0; j < sims.cols; ++j) finite &= detail::finite_cell(sims.at(i, j));
    if (!finite) detail::non_finite_row("chain", i);
  }
  // A query frame is a copy of one moment of a reference: once a chain holds its rows, the
  // reference's repeats of that moment (a shot used twice) cannot claim them again.
  std::vector<char> claimed(sims.rows, 0);
  std::vector<Box> boxes;
  for (i64 k = 0; k < params.max_chains; ++k) {
    const auto chain = heaviest_chain(sims, params.min_sim, params.max_step, &claimed, params.stall_cost);
    if (!chain) break;
    std::fill(claimed.begin() + chain->q_start, claimed.begin() + chain->q_end + 1, 1);
    if (chain->q_end - chain->q_start + 1 >= params.min_frames && chain->r_end - chain->r_start + 1 >= params.min_frames)
      boxes.push_back(*chain);
  }
  return boxes;
}

std::vector<Box> trim_boxes(const SimMap& sims, std::vector<Box> boxes, const TrimParams& params) {
  check_params(params);
  if (!params.trim_sim) return boxes;
  std::vector<Box> kept;
  kept.reserve(boxes.size());
  const auto rows = static_cast<i64>(sims.rows), cols = static_cast<i64>(sims.cols);
  for (std::size_t k = 0; k < boxes.size(); ++k) {
    const Box& box = boxes[k];
    if (!(0 <= box.q_start && box.q_start <= box.q_end && box.q_end < rows && 0 <= box.r_start &&
          box.r_start <= box.r_end && box.r_end < cols))
      throw std::invalid_argument("trim: box " + std::to_string(k) + " [" + std::to_string(box.q_start) + ", " +
                                  std::to_string(box.r_start) + ", " + std::to_string(box.q_end) + ", " +
                                  std::to_string(box.r_end) + "] is not inside the " + std::to_string(rows) + " x " +
                                  std::to_string(cols) + " map");
    const auto q0 = static_cast<std::size_t>(box.q_start), r0 = static_cast<std::size_t>(box.r_start);
    const SimMap inside{sims.data + q0 * sims.row_stride + r0, static_cast<std::size_t>(box.q_end - box.q_start + 1),
                        static_cast<std::size_t>(box.r_end - box.r_start + 1), sims.row_stride};
    if (const auto chain = chain_extent(inside, *params.trim_sim, params.trim_gap))
      kept.push_back({box.q_start + chain->q_start, box.r_start + chain->r_start, box.q_start + chain->q_end,
                      box.r_start + chain->r_end, chain->score});
  }
  return kept;
}

}  // namespace vcdfast
