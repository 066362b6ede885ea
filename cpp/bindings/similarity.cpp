// Bindings for cosine and the two chamfer forms: validate (dtype, layout, shapes, out=),
// release the GIL, call the kernels. NaN/inf are not rejected: they propagate (see
// cpp/kernels/cosine/README.md), so callers pay no extra pass over the inputs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast::bind {

namespace {

// Byte range [first, last) that an array with non-negative strides can touch.
std::pair<std::uintptr_t, std::uintptr_t> byte_extent(const py::array& arr) {
  auto first = reinterpret_cast<std::uintptr_t>(arr.data());
  std::uintptr_t last = first + static_cast<std::uintptr_t>(arr.itemsize());
  for (py::ssize_t a = 0; a < arr.ndim(); ++a)
    last += static_cast<std::uintptr_t>((arr.shape(a) - 1) * arr.strides(a));
  return {first, last};
}

bool may_overlap(const py::array& a, const py::array& b) {
  const auto ea = byte_extent(a), eb = byte_extent(b);
  return ea.first < eb.second && eb.first < ea.second;
}

// A fresh (rows, cols) array, or `out` once it is proven safe to write from several threads.
py::array_t<float> output_for(const py::object& out, py::ssize_t rows, py::ssize_t cols, const py::array& q,
                              const py::array& r) {
  if (out.is_none()) return py::array_t<float>({rows, cols});
  auto arr = f32_array(out, "out", 2);
  if (arr.shape(0) != rows || arr.shape(1) != cols)
    throw py::value_error("out must have shape (" + std::to_string(rows) + ", " + std::to_string(cols) + "), got (" +
                          std::to_string(arr.shape(0)) + ", " + std::to_string(arr.shape(1)) +
                          "); allocate it with np.empty((len(q), len(r)), dtype=np.float32)");
  if (!arr.writeable()) throw py::value_error("out is read-only; pass a writable array (out.flags.writeable)");
  if (rows > 1 && arr.strides(0) < cols * static_cast<py::ssize_t>(sizeof(float)))
    throw py::value_error("out rows overlap each other (row stride " + std::to_string(arr.strides(0)) +
                          " bytes); pass np.empty((len(q), len(r)), dtype=np.float32)");
  if (may_overlap(arr, q) || may_overlap(arr, r))
    throw py::value_error("out overlaps an input array; pass a separate output buffer");
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
  auto result = output_for(out, q.shape(0), r.shape(0), q, r);
  auto qm = as_matrix(q), rm = as_matrix(r);
  auto om = as_out(result);
  {
    py::gil_scoped_release release;
    cosine_matrix(qm, rm, om, num_threads);
  }
  return result;
}

py::array_t<float> chamfer(ChamferForm form, const py::object& q_obj, const py::object& r_obj, int num_threads,
                           const py::object& out, const py::object& bias_obj = py::none()) {
  auto q = f32_array(q_obj, "q", 3);
  auto r = f32_array(r_obj, "r", 3);
  require_nonempty(q, "q");
  require_nonempty(r, "r");
  if (q.shape(2) != r.shape(2))
    throw py::value_error("q and r must have the same embedding dim, got " + std::to_string(q.shape(2)) + " and " +
                          std::to_string(r.shape(2)));
  checked_threads(num_threads);
  const py::array bias = bias_obj.is_none() ? py::array() : query_bias(bias_obj, q);
  auto result = output_for(out, q.shape(0), r.shape(0), q, r);
  auto qf = as_frames(q), rf = as_frames(r);
  auto om = as_out(result);
  const MatrixF32 bm = bias_obj.is_none() ? MatrixF32{} : as_matrix(bias);
  {
    py::gil_scoped_release release;
    chamfer_matrix(form, qf, rf, om, num_threads, bm);
  }
  return result;
}

}  // namespace

void register_similarity(py::module_& m) {
  m.def("cosine", &cosine, py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(),
        "(P, D) x (Q, D) float32 -> (P, Q) float32 inner products (cosine for L2-normalised rows).\n"
        "Accumulated in float32 with FMA; NaN/inf propagate as in BLAS.");
  m.def("chamfer_asymmetric",
        [](const py::object& q, const py::object& r, int num_threads, const py::object& out) {
          return chamfer(ChamferForm::asymmetric, q, r, num_threads, out);
        },
        py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(), "(P, V, D) x (Q, W, D) float32 -> (P, Q): ViSiL chamfer, mean_v max_w <q[p, v], r[q, w]>.\n"
        "Any NaN in a frame pair's products gives NaN.");
  m.def("chamfer_symmetric",
        [](const py::object& q, const py::object& r, int num_threads, const py::object& out) {
          return chamfer(ChamferForm::symmetric, q, r, num_threads, out);
        },
        py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("num_threads") = 1,
        py::arg("out") = py::none(), "(P, V, D) x (Q, W, D) float32 -> (P, Q): VCSL chamfer, (mean_v max_w S + mean_w max_v S) / 2.\n"
        "Any NaN in a frame pair's products gives NaN.");
  m.def("similarity_maps_computed", &similarity_maps_computed,
        "Similarity maps computed in this process so far (every cosine / chamfer / query_view_max kernel call, "
        "the batch's included): a debug counter.");
  m.def("query_view_max",
        [](const py::object& q, const py::object& r, const py::object& bias, int num_threads, const py::object& out) {
          return chamfer(ChamferForm::query_view_max, q, r, num_threads, out, bias);
        },
        py::arg("q"), py::arg("r"), py::pos_only(), py::kw_only(), py::arg("bias") = py::none(),
        py::arg("num_threads") = 1, py::arg("out") = py::none(),
        "(P, V, D) x (Q, W, D) float32 -> (P, Q): max over the query's views, mean over the reference's,\n"
        "mean_w max_v (<q[p, v], r[j, w]> - bias[p, v]); bias: None or float32 (P, V).\n"
        "Any NaN in a frame pair's products or biases gives NaN.");
}

}  // namespace vcdfast::bind
