// One query against many references: similarity + alignment fused per pair, pairs run in
// parallel with OpenMP. Exceptions inside the parallel region are captured and rethrown
// after it; a cancel flag is polled between pairs.
#pragma once
#include <atomic>
#include <cstddef>
#include <vector>

#include "vcdfast/align.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {

// The frame-pair similarity of a pair's map (cpp/kernels/*/README.md). query_view_max takes the
// max over the query's views (query-side views against one view per reference frame).
enum class SimilarityKind { cosine, chamfer_asymmetric, chamfer_symmetric, query_view_max };
enum class AlignMethod { tn, hv, dp, dtw };

struct AlignConfig {
  SimilarityKind similarity = SimilarityKind::cosine;
  AlignMethod method = AlignMethod::tn;
  TnParams tn;
  HvParams hv;
  DpParams dp;
  DtwParams dtw;
  // VCSL's sim_norm for chamfer maps: clip to [lower, upper] and divide by (upper - lower).
  bool normalize = false;
  float norm_lower = 0.0f, norm_upper = 0.3f;
};

// Cosine needs one view per frame (std::invalid_argument otherwise); chamfer takes any V, W.
// `query_bias` ((query frames, query views); data == nullptr: none) is subtracted from each query
// view's similarity before the max over query views: query_view_max only.
std::vector<std::vector<Box>> align_batch(const FramesF32& query, const std::vector<FramesF32>& refs,
                                          const AlignConfig& config, int num_threads = 1,
                                          const std::atomic<bool>* cancel = nullptr,
                                          const MatrixF32& query_bias = {});

}  // namespace vcdfast
