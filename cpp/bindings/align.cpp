// Single-pair alignment bindings: validate the map, parse the keywords (params.hpp), release the
// GIL, run the method and trimming (vcdfast::align), wrap the boxes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <deque>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "params.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast::bind {
namespace {

// NaN and infinity are refused by the kernels themselves, in the pass that reads the map.
SimMap checked_map(const py::array& sims) {
  require_nonempty(sims, "sims");
  return as_simmap(sims);
}

// The docstring of a method: what it is, then its keywords and defaults read from the table.
// Needs align_defaults registered on `m` already.
const char* method_doc(const py::module_& m, const std::string& method, const char* what) {
  static std::deque<std::string> docs;  // pybind11 keeps the pointer
  std::string doc = std::string(what) +
                    " of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).\n"
                    "Keywords (defaults): ";
  const py::dict defaults = m.attr("align_defaults")(method);
  bool first = true;
  for (const auto& item : defaults) {
    doc += std::string(first ? "" : ", ") + std::string(py::str(item.first)) + "=" + std::string(py::repr(item.second));
    first = false;
  }
  docs.push_back(doc + ".\nBoxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.");
  return docs.back().c_str();
}

}  // namespace

void register_align(py::module_& m) {
  const std::pair<const char*, const char*> methods[] = {
      {"tn", "Temporal-network alignment (VCSL's tn)"},
      {"hv", "Hough-voting alignment (VCSL's hv)"},
      {"dp", "VCSL's DP alignment (min_sim and ave_sim apply to sims + 1, as in VCSL)"},
      {"dtw", "VCSL's DTW alignment"},
      {"chain", "Iterative heaviest-chain alignment (vcdfast's; each query frame in at most one box)"},
  };
  for (const auto& [name, what] : methods) {
    const AlignMethod method = parse_method(name);
    m.def(
        name,
        [method](const py::object& sims_obj, const py::kwargs& params) {
          const py::array sims = f32_array(sims_obj, "sims", 2);
          AlignConfig config;
          config.method = method;
          parse_params(params, config);
          const SimMap map = checked_map(sims);
          std::vector<Box> boxes;
          {
            py::gil_scoped_release release;
            boxes = align(map, config);
          }
          return as_segments(boxes);
        },
        py::arg("sims"), py::pos_only(), method_doc(m, name, what));
  }

  m.def(
      "trim",
      [](const py::object& sims_obj, const py::object& boxes_obj, const py::kwargs& params) {
        const py::array sims = f32_array(sims_obj, "sims", 2);
        TrimParams trim;
        parse_trim_params(params, trim);
        if (!trim.trim_sim) throw py::value_error("trim needs trim_sim (a threshold > 0)");
        const SimMap map = checked_map(sims);
        std::vector<Box> boxes = as_boxes(boxes_obj);
        {
          py::gil_scoped_release release;
          boxes = trim_boxes(map, std::move(boxes), trim);
        }
        return as_segments(boxes);
      },
      py::arg("sims"), py::arg("boxes"), py::pos_only(),
      "Boxes (int64 (N, 4) [q_start, r_start, q_end, r_end]) on a (P, Q) float32 map cut to their heaviest "
      "chain of pairs >= trim_sim and rescored with its mean similarity -> (boxes, scores); keywords "
      "trim_sim (required) and trim_gap (see align_params()).");
}

}  // namespace vcdfast::bind
