#include <stdexcept>

#include "vcdfast/align_batch.hpp"

namespace vcdfast {

std::vector<std::vector<Box>> align_batch(const FramesF32&, const std::vector<FramesF32>&, const AlignConfig&, int,
                                          const std::atomic<bool>*) {
  throw std::logic_error("align_batch: not implemented yet");
}

}  // namespace vcdfast
