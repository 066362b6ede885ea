#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast::bind {

namespace {

py::array_t<float> output_for(const py::object& out, py::ssize_t rows, py::ssize_t cols) {
  if (out.is_none()) return py::array_t<float>({rows, cols});
  auto arr = f32_array(out, "out", 2);
  if (arr.shape(0) != rows || arr.shape(1) != cols)
    throw py::value_error("out must have shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
  if (!arr.writeable()) throw py::value_error("out is read-only");
  return py::reinterpret_borrow<py::array_t<float>>(arr);
}

OutF32 as_out(py::array_t<float>& arr) {
  return {arr.mutable_data(), static_cast<std::size_t>(arr.shape(0)), static_cast<std::size_t>(arr.shape(1)),
          elem_stride(arr, 0)};
}

py::array_t<float> cosine(const py::object& q_obj, const py::object& r_obj, int num_threads, const py::object& out) {
  auto q = f32_array(q_obj, "q", 2);
  auto r = f32_array(r_obj, "r", 2);
  require_nonempty(q, "q");
  require_nonempty(r, "r");
  if (q.shape(1) != r.shape(1))
    throw py::value_error("q and r must have the same embedding dim, got " + std::to_string(q.shape(1)) + " and " +
                          std::to_string(r.shape(1)));
  checked_threads(num_threads);
  auto result = output_for(out, q.shape(0), r.shape(0));
  auto qm = as_matrix(q), rm = as_matrix(r);
  auto om = as_out(result);
  {
    py::gil_scoped_release release;
    cosine_matrix(qm, rm, om, num_threads);
  }
  return result;
}

py::array_t<float> chamfer(ChamferForm form, const py::object& q_obj, const py::object& r_obj, int num_threads,
                           const py::object& out) {
  auto q = f32_array(q_obj, "q", 3);
  auto r = f32_array(r_obj, "r", 3);
  require_nonempty(q, "q");
  require_nonempty(r, "r");
  if (q.shape(2) != r.shape(2))
    throw py::value_error("q and r must have the same embedding dim, got " + std::to_string(q.shape(2)) + " and " +
                          std::to_string(r.shape(2)));
  checked_threads(num_threads);
  auto result = output_for(out, q.shape(0), r.shape(0));
  auto qf = as_frames(q), rf = as_frames(r);
  auto om = as_out(result);
  {
    py::gil_scoped_release release;
    chamfer_matrix(form, qf, rf, om, num_threads);
  }
  return result;
}

}  // namespace

void register_similarity(py::module_& m) {
  m.def("cosine", &cosine, py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(),
        "(P, D) x (Q, D) float32 -> (P, Q) inner products (cosine for L2-normalised rows).");
  m.def("chamfer_asymmetric",
        [](const py::object& q, const py::object& r, int num_threads, const py::object& out) {
          return chamfer(ChamferForm::asymmetric, q, r, num_threads, out);
        },
        py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(), "ViSiL chamfer: out[p, q] = mean_v max_w <q[p, v], r[q, w]>.");
  m.def("chamfer_symmetric",
        [](const py::object& q, const py::object& r, int num_threads, const py::object& out) {
          return chamfer(ChamferForm::symmetric, q, r, num_threads, out);
        },
        py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(), "VCSL chamfer: (mean_v max_w S + mean_w max_v S) / 2.");
}

}  // namespace vcdfast::bind
