// One map, one configured method, then trimming: the per-pair step of the batch and of the
// single-pair bindings.
#include "vcdfast/align.hpp"

namespace vcdfast {

std::vector<Box> align(const SimMap& sims, const AlignConfig& config) {
  std::vector<Box> boxes;
  switch (config.method) {
    case AlignMethod::tn:
      boxes = align_tn(sims, config.tn);
      break;
    case AlignMethod::hv:
      boxes = align_hv(sims, config.hv);
      break;
    case AlignMethod::dp:
      boxes = align_dp(sims, config.dp);
      break;
    case AlignMethod::dtw:
      boxes = align_dtw(sims, config.dtw);
      break;
    case AlignMethod::chain:
      boxes = align_chain(sims, config.chain);
      break;
  }
  return trim_boxes(sims, std::move(boxes), config.trim);
}

}  // namespace vcdfast
