#include <stdexcept>

#include "vcdfast/align.hpp"

namespace vcdfast {

std::vector<Box> align_hv(const SimMap&, const HvParams&) {
  throw std::logic_error("align_hv: not implemented yet");
}

}  // namespace vcdfast
