// DP alignment (Chou et al. 2015, Eq. 5) with VCSL's semantics (vcsl/vta.py `dp`,
// `njit_dp_matrix`, `find_path`). Spec and deviations: cpp/align/README.md, "DP and DTW".
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "path_cut.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast {
namespace {

constexpr int kMaxPaths = 100;  // VCSL's `cnt = 100`: paths traced per map
constexpr float kMasked = -std::numeric_limits<float>::infinity();

// Per-thread buffers reused across calls (a batch aligns many maps per thread). They keep
// their high-water mark: 5 bytes per cell of the largest map this thread has aligned, plus
// O(P + Q).
struct DpWorkspace {
  std::vector<float> score;        // P*Q: VCSL's dp_mat (float32, as VCSL keeps it for float32 maps)
  std::vector<std::int8_t> back;   // P*Q: 0 diagonal, 1 from (i-1, j), 2 from (i, j-1), -1 none
  std::vector<std::int32_t> unmatched_prev, unmatched_cur;  // accumulated unmatch, two rows
  std::vector<float> shifted;      // one row of sim + 1
  std::vector<double> best_du;     // per column of the row being filled: the better of
  std::vector<std::int8_t> move_du;  // diagonal and up, its move and its unmatched count
  std::vector<std::int32_t> unmatched_du;
  std::vector<float> row_max;      // per row: max of score and its first column,
  std::vector<std::size_t> row_arg;  // so each argmax costs O(P) instead of O(P*Q)
  std::vector<detail::Cell> path;
  detail::PathCutter cutter;
};

DpWorkspace& workspace() {
  thread_local DpWorkspace ws;
  return ws;
}

// Row maximum and its first column. Four independent max chains instead of one serial
// compare chain; the first column holding the maximum then gives numpy's argmax tie rule.
void refresh_row_max(DpWorkspace& ws, std::size_t i, std::size_t cols) {
  const float* row = ws.score.data() + i * cols;
  float m[4] = {row[0], row[0], row[0], row[0]};
  std::size_t j = 0;
  for (; j + 4 <= cols; j += 4)
    for (int k = 0; k < 4; ++k) m[k] = std::max(m[k], row[j + static_cast<std::size_t>(k)]);
  for (; j < cols; ++j) m[0] = std::max(m[0], row[j]);
  const float best = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
  const float* at = std::find(row, row + cols, best);
  ws.row_max[i] = best;
  ws.row_arg[i] = at == row + cols ? 0 : static_cast<std::size_t>(at - row);  // not found only with NaN
}

// VCSL's njit_dp_matrix on the shifted map (sim + 1). Row 0 and column 0 keep the shifted
// similarity and no back-pointer. Each other cell takes the first maximum of
//   [diag + s, up + s/2, left + s/2]
// where the diagonal candidate is a float32 sum and the half steps are float64 (numba's
// typing of VCSL's code for a float32 map); the winner is stored as float32. A cell whose
// similarity is below min_sim extends the unmatched count of the chosen predecessor; once
// that count exceeds `discontinue` the cell keeps its own value and no back-pointer.
// Per row, the diagonal-vs-up choice needs only the row above and runs as its own pass; the
// sequential pass through `left` is branch-free. Same comparisons, same order, same values.
void fill_matrix(const SimMap& sims, const DpParams& params, DpWorkspace& ws) {
  const std::size_t rows = sims.rows, cols = sims.cols;
  ws.score.resize(rows * cols);
  ws.back.resize(rows * cols);
  ws.unmatched_prev.assign(cols, 0);
  ws.unmatched_cur.assign(cols, 0);
  ws.shifted.resize(cols);
  ws.best_du.resize(cols);
  ws.move_du.resize(cols);
  ws.unmatched_du.resize(cols);
  ws.row_max.resize(rows);
  ws.row_arg.resize(rows);
  const double min_sim = params.min_sim;
  const std::int64_t discontinue = params.discontinue;
  bool finite = true;
  for (std::size_t j = 0; j < cols; ++j) {
    finite &= detail::finite_cell(sims.at(0, j));
    ws.score[j] = sims.at(0, j) + 1.0f;
    ws.back[j] = -1;
  }
  if (!finite) detail::non_finite_row("dp", 0);
  float* shifted = ws.shifted.data();
  double* best_du = ws.best_du.data();
  std::int8_t* move_du = ws.move_du.data();
  std::int32_t* unmatched_du = ws.unmatched_du.data();
  for (std::size_t i = 1; i < rows; ++i) {
    float* score = ws.score.data() + i * cols;
    const float* above = score - cols;
    const float* row = sims.data + i * sims.row_stride;
    std::int8_t* back = ws.back.data() + i * cols;
    const std::int32_t* unmatched_above = ws.unmatched_prev.data();
    std::int32_t* unmatched = ws.unmatched_cur.data();
    for (std::size_t j = 0; j < cols; ++j) finite &= detail::finite_cell(row[j]);
    if (!finite) detail::non_finite_row("dp", i);
    for (std::size_t j = 1; j < cols; ++j) {
      const float s = row[j] + 1.0f;
      shifted[j] = s;
      const double diag = static_cast<double>(above[j - 1] + s);
      const double up = static_cast<double>(above[j]) + 0.5 * static_cast<double>(s);
      const std::int32_t take_up = up > diag;  // ties keep the diagonal
      best_du[j] = std::max(diag, up);
      move_du[j] = static_cast<std::int8_t>(take_up);
      unmatched_du[j] = unmatched_above[j - 1] + take_up * (unmatched_above[j] - unmatched_above[j - 1]);
    }
    score[0] = row[0] + 1.0f;
    back[0] = -1;
    unmatched[0] = 0;
    float left_score = score[0];
    for (std::size_t j = 1; j < cols; ++j) {
      const float s = shifted[j];
      const double left = static_cast<double>(left_score) + 0.5 * static_cast<double>(s);
      const std::int32_t take_left = left > best_du[j];  // ties keep diagonal / up
      const double best = std::max(best_du[j], left);
      const std::int32_t before = unmatched_du[j] + take_left * (unmatched[j - 1] - unmatched_du[j]);
      const std::int32_t count = (before + 1) * static_cast<std::int32_t>(static_cast<double>(s) < min_sim);
      unmatched[j] = count;
      const bool keep = count <= discontinue;
      const std::int8_t move = static_cast<std::int8_t>(move_du[j] + take_left * (2 - move_du[j]));
      left_score = keep ? static_cast<float>(best) : s;
      score[j] = left_score;
      back[j] = keep ? move : std::int8_t{-1};
    }
    ws.unmatched_prev.swap(ws.unmatched_cur);
  }
  for (std::size_t i = 0; i < rows; ++i) refresh_row_max(ws, i, cols);
}

// VCSL's find_path: from the first (row-major) maximum of the score matrix, follow the
// back-pointers until none is left or the next cell was masked by an earlier path.
void trace_path(DpWorkspace& ws, std::size_t rows, std::size_t cols) {
  std::size_t best_row = 0;
  for (std::size_t i = 1; i < rows; ++i)
    if (ws.row_max[i] > ws.row_max[best_row]) best_row = i;
  std::size_t i = best_row, j = ws.row_arg[best_row];
  ws.path.clear();
  ws.path.push_back({static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)});
  for (;;) {
    const std::int8_t move = ws.back[i * cols + j];
    if (move == -1) break;
    if (move == 0) {
      --i;
      --j;
    } else if (move == 1) {
      --i;
    } else {
      --j;
    }
    if (ws.score[i * cols + j] == kMasked) break;
    ws.path.push_back({static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)});
  }
  std::reverse(ws.path.begin(), ws.path.end());
}

// Masks the path's bounding box so later argmax calls skip it.
void mask_box(DpWorkspace& ws, std::size_t cols) {
  const auto r1 = static_cast<std::size_t>(ws.path.front().q), c1 = static_cast<std::size_t>(ws.path.front().r);
  const auto r2 = static_cast<std::size_t>(ws.path.back().q), c2 = static_cast<std::size_t>(ws.path.back().r);
  for (std::size_t i = r1; i <= r2; ++i) {
    std::fill(ws.score.begin() + static_cast<std::ptrdiff_t>(i * cols + c1),
              ws.score.begin() + static_cast<std::ptrdiff_t>(i * cols + c2 + 1), kMasked);
    if (ws.row_arg[i] >= c1 && ws.row_arg[i] <= c2) refresh_row_max(ws, i, cols);
  }
}

}  // namespace

std::vector<Box> align_dp(const SimMap& sims, const DpParams& params) {
  check_params(params);
  std::vector<Box> boxes;
  if (sims.rows == 0 || sims.cols == 0) return boxes;

  DpWorkspace& ws = workspace();
  fill_matrix(sims, params, ws);
  const auto shifted = [](float s) { return s + 1.0f; };
  for (int n = 0; n < kMaxPaths; ++n) {
    trace_path(ws, sims.rows, sims.cols);
    const detail::Cell end = ws.path.back();
    if (ws.score[static_cast<std::size_t>(end.q) * sims.cols + static_cast<std::size_t>(end.r)] == kMasked) break;
    mask_box(ws, sims.cols);
    const auto& keep = ws.cutter.cut(ws.path, params.diagonal_thres);
    detail::emit_boxes(sims, ws.path, keep, params.min_length, params.ave_sim, shifted, boxes);
  }
  return boxes;
}

}  // namespace vcdfast
