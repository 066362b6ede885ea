// Alignment parameters from Python: the one parser (keyword dicts -> AlignConfig), driven by the
// table in vcdfast/align_params.hpp. Holds the GIL. Types are checked here (TypeError); ranges
// are the kernels' (std::invalid_argument -> ValueError).
#pragma once
#include <pybind11/pybind11.h>

#include <string>

#include "vcdfast/align.hpp"

namespace vcdfast::bind {
namespace py = pybind11;

AlignMethod parse_method(const std::string& name);

// Sets the parameters named in `params` (a dict or kwargs; None: none) on `config`. Keys are the
// table's names of `config.method`'s group and of the "trim" group; any other key is a TypeError
// that lists the valid ones.
void parse_params(const py::handle& params, AlignConfig& config);

// Sets only the "trim" group's parameters.
void parse_trim_params(const py::handle& params, TrimParams& trim);

void register_params(py::module_& m);

}  // namespace vcdfast::bind
