// One query against many references: per pair, the similarity map is computed into a
// per-thread buffer and aligned at once; pairs run in parallel. Spec: cpp/align/README.md,
// "Batch entry point".
#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels/parallel.hpp"
#include "vcdfast/align_batch.hpp"
#include "vcdfast/errors.hpp"

namespace vcdfast {
namespace {

void check_pair(const FramesF32& query, const FramesF32& ref, std::size_t index, SimilarityKind kind) {
  const std::string where = "align_batch: reference " + std::to_string(index);
  if (ref.frames == 0 || ref.views == 0) throw std::invalid_argument(where + " is empty");
  if (ref.dim != query.dim)
    throw std::invalid_argument(where + " has embedding dim " + std::to_string(ref.dim) + ", the query " +
                                std::to_string(query.dim));
  if (kind == SimilarityKind::cosine && ref.views != 1)
    throw std::invalid_argument(where + " has " + std::to_string(ref.views) +
                                " views; cosine needs one view per frame (use a chamfer similarity)");
}

MatrixF32 first_view(const FramesF32& frames) { return {frames.data, frames.frames, frames.dim, frames.frame_stride}; }

// Fills `buffer` with the (query frames x ref frames) map and returns it as a SimMap.
SimMap similarity_map(const FramesF32& query, const MatrixF32& bias, const FramesF32& ref,
                      const AlignConfig& config, std::vector<float>& buffer) {
  const std::size_t rows = query.frames, cols = ref.frames;
  if (buffer.size() < rows * cols) buffer.resize(rows * cols);
  const OutF32 out{buffer.data(), rows, cols, cols};
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
    for (std::size_t k = 0; k < rows * cols; ++k) buffer[k] = std::clamp(buffer[k], lower, upper) / span;
  }
  return {buffer.data(), rows, cols, cols};
}

std::vector<Box> align_one(const SimMap& sims, const AlignConfig& config) {
  switch (config.method) {
    case AlignMethod::tn:
      return align_tn(sims, config.tn);
    case AlignMethod::hv:
      return align_hv(sims, config.hv);
    case AlignMethod::dp:
      return align_dp(sims, config.dp);
    case AlignMethod::dtw:
      return align_dtw(sims, config.dtw);
  }
  throw std::invalid_argument("align_batch: unknown alignment method");
}

}  // namespace

std::vector<std::vector<Box>> align_batch(const FramesF32& query, const std::vector<FramesF32>& refs,
                                          const AlignConfig& config, int num_threads,
                                          const std::atomic<bool>* cancel, const MatrixF32& query_bias) {
  if (num_threads < 1) throw std::invalid_argument("align_batch: num_threads must be >= 1");
  if (query.frames == 0 || query.views == 0 || query.dim == 0)
    throw std::invalid_argument("align_batch: the query is empty");
  if (config.similarity == SimilarityKind::cosine && query.views != 1)
    throw std::invalid_argument("align_batch: the query has " + std::to_string(query.views) +
                                " views; cosine needs one view per frame (use a chamfer similarity)");
  if (query_bias.data != nullptr && config.similarity != SimilarityKind::query_view_max)
    throw std::invalid_argument("align_batch: a query bias needs similarity query_view_max");
  if (query_bias.data != nullptr && (query_bias.rows != query.frames || query_bias.dim != query.views))
    throw std::invalid_argument("align_batch: the query bias must be (query frames, query views)");
  if (config.normalize && !(config.norm_lower < config.norm_upper))
    throw std::invalid_argument("align_batch: normalization needs norm_lower < norm_upper");
  for (std::size_t k = 0; k < refs.size(); ++k) check_pair(query, refs[k], k, config.similarity);

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
        results[index] = align_one(similarity_map(query, query_bias, refs[index], config, buffer), config);
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
