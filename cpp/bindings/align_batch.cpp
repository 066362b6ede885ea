// The batch entry point and its cancel token: validate the query and every reference (dtype,
// layout, shapes), parse the options, release the GIL for the whole batch, wrap the results.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "params.hpp"
#include "vcdfast/align_batch.hpp"

namespace vcdfast::bind {
namespace {

// Set from any Python thread while align_batch runs with the GIL released; the batch
// polls it between pairs and raises vcdfast.CancelledError.
struct CancelToken {
  std::atomic<bool> flag{false};
};

SimilarityKind parse_similarity(const std::string& name) {
  if (name == "cosine") return SimilarityKind::cosine;
  if (name == "chamfer_symmetric") return SimilarityKind::chamfer_symmetric;
  if (name == "chamfer_asymmetric") return SimilarityKind::chamfer_asymmetric;
  if (name == "query_view_max") return SimilarityKind::query_view_max;
  throw py::value_error(
      "similarity must be one of 'cosine', 'chamfer_symmetric', 'chamfer_asymmetric', 'query_view_max', got '" + name +
      "'");
}

// (T, V, D) float32, non-empty; for cosine V must be 1. Finiteness is the batch's own check.
py::array checked_frames(const py::handle& obj, const std::string& name, SimilarityKind kind) {
  auto arr = f32_array(obj, name.c_str(), 3);
  require_nonempty(arr, name.c_str());
  if (kind == SimilarityKind::cosine && arr.shape(1) != 1)
    throw py::value_error(name + " has " + std::to_string(arr.shape(1)) +
                          " views per frame; similarity='cosine' needs exactly 1 (use a chamfer similarity)");
  return arr;
}

py::object align_batch_py(const py::object& query_obj, const py::object& refs_obj, const std::string& similarity,
                          const std::string& method, const py::object& params, bool normalize,
                          const std::optional<std::pair<double, double>>& norm_bounds, const py::object& bias_obj,
                          int num_threads, const py::object& cancel_obj, bool return_maps) {
  BatchConfig config;
  config.similarity = parse_similarity(similarity);
  config.align.method = parse_method(method);
  parse_params(params, config.align);
  config.normalize = normalize;
  if (norm_bounds) {
    config.norm_lower = static_cast<float>(norm_bounds->first);
    config.norm_upper = static_cast<float>(norm_bounds->second);
  }
  checked_threads(num_threads);
  if (!cancel_obj.is_none() && !py::isinstance<CancelToken>(cancel_obj))
    throw py::type_error("cancel must be a vcdfast.CancelToken or None");
  const CancelToken* token = cancel_obj.is_none() ? nullptr : &cancel_obj.cast<const CancelToken&>();

  auto query = checked_frames(query_obj, "query", config.similarity);
  if (!bias_obj.is_none() && config.similarity != SimilarityKind::query_view_max)
    throw py::value_error("bias needs similarity='query_view_max' (it is subtracted before the max over query views)");
  const py::array bias = bias_obj.is_none() ? py::array() : query_bias(bias_obj, query);
  if (!py::isinstance<py::list>(refs_obj) && !py::isinstance<py::tuple>(refs_obj))
    throw py::type_error("refs must be a list or tuple of (T, V, D) float32 arrays");
  const auto refs_seq = py::reinterpret_borrow<py::sequence>(refs_obj);
  std::vector<py::array> keep_alive;
  std::vector<FramesF32> refs;
  keep_alive.reserve(refs_seq.size());
  refs.reserve(refs_seq.size());
  for (std::size_t k = 0; k < refs_seq.size(); ++k) {
    const std::string name = "refs[" + std::to_string(k) + "]";
    auto ref = checked_frames(refs_seq[k], name, config.similarity);
    if (ref.shape(2) != query.shape(2))
      throw py::value_error(name + " has embedding dim " + std::to_string(ref.shape(2)) + ", the query has " +
                            std::to_string(query.shape(2)) + "; embed both with the same model");
    refs.push_back(as_frames(ref));
    keep_alive.push_back(std::move(ref));
  }
  std::vector<py::array_t<float>> maps;
  std::vector<OutF32> map_outs;
  if (return_maps)
    for (const FramesF32& ref : refs) {
      maps.emplace_back(std::vector<py::ssize_t>{query.shape(0), static_cast<py::ssize_t>(ref.frames)});
      map_outs.push_back({maps.back().mutable_data(), ref.frames ? static_cast<std::size_t>(query.shape(0)) : 0,
                          ref.frames, ref.frames});
    }

  const FramesF32 q = as_frames(query);
  const MatrixF32 b = bias_obj.is_none() ? MatrixF32{} : as_matrix(bias);
  std::vector<std::vector<Box>> found;
  {
    py::gil_scoped_release release;
    found = align_batch(q, refs, config, num_threads, token == nullptr ? nullptr : &token->flag, b,
                        return_maps ? &map_outs : nullptr);
  }
  py::list segments;
  for (const auto& boxes : found) segments.append(as_segments(boxes));
  if (!return_maps) return std::move(segments);
  return py::make_tuple(segments, py::cast(maps));
}

}  // namespace

void register_align_batch(py::module_& m) {
  py::class_<CancelToken>(m, "CancelToken",
                          "Pass to align_batch(cancel=...); cancel() from any thread stops the batch between pairs "
                          "with vcdfast.CancelledError.")
      .def(py::init<>())
      .def("cancel", [](CancelToken& t) { t.flag.store(true); }, "Ask the batch to stop.")
      .def_property_readonly("cancelled", [](const CancelToken& t) { return t.flag.load(); });

  m.def("align_batch", &align_batch_py, py::arg("query"), py::arg("refs"), py::pos_only(), py::kw_only(),
        py::arg("similarity") = "cosine", py::arg("method") = "tn", py::arg("params") = py::none(),
        py::arg("normalize") = false, py::arg("norm_bounds") = py::none(), py::arg("bias") = py::none(),
        py::arg("num_threads") = 1, py::arg("cancel") = py::none(), py::arg("return_maps") = false,
        "One (T, V, D) query against many references: similarity + alignment (+ trimming) per pair, pairs in "
        "parallel with the GIL released -> list of (boxes, scores); with return_maps, (that list, the maps). "
        "params: the method's and trimming's keywords (align_defaults); norm_bounds None: the table's.");
}

}  // namespace vcdfast::bind
