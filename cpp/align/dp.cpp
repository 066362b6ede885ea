#include <stdexcept>

#include "vcdfast/align.hpp"

namespace vcdfast {

std::vector<Box> align_dp(const SimMap&, const DpParams&) {
  throw std::logic_error("align_dp: not implemented yet");
}

}  // namespace vcdfast
