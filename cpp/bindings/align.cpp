#include <pybind11/pybind11.h>

#include "arrays.hpp"

namespace vcdfast::bind {

void register_align(py::module_&) {}

}  // namespace vcdfast::bind
