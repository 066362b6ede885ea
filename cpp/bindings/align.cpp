// Single-pair alignment bindings: validate, release the GIL, run the kernel, wrap the boxes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "arrays.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast::bind {
namespace {

// A Python integer (anything with __index__; TypeError otherwise) as int64, saturating:
// every integer parameter is only compared with frame counts, so saturation is exact.
std::int64_t int_param(const py::object& value) {
  PyObject* index = PyNumber_Index(value.ptr());
  if (index == nullptr) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
  Py_DECREF(index);
  if (overflow > 0) return std::numeric_limits<std::int64_t>::max();
  if (overflow < 0) return std::numeric_limits<std::int64_t>::min();
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

// NaN and infinity are refused by the kernels themselves (std::invalid_argument, so
// ValueError), in the pass that reads the map anyway instead of a second one here.
py::array checked_map(const py::object& sims) {
  py::array arr = f32_array(sims, "sims", 2);
  require_nonempty(arr, "sims");
  return arr;
}

}  // namespace

void register_align(py::module_& m) {
  m.def(
      "tn",
      [](const py::object& sims, const py::object& max_step, const py::object& top_k, const py::object& max_path,
         double min_sim, const py::object& min_length, double max_iou) {
        const py::array arr = checked_map(sims);
        TnParams params;
        params.max_step = int_param(max_step);
        params.top_k = int_param(top_k);
        params.max_path = int_param(max_path);
        params.min_sim = min_sim;
        params.min_length = int_param(min_length);
        params.max_iou = max_iou;
        const SimMap map = as_simmap(arr);
        std::vector<Box> boxes;
        {
          py::gil_scoped_release release;
          boxes = align_tn(map, params);
        }
        return as_segments(boxes);
      },
      py::arg("sims"), py::pos_only(), py::kw_only(), py::arg("max_step") = 10, py::arg("top_k") = 5,
      py::arg("max_path") = 10, py::arg("min_sim") = 0.2, py::arg("min_length") = 5, py::arg("max_iou") = 0.3,
      "Temporal-network alignment of a (P, Q) float32 similarity map (VCSL's tn). "
      "Returns (boxes int64 (N, 4), scores float32 (N,)).");

  m.def(
      "hv",
      [](const py::object& sims, double iou_thresh, double min_sim, const py::object& max_peaks) {
        const py::array arr = checked_map(sims);
        HvParams params;
        params.iou_thresh = iou_thresh;
        params.min_sim = min_sim;
        params.max_peaks = int_param(max_peaks);
        const SimMap map = as_simmap(arr);
        std::vector<Box> boxes;
        {
          py::gil_scoped_release release;
          boxes = align_hv(map, params);
        }
        return as_segments(boxes);
      },
      py::arg("sims"), py::pos_only(), py::kw_only(), py::arg("iou_thresh") = 0.9, py::arg("min_sim") = 0.2,
      py::arg("max_peaks") = 100,
      "Hough-voting alignment of a (P, Q) float32 similarity map (VCSL's hv). "
      "Returns (boxes int64 (N, 4), scores float32 (N,)).");
}

}  // namespace vcdfast::bind
