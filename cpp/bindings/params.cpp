// The parameter table for Python (align_params, align_defaults) and the one parser of
// alignment keywords. Integers go through one function: __index__, saturating to int64.
#include "params.hpp"

#include <pybind11/stl.h>

#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace vcdfast::bind {
namespace {

constexpr std::string_view kMethods[] = {"tn", "hv", "dp", "dtw", "chain"};

std::string type_name(const py::handle& value) { return py::str(py::type::of(value).attr("__name__")); }

// A Python integer (anything with __index__ but bool; TypeError otherwise) as int64, saturating:
// every integer parameter is only compared with frame counts, so saturation is exact.
std::int64_t int_value(const py::handle& value, const std::string& what) {
  if (PyBool_Check(value.ptr()) || !PyIndex_Check(value.ptr()))
    throw py::type_error(what + " must be an int, got " + type_name(value));
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

// A real number (float, int or anything with __float__, but not bool or str); finiteness is the
// kernels' check.
double real_value(const py::handle& value, const std::string& what) {
  if (PyBool_Check(value.ptr()) || PyUnicode_Check(value.ptr()) || PyBytes_Check(value.ptr()))
    throw py::type_error(what + " must be a real number, got " + type_name(value));
  const double v = PyFloat_AsDouble(value.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::type_error(what + " must be a real number, got " + type_name(value));
  }
  return v;
}

// Sets the field of `params` named `name` from `value`, converted by the field's type.
template <class P>
bool assign(P& params, std::string_view name, const py::handle& value, const std::string& what) {
  bool found = false;
  for_each_param(params, [&](std::string_view field_name, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if (field_name != name) return;
    found = true;
    if constexpr (std::is_same_v<T, std::int64_t>) {
      field = int_value(value, what);
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      field = value.is_none() ? std::nullopt : std::optional<double>(real_value(value, what));
    } else {
      field = static_cast<T>(real_value(value, what));
    }
  });
  return found;
}

std::string valid_names(std::string_view method) {
  std::string out;
  for (const ParamSpec& spec : kAlignParams)
    if (spec.group == method || spec.group == "trim") out += (out.empty() ? "" : ", ") + std::string(spec.name);
  return out;
}

py::dict as_dict(const py::handle& params, std::string_view method) {
  if (params.is_none()) return py::dict();
  if (!py::isinstance<py::dict>(params))
    throw py::type_error("params must be a dict of " + std::string(method) + " parameters or None");
  return py::reinterpret_borrow<py::dict>(params);
}

std::string_view method_name(AlignMethod method) { return kMethods[static_cast<int>(method)]; }

// A default as Python shows it: an int, a float, or None (off).
py::object python_value(const ParamSpec& spec, double value) {
  if (value != value) return py::none();
  if (spec.kind == ParamKind::integer) return py::int_(static_cast<std::int64_t>(value));
  return py::float_(value);
}

py::dict defaults(const std::string& method, const std::string& preset) {
  parse_method(method);
  if (preset != "kernel" && preset != "query")
    throw py::value_error("preset must be 'kernel' or 'query', got '" + preset + "'");
  py::dict out;
  for (const ParamSpec& spec : kAlignParams) {
    if (spec.group != method && spec.group != "trim") continue;
    double value = spec.default_value;
    for (const QueryDefault& q : kQueryDefaults)
      if (preset == "query" && q.group == method && q.name == spec.name) value = q.value;
    out[py::str(std::string(spec.name))] = python_value(spec, value);
  }
  return out;
}

}  // namespace

AlignMethod parse_method(const std::string& name) {
  std::string names;
  for (std::size_t k = 0; k < std::size(kMethods); ++k) {
    if (name == kMethods[k]) return static_cast<AlignMethod>(k);
    names += (k ? ", '" : "'") + std::string(kMethods[k]) + "'";
  }
  throw py::value_error("method must be one of " + names + ", got '" + name + "'");
}

void parse_params(const py::handle& params, AlignConfig& config) {
  const std::string_view method = method_name(config.method);
  for (const auto& item : as_dict(params, method)) {
    const std::string key = py::str(item.first);
    const std::string what = std::string(method) + " parameter '" + key + "'";
    bool found = assign(config.trim, key, item.second, what);
    switch (config.method) {
      case AlignMethod::tn:
        found = found || assign(config.tn, key, item.second, what);
        break;
      case AlignMethod::hv:
        found = found || assign(config.hv, key, item.second, what);
        break;
      case AlignMethod::dp:
        found = found || assign(config.dp, key, item.second, what);
        break;
      case AlignMethod::dtw:
        found = found || assign(config.dtw, key, item.second, what);
        break;
      case AlignMethod::chain:
        found = found || assign(config.chain, key, item.second, what);
        break;
    }
    if (!found)
      throw py::type_error("unknown " + std::string(method) + " parameter '" + key +
                           "'; valid: " + valid_names(method));
  }
}

void parse_trim_params(const py::handle& params, TrimParams& trim) {
  for (const auto& item : as_dict(params, "trim")) {
    const std::string key = py::str(item.first);
    if (!assign(trim, key, item.second, "trim parameter '" + key + "'"))
      throw py::type_error("unknown trim parameter '" + key + "'; valid: trim_sim, trim_gap");
  }
}

void register_params(py::module_& m) {
  m.def("align_params", [] {
    py::list out;
    for (const ParamSpec& spec : kAlignParams) {
      py::dict row;
      row["group"] = std::string(spec.group);
      row["name"] = std::string(spec.name);
      row["kind"] = spec.kind == ParamKind::integer ? "int" : spec.kind == ParamKind::real ? "float" : "float or None";
      row["default"] = python_value(spec, spec.default_value);
      row["min"] = spec.lower == kNoBound ? py::object(py::none()) : python_value(spec, spec.lower);
      row["min_inclusive"] = !spec.lower_open;
      row["doc"] = std::string(spec.doc);
      out.append(row);
    }
    return out;
  }, "The table of alignment parameters: group (a method, 'trim' or 'norm'), name, kind, default, "
     "min (None: unbounded), min_inclusive, doc.");
  m.def("align_defaults", &defaults, py::arg("method"), py::kw_only(), py::arg("preset") = "kernel",
        "Every keyword `method` takes (its own and trimming's) with its default: preset 'kernel' is the "
        "single-pair functions' (VCSL's), 'query' is vcdfast.query's.");
}

}  // namespace vcdfast::bind
