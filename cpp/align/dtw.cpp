// DTW alignment with VCSL's semantics (vcsl/vta.py `dtw`, which runs tslearn's
// dtw_path_from_metric(1 - sims, metric="precomputed")). Spec: cpp/align/README.md.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "path_cut.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast {
namespace {

// Per-thread buffers reused across calls; they keep the high-water mark of the largest map
// this thread has aligned: 1 byte per cell plus O(P + Q).
struct DtwWorkspace {
  std::vector<double> cost_prev, cost_cur;  // accumulated cost, two rows (float64, as tslearn)
  std::vector<double> scratch;             // min(diag, up) of the row being filled
  std::vector<std::int8_t> move;           // P*Q: step taken into each cell when tracing back
  std::vector<detail::Cell> path;
  detail::PathCutter cutter;
};

DtwWorkspace& workspace() {
  thread_local DtwWorkspace ws;
  return ws;
}

enum : std::int8_t { kDiag = 0, kUp = 1, kLeft = 2 };

// tslearn's accumulated cost C[i, j] = d(i, j) + min(C[i-1, j-1], C[i-1, j], C[i, j-1]) with
// d = float32(1 - sim) widened to float64, C = +inf outside the map and C[-1, -1] = 0. Its
// back-trace from (P-1, Q-1) steps to the first minimum of [diag, up, left]; on the first
// row or column it can only go left or up. That choice depends only on the three final
// neighbours, so it is recorded here and the trace needs no cost matrix.
// Per row, only the scan through C[i, j-1] is sequential; the distance, min(diag, up) and the
// moves are separate branch-free passes (min is exact, so the regrouping changes no value).
void fill_moves(const SimMap& sims, DtwWorkspace& ws) {
  const std::size_t rows = sims.rows, cols = sims.cols;
  ws.cost_prev.resize(cols);
  ws.cost_cur.resize(cols);
  ws.scratch.resize(cols);
  ws.move.resize(rows * cols);
  double* prev = ws.cost_prev.data();
  double* cur = ws.cost_cur.data();
  double* diag_up = ws.scratch.data();
  const float* row = sims.data;
  bool finite = true;
  for (std::size_t j = 0; j < cols; ++j) finite &= detail::finite_cell(row[j]);
  if (!finite) detail::non_finite_row("dtw", 0);
  cur[0] = static_cast<double>(1.0f - row[0]);
  ws.move[0] = kDiag;  // never read: the trace stops at (0, 0)
  for (std::size_t j = 1; j < cols; ++j) {
    cur[j] = static_cast<double>(1.0f - row[j]) + cur[j - 1];
    ws.move[j] = kLeft;
  }
  for (std::size_t i = 1; i < rows; ++i) {
    std::swap(prev, cur);
    row = sims.data + i * sims.row_stride;
    for (std::size_t j = 0; j < cols; ++j) finite &= detail::finite_cell(row[j]);
    if (!finite) detail::non_finite_row("dtw", i);
    std::int8_t* move = ws.move.data() + i * cols;
    for (std::size_t j = 1; j < cols; ++j) diag_up[j] = std::min(prev[j - 1], prev[j]);
    cur[0] = static_cast<double>(1.0f - row[0]) + prev[0];
    for (std::size_t j = 1; j < cols; ++j)
      cur[j] = static_cast<double>(1.0f - row[j]) + std::min(diag_up[j], cur[j - 1]);
    move[0] = kUp;
    for (std::size_t j = 1; j < cols; ++j) {
      const double diag = prev[j - 1], up = prev[j], left = cur[j - 1];
      const int not_diag = static_cast<int>(up < diag) | static_cast<int>(left < diag);
      const int left_wins = static_cast<int>(left < up);
      move[j] = static_cast<std::int8_t>(not_diag * (1 + left_wins));
    }
  }
}

void trace_path(DtwWorkspace& ws, std::size_t rows, std::size_t cols) {
  ws.path.clear();
  std::size_t i = rows - 1, j = cols - 1;
  ws.path.push_back({static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)});
  while (i != 0 || j != 0) {
    const std::int8_t step = ws.move[i * cols + j];
    if (step != kLeft) --i;
    if (step != kUp) --j;
    ws.path.push_back({static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)});
  }
  std::reverse(ws.path.begin(), ws.path.end());
}

}  // namespace

std::vector<Box> align_dtw(const SimMap& sims, const DtwParams& params) {
  check_params(params);
  std::vector<Box> boxes;
  if (sims.rows == 0 || sims.cols == 0) return boxes;

  DtwWorkspace& ws = workspace();
  fill_moves(sims, ws);
  trace_path(ws, sims.rows, sims.cols);
  const auto& keep = ws.cutter.cut(ws.path, params.discontinue);
  detail::emit_boxes(sims, ws.path, keep, params.min_length, params.min_sim, [](float s) { return s; }, boxes);
  return boxes;
}

}  // namespace vcdfast
