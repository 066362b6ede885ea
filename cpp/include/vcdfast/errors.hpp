// Error types thrown by the kernels. The binding maps them to Python exceptions:
// std::invalid_argument -> ValueError, Cancelled -> vcdfast.CancelledError,
// Error -> vcdfast.VcdfastError, std::bad_alloc -> MemoryError.
#pragma once
#include <stdexcept>

namespace vcdfast {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A long batch call was asked to stop (cancel flag set) before it finished.
struct Cancelled : Error {
  Cancelled() : Error("cancelled") {}
};

}  // namespace vcdfast
