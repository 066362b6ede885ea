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

struct BatchConfig {
  SimilarityKind similarity = SimilarityKind::cosine;
  AlignConfig align;  // method, its parameters and trimming
  // VCSL's sim_norm for chamfer maps: clip to [norm_lower, norm_upper] and divide by the span.
  bool normalize = false;
  float norm_lower = static_cast<float>(real_default("norm", "norm_lower"));
  float norm_upper = static_cast<float>(real_default("norm", "norm_upper"));
};

// Per reference, the boxes of `align(map, config.align)` on the pair's map. Cosine needs one view
// per frame (std::invalid_argument otherwise); the other similarities take any V, W. NaN or
// infinity in the query, a reference or the bias: std::invalid_argument naming it.
// `query_bias` ((query frames, query views); data == nullptr: none) is subtracted from each query
// view's similarity before the max over query views: query_view_max only.
// `maps`, when given, holds one (query frames, reference frames) output per reference: each
// pair's map is computed there (and aligned from there) instead of in a per-thread buffer.
std::vector<std::vector<Box>> align_batch(const FramesF32& query, const std::vector<FramesF32>& refs,
                                          const BatchConfig& config, int num_threads = 1,
                                          const std::atomic<bool>* cancel = nullptr,
                                          const MatrixF32& query_bias = {},
                                          const std::vector<OutF32>* maps = nullptr);

}  // namespace vcdfast
