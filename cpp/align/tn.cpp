#include <stdexcept>

#include "vcdfast/align.hpp"

namespace vcdfast {

std::vector<Box> align_tn(const SimMap&, const TnParams&) {
  throw std::logic_error("align_tn: not implemented yet");
}

}  // namespace vcdfast
