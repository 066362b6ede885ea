// One query against many references: per pair, the similarity map is computed into a
// per-thread buffer (or the caller's output) and aligned at once; pairs run in parallel.
// Spec: cpp/align/README.md, "Batch entry point".
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels/parallel.hpp"
#include "vcdfast/align_batch.hpp"
#include "vcdfast/errors.hpp"

namespace vcdfast {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("align_batch: " + what); }

// Branch-free within a row, so the check runs at memory speed.
bool row_finite(const float* row, std::size_t n) {
  bool finite = true;
  for (std::size_t k = 0; k < n; ++k) finite &= std::fabs(row[k]) <= std::numeric_limits<float>::max();
  return finite;
}

void require_finite(const FramesF32& frames, const std::string& name) {
  for (std::size_t f = 0; f < frames.frames; ++f)
    for (std::size_t v = 0; v < frames.views; ++v)
      if (!row_finite(frames.at(f, v), frames.dim))
        fail(name + " contains NaN or infinity (frame " + std::to_string(f) +
             "); clean it (np.nan_to_num) before calling");
}

void check_frames(const FramesF32& frames, const FramesF32& query, const std::string& name, SimilarityKind kind) {
  if (frames.frames == 0 || frames.views == 0 || frames.dim == 0) fail(name + " is empty");
  if (frames.dim != query.dim)
    fail(name + " has embedding dim " + std::to_string(frames.dim) + ", the query " + std::to_string(query.dim));
  if (kind == SimilarityKind::cosine && frames.views != 1)
    fail(name + " has " + std::to_string(frames.views) +
         " views; cosine needs one view per frame (use a chamfer similarity)");
}

MatrixF32 first_view(const FramesF32& frames) { return {frames.data, frames.frames, frames.dim, frames.frame_stride}; }

// Computes the (query frames x ref frames) map into `out` and returns it as a SimMap.
SimMap similarity_map(const FramesF32& query, const MatrixF32& bias, const FramesF32& ref, const BatchConfig& config,
                      const OutF32& out) {
  switch (config.similarity) {
    case SimilarityKind::cosine:
      cosine_matrix(first_view(query), first_view(ref), out, 1);
      break;
    case SimilarityKind::chamfer_asymmetric:
      chamfer_matrix(ChamferForm::asymmetric, query, ref, out, 1);
      break;
    case SimilarityKind::chamfer_symmetric:
      chamfer_matrix(ChamferForm::symmetric, query, ref, out, 1);
      break;
    case SimilarityKind::query_view_max:
      chamfer_matrix(ChamferForm::query_view_max, query, ref, out, 1, bias);
      break;
  }
  if (config.normalize) {
    // VCSL's sim_norm: np.clip(sim, lower, upper) / (upper - lower), in float32.
    const float lower = config.norm_lower, upper = config.norm_upper, span = upper - lower;
    for (std::size_t i = 0; i < out.rows; ++i)
      for (float* x = out.row(i); x != out.row(i) + out.cols; ++x) *x = std::clamp(*x, lower, upper) / span;
  }
  return {out.data, out.rows, out.cols, out.row_stride};
}

}  // namespace

std::vector<std::vector<Box>> align_batch(const FramesF32& query, const std::vector<FramesF32>& refs,
                                          const BatchConfig& config, int num_threads,
                                          const std::atomic<bool>* cancel, const MatrixF32& query_bias,
                                          const std::vector<OutF32>* maps) {
  if (num_threads < 1) fail("num_threads must be >= 1");
  check_frames(query, query, "the query", config.similarity);
  for (std::size_t k = 0; k < refs.size(); ++k)
    check_frames(refs[k], query, "refs[" + std::to_string(k) + "]", config.similarity);
  if (config.normalize) {
    check_param("norm", "norm_lower", static_cast<double>(config.norm_lower));
    check_param("norm", "norm_upper", static_cast<double>(config.norm_upper));
    if (!(config.norm_lower < config.norm_upper))
      fail("norm_bounds must be finite with lower < upper, got (" + std::to_string(config.norm_lower) + ", " +
           std::to_string(config.norm_upper) + ")");
  }
  const bool biased = query_bias.data != nullptr;
  if (biased && config.similarity != SimilarityKind::query_view_max) fail("a query bias needs query_view_max");
  if (biased && (query_bias.rows != query.frames || query_bias.dim != query.views))
    fail("the query bias must be (query frames, query views)");
  if (maps != nullptr) {
    if (maps->size() != refs.size()) fail("one map output per reference is needed");
    for (std::size_t k = 0; k < refs.size(); ++k)
      if ((*maps)[k].rows != query.frames || (*maps)[k].cols != refs[k].frames)
        fail("map output " + std::to_string(k) + " must be (query frames, reference frames)");
  }
  require_finite(query, "the query");
  for (std::size_t f = 0; biased && f < query_bias.rows; ++f)
    if (!row_finite(query_bias.row(f), query_bias.dim))
      fail("the query bias contains NaN or infinity (frame " + std::to_string(f) + ")");

  std::vector<std::vector<Box>> results(refs.size());
  std::exception_ptr error;
  std::mutex error_mutex;
  std::atomic<bool> stop{false};
  bool cancelled = false;
  const auto count = static_cast<long long>(refs.size());
  // Never more threads than pairs or processors: a huge request must not make libgomp abort.
  const int team = static_cast<int>(kernels::team_size(num_threads, refs.size()));

#pragma omp parallel num_threads(team)
  {
    std::vector<float> buffer;  // this thread's similarity map, grown to the largest pair it sees
#pragma omp for schedule(dynamic, 1)
    for (long long k = 0; k < count; ++k) {
      if (stop.load(std::memory_order_relaxed)) continue;
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
        std::lock_guard<std::mutex> lock(error_mutex);
        cancelled = true;
        stop.store(true, std::memory_order_relaxed);
        continue;
      }
      try {
        const auto index = static_cast<std::size_t>(k);
        const FramesF32& ref = refs[index];
        // in the worker: each reference is read here anyway, and the check runs in parallel
        require_finite(ref, "refs[" + std::to_string(index) + "]");
        OutF32 out;
        if (maps != nullptr) {
          out = (*maps)[index];
        } else {
          buffer.resize(std::max(buffer.size(), query.frames * ref.frames));
          out = {buffer.data(), query.frames, ref.frames, ref.frames};
        }
        results[index] = align(similarity_map(query, query_bias, ref, config, out), config.align);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        stop.store(true, std::memory_order_relaxed);
      }
    }
  }

  if (error) std::rethrow_exception(error);
  if (cancelled) throw Cancelled();
  return results;
}

}  // namespace vcdfast
