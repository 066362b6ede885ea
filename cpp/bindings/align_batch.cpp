// Bindings for DP, DTW and the batch entry point: validate, convert without copying,
// release the GIL, wrap results.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "vcdfast/align_batch.hpp"

namespace vcdfast::bind {
namespace {

// Set from any Python thread while align_batch runs with the GIL released; the batch
// polls it between pairs and raises vcdfast.CancelledError.
struct CancelToken {
  std::atomic<bool> flag{false};
};

py::array checked_map(const py::object& obj) {
  auto sims = f32_array(obj, "sims", 2);
  require_nonempty(sims, "sims");
  require_finite(sims, "sims");
  return sims;
}

py::tuple dp(const py::object& sims_obj, std::int64_t discontinue, double min_sim, double ave_sim,
             std::int64_t min_length, std::int64_t diagonal_thres) {
  auto sims = checked_map(sims_obj);
  const DpParams params{discontinue, static_cast<float>(min_sim), static_cast<float>(ave_sim), min_length,
                        diagonal_thres};
  const SimMap map = as_simmap(sims);
  std::vector<Box> found;
  {
    py::gil_scoped_release release;
    found = align_dp(map, params);
  }
  return as_segments(found);
}

py::tuple dtw(const py::object& sims_obj, std::int64_t discontinue, double min_sim, std::int64_t min_length) {
  auto sims = checked_map(sims_obj);
  const DtwParams params{discontinue, static_cast<float>(min_sim), min_length};
  const SimMap map = as_simmap(sims);
  std::vector<Box> found;
  {
    py::gil_scoped_release release;
    found = align_dtw(map, params);
  }
  return as_segments(found);
}

// A float32 default as the shortest decimal that rounds back to it (0.3, not 0.30000001192...),
// so signatures and docs show the number people wrote.
double shown(float value) {
  for (int digits = 1; digits < 9; ++digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(value));
    const double shortest = std::strtod(text, nullptr);
    if (static_cast<float>(shortest) == value) return shortest;
  }
  return value;
}

// --- method parameters given as a dict whose keys are the single-pair keywords ---

template <class Params>
struct Field {
  const char* name;
  std::int64_t Params::*int_field;
  float Params::*float_field;
  double Params::*double_field;
};

template <class Params>
Field<Params> int_field(const char* name, std::int64_t Params::*f) {
  return {name, f, nullptr, nullptr};
}
template <class Params>
Field<Params> float_field(const char* name, float Params::*f) {
  return {name, nullptr, f, nullptr};
}
template <class Params>
Field<Params> double_field(const char* name, double Params::*f) {
  return {name, nullptr, nullptr, f};
}

double real_value(const py::handle& value, const std::string& what) {
  if (PyBool_Check(value.ptr()) || !(py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)))
    throw py::type_error(what + " must be a real number, got " +
                         std::string(py::str(py::type::of(value).attr("__name__"))));
  const double v = value.cast<double>();
  if (!std::isfinite(v)) throw py::value_error(what + " must be finite, got " + std::to_string(v));
  return v;
}

template <class Params>
Params parse_params(const py::object& given, const char* method, const std::vector<Field<Params>>& fields) {
  Params params;
  if (given.is_none()) return params;
  if (!py::isinstance<py::dict>(given))
    throw py::type_error(std::string("params must be a dict of ") + method + " parameters or None");
  std::string valid;
  for (const auto& f : fields) valid += std::string(valid.empty() ? "" : ", ") + f.name;
  for (const auto& item : py::reinterpret_borrow<py::dict>(given)) {
    const std::string key = py::str(item.first);
    const std::string what = std::string(method) + " parameter '" + key + "'";
    const Field<Params>* field = nullptr;
    for (const auto& f : fields)
      if (key == f.name) field = &f;
    if (field == nullptr)
      throw py::type_error("unknown " + std::string(method) + " parameter '" + key + "'; valid: " + valid);
    if (field->int_field != nullptr) {
      if (PyBool_Check(item.second.ptr()) || !py::isinstance<py::int_>(item.second))
        throw py::type_error(what + " must be an int, got " +
                             std::string(py::str(py::type::of(item.second).attr("__name__"))));
      params.*(field->int_field) = item.second.cast<std::int64_t>();
    } else if (field->float_field != nullptr) {
      params.*(field->float_field) = static_cast<float>(real_value(item.second, what));
    } else {
      params.*(field->double_field) = real_value(item.second, what);
    }
  }
  return params;
}

void parse_method(const std::string& method, const py::object& params, AlignConfig& config) {
  if (method == "tn") {
    config.method = AlignMethod::tn;
    config.tn = parse_params<TnParams>(
        params, "tn",
        {int_field("max_step", &TnParams::max_step), int_field("top_k", &TnParams::top_k),
         int_field("max_path", &TnParams::max_path), double_field("min_sim", &TnParams::min_sim),
         int_field("min_length", &TnParams::min_length), double_field("max_iou", &TnParams::max_iou)});
  } else if (method == "hv") {
    config.method = AlignMethod::hv;
    config.hv = parse_params<HvParams>(params, "hv",
                                       {double_field("iou_thresh", &HvParams::iou_thresh),
                                        double_field("min_sim", &HvParams::min_sim),
                                        int_field("max_peaks", &HvParams::max_peaks)});
  } else if (method == "dp") {
    config.method = AlignMethod::dp;
    config.dp = parse_params<DpParams>(
        params, "dp",
        {int_field("discontinue", &DpParams::discontinue), float_field("min_sim", &DpParams::min_sim),
         float_field("ave_sim", &DpParams::ave_sim), int_field("min_length", &DpParams::min_length),
         int_field("diagonal_thres", &DpParams::diagonal_thres)});
  } else if (method == "dtw") {
    config.method = AlignMethod::dtw;
    config.dtw = parse_params<DtwParams>(params, "dtw",
                                         {int_field("discontinue", &DtwParams::discontinue),
                                          float_field("min_sim", &DtwParams::min_sim),
                                          int_field("min_length", &DtwParams::min_length)});
  } else {
    throw py::value_error("method must be one of 'tn', 'hv', 'dp', 'dtw', got '" + method + "'");
  }
}

SimilarityKind parse_similarity(const std::string& name) {
  if (name == "cosine") return SimilarityKind::cosine;
  if (name == "chamfer_symmetric") return SimilarityKind::chamfer_symmetric;
  if (name == "chamfer_asymmetric") return SimilarityKind::chamfer_asymmetric;
  if (name == "query_view_max") return SimilarityKind::query_view_max;
  throw py::value_error(
      "similarity must be one of 'cosine', 'chamfer_symmetric', 'chamfer_asymmetric', 'query_view_max', got '" + name +
      "'");
}

// (T, V, D) float32, non-empty, finite; for cosine V must be 1.
py::array checked_frames(const py::handle& obj, const std::string& name, SimilarityKind kind) {
  auto arr = f32_array(obj, name.c_str(), 3);
  require_nonempty(arr, name.c_str());
  if (kind == SimilarityKind::cosine && arr.shape(1) != 1)
    throw py::value_error(name + " has " + std::to_string(arr.shape(1)) +
                          " views per frame; similarity='cosine' needs exactly 1 (use a chamfer similarity)");
  require_finite(arr, name.c_str());
  return arr;
}

py::list align_batch_py(const py::object& query_obj, const py::object& refs_obj, const std::string& similarity,
                        const std::string& method, const py::object& params, bool normalize,
                        std::pair<double, double> norm_bounds, const py::object& bias_obj, int num_threads,
                        const py::object& cancel_obj) {
  AlignConfig config;
  config.similarity = parse_similarity(similarity);
  parse_method(method, params, config);
  config.normalize = normalize;
  config.norm_lower = static_cast<float>(norm_bounds.first);
  config.norm_upper = static_cast<float>(norm_bounds.second);
  if (normalize && !(std::isfinite(norm_bounds.first) && std::isfinite(norm_bounds.second) &&
                     config.norm_lower < config.norm_upper))
    throw py::value_error("norm_bounds must be finite with lower < upper, got (" + std::to_string(norm_bounds.first) +
                          ", " + std::to_string(norm_bounds.second) + ")");
  checked_threads(num_threads);
  if (!cancel_obj.is_none() && !py::isinstance<CancelToken>(cancel_obj))
    throw py::type_error("cancel must be a vcdfast.CancelToken or None");
  const CancelToken* token = cancel_obj.is_none() ? nullptr : &cancel_obj.cast<const CancelToken&>();

  auto query = checked_frames(query_obj, "query", config.similarity);
  if (!bias_obj.is_none() && config.similarity != SimilarityKind::query_view_max)
    throw py::value_error("bias needs similarity='query_view_max' (it is subtracted before the max over query views)");
  py::array bias = bias_obj.is_none() ? py::array() : query_bias(bias_obj, query);
  if (!bias_obj.is_none()) require_finite(bias, "bias");
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

  const FramesF32 q = as_frames(query);
  std::vector<std::vector<Box>> found;
  {
    py::gil_scoped_release release;
    found = align_batch(q, refs, config, num_threads, token == nullptr ? nullptr : &token->flag,
                        bias_obj.is_none() ? MatrixF32{} : as_matrix(bias));
  }
  py::list out;
  for (const auto& boxes : found) out.append(as_segments(boxes));
  return out;
}

}  // namespace

void register_align_batch(py::module_& m) {
  py::class_<CancelToken>(m, "CancelToken",
                          "Pass to align_batch(cancel=...); cancel() from any thread stops the batch between pairs "
                          "with vcdfast.CancelledError.")
      .def(py::init<>())
      .def("cancel", [](CancelToken& t) { t.flag.store(true); }, "Ask the batch to stop.")
      .def_property_readonly("cancelled", [](const CancelToken& t) { return t.flag.load(); });

  const DpParams dp_defaults;
  m.def("dp", &dp, py::arg("sims"), py::pos_only(), py::kw_only(), py::arg("discontinue") = dp_defaults.discontinue,
        py::arg("min_sim") = shown(dp_defaults.min_sim), py::arg("ave_sim") = shown(dp_defaults.ave_sim),
        py::arg("min_length") = dp_defaults.min_length, py::arg("diagonal_thres") = dp_defaults.diagonal_thres,
        "VCSL's DP alignment of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)). "
        "min_sim and ave_sim apply to sims + 1, as in VCSL.");
  const DtwParams dtw_defaults;
  m.def("dtw", &dtw, py::arg("sims"), py::pos_only(), py::kw_only(), py::arg("discontinue") = dtw_defaults.discontinue,
        py::arg("min_sim") = shown(dtw_defaults.min_sim), py::arg("min_length") = dtw_defaults.min_length,
        "VCSL's DTW alignment of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).");
  const AlignConfig defaults;
  m.def("align_batch", &align_batch_py, py::arg("query"), py::arg("refs"), py::pos_only(), py::kw_only(),
        py::arg("similarity") = "cosine", py::arg("method") = "tn", py::arg("params") = py::none(),
        py::arg("normalize") = false,
        py::arg("norm_bounds") = std::make_pair(shown(defaults.norm_lower), shown(defaults.norm_upper)),
        py::arg("bias") = py::none(), py::arg("num_threads") = 1, py::arg("cancel") = py::none(),
        "One (T, V, D) query against many references: similarity + alignment per pair, pairs in parallel with "
        "the GIL released -> list of (boxes, scores).");
}

}  // namespace vcdfast::bind
