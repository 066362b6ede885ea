#include <pybind11/pybind11.h>

#include "arrays.hpp"

namespace vcdfast::bind {

void register_align_batch(py::module_&) {}

}  // namespace vcdfast::bind
