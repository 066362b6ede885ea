// vcdfast._core: the binding layer. It validates, converts without copying, releases the
// GIL and maps exceptions; every loop over data lives in cpp/.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "params.hpp"
#include "vcdfast/errors.hpp"
#include "vcdfast/simd.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "vcdfast C++ core: similarity matrices and temporal alignment";

  // Registered base first: pybind11 tries the most recently registered translator first.
  static py::exception<vcdfast::Error> base_error(m, "VcdfastError");
  py::register_exception<vcdfast::Cancelled>(m, "CancelledError", base_error);

  m.def("simd_levels", [] {
    py::list out;
    for (auto level : vcdfast::supported_simd_levels()) out.append(vcdfast::simd_level_name(level));
    return out;
  }, "SIMD levels compiled in and supported by this CPU, lowest first.");
  m.def("simd_level", [] { return std::string(vcdfast::simd_level_name(vcdfast::active_simd_level())); },
        "The SIMD level the kernels use now.");
  m.def("set_simd_level", [](const std::string& name) {
    auto level = vcdfast::parse_simd_level(name);
    if (!level) throw py::value_error("unknown SIMD level '" + name + "'; use one of simd_levels()");
    vcdfast::set_simd_level(*level);
  }, py::arg("level"), "Force a SIMD level (process-wide); ValueError if this host lacks it.");
  m.def("build_info", [] {
    auto info = vcdfast::build_info();
    py::dict d;
    d["version"] = info.version;
    d["compiler"] = info.compiler;
    d["build_type"] = info.build_type;
    d["sanitizer"] = info.sanitizer;
    d["openmp"] = info.openmp;
    d["openmp_max_threads"] = info.openmp_max_threads;
    d["native"] = info.native;
    d["compiled_levels"] = info.compiled_levels;
    py::list supported;
    for (auto level : vcdfast::supported_simd_levels()) supported.append(vcdfast::simd_level_name(level));
    d["supported_levels"] = supported;
    d["active_level"] = vcdfast::simd_level_name(vcdfast::active_simd_level());
    return d;
  }, "Compiler, build type, OpenMP and SIMD levels of this build.");

  vcdfast::bind::register_similarity(m);
  vcdfast::bind::register_params(m);  // before register_align: its docstrings read the defaults
  vcdfast::bind::register_align(m);
  vcdfast::bind::register_align_batch(m);

  vcdfast::apply_simd_level_from_env();
}
