// Validation and zero-copy conversion of NumPy arrays for the bindings. Holds the GIL.
// Contract: float32, last axis contiguous, other strides non-negative multiples of 4 bytes.
// Nothing is converted silently: a wrong dtype is a TypeError, a wrong layout a ValueError,
// each with the fix in the message.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // shape messages cast std::vector; every binding TU must agree on it

#include <cstddef>
#include <string>

#include "vcdfast/align.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast::bind {
namespace py = pybind11;

inline std::string fix_hint(const char* name) {
  return std::string(" (pass np.ascontiguousarray(") + name + ", dtype=np.float32), or vcdfast.ensure_f32(" + name +
         "))";
}

// `obj` as a float32 array with `ndim` dimensions and element strides; raises otherwise.
inline py::array f32_array(const py::handle& obj, const char* name, py::ssize_t ndim) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))) + fix_hint(name));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  // Equivalence, not identity: an unpickled float32 array carries its own dtype object.
  if (!py::array_t<float>::check_(arr))
    throw py::type_error(std::string(name) + " must be float32, got " + std::string(py::str(arr.dtype())) +
                         fix_hint(name));
  if (arr.ndim() != ndim)
    throw py::value_error(std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got shape " +
                          std::string(py::str(py::tuple(py::cast(std::vector<py::ssize_t>(
                              arr.shape(), arr.shape() + arr.ndim()))))));
  // NumPy 2 gives empty arrays all-zero strides: leave them to require_nonempty's clearer message.
  for (py::ssize_t i = 0; i < ndim && arr.size() > 0; ++i) {
    const auto stride = arr.strides(i);
    const bool contiguous_last = i == ndim - 1 ? (stride == 4 || arr.shape(i) <= 1) : true;
    if (stride < 0 || stride % 4 != 0 || !contiguous_last)
      throw py::value_error(std::string(name) + " must have a contiguous last axis and non-negative strides" +
                            fix_hint(name));
  }
  return arr;
}

inline std::size_t elem_stride(const py::array& arr, py::ssize_t axis) {
  return arr.shape(axis) <= 1 ? 0 : static_cast<std::size_t>(arr.strides(axis) / 4);
}

inline void require_nonempty(const py::array& arr, const char* name) {
  if (arr.size() == 0)
    throw py::value_error(std::string(name) + " is empty (shape " +
                          std::string(py::str(py::tuple(py::cast(std::vector<py::ssize_t>(
                              arr.shape(), arr.shape() + arr.ndim()))))) +
                          "); every axis needs at least one element");
}

inline MatrixF32 as_matrix(const py::array& arr) {
  return {static_cast<const float*>(arr.data()), static_cast<std::size_t>(arr.shape(0)),
          static_cast<std::size_t>(arr.shape(1)), elem_stride(arr, 0)};
}

inline FramesF32 as_frames(const py::array& arr) {
  return {static_cast<const float*>(arr.data()), static_cast<std::size_t>(arr.shape(0)),
          static_cast<std::size_t>(arr.shape(1)), static_cast<std::size_t>(arr.shape(2)),
          elem_stride(arr, 0), elem_stride(arr, 1)};
}

inline SimMap as_simmap(const py::array& arr) {
  return {static_cast<const float*>(arr.data()), static_cast<std::size_t>(arr.shape(0)),
          static_cast<std::size_t>(arr.shape(1)), elem_stride(arr, 0)};
}

// Alignment result as (boxes int64 (N, 4) [q_start, r_start, q_end, r_end], scores float32 (N,)).
inline py::tuple as_segments(const std::vector<Box>& found) {
  const auto n = static_cast<py::ssize_t>(found.size());
  py::array_t<std::int64_t> boxes({n, py::ssize_t{4}});
  py::array_t<float> scores(n);
  auto b = boxes.mutable_unchecked<2>();
  auto s = scores.mutable_unchecked<1>();
  for (py::ssize_t k = 0; k < n; ++k) {
    const Box& box = found[static_cast<std::size_t>(k)];
    b(k, 0) = box.q_start;
    b(k, 1) = box.r_start;
    b(k, 2) = box.q_end;
    b(k, 3) = box.r_end;
    s(k) = box.score;
  }
  return py::make_tuple(boxes, scores);
}

// A query's bias for query_view_max: float32 (query frames, query views), like `query` (T, V, D).
inline py::array query_bias(const py::handle& obj, const py::array& query) {
  auto bias = f32_array(obj, "bias", 2);
  if (bias.shape(0) != query.shape(0) || bias.shape(1) != query.shape(1))
    throw py::value_error("bias must have shape (" + std::to_string(query.shape(0)) + ", " +
                          std::to_string(query.shape(1)) + "): one value per query frame and view, got (" +
                          std::to_string(bias.shape(0)) + ", " + std::to_string(bias.shape(1)) + ")");
  return bias;
}

// Boxes from Python: int64 (N, 4) [q_start, r_start, q_end, r_end] (copied: they are few).
inline std::vector<Box> as_boxes(const py::handle& obj) {
  if (!py::isinstance<py::array_t<std::int64_t>>(obj) || py::reinterpret_borrow<py::array>(obj).ndim() != 2 ||
      py::reinterpret_borrow<py::array>(obj).shape(1) != 4)
    throw py::type_error("boxes must be an int64 numpy array of shape (N, 4)");
  const auto arr = py::reinterpret_borrow<py::array_t<std::int64_t>>(obj).unchecked<2>();
  std::vector<Box> boxes(static_cast<std::size_t>(arr.shape(0)));
  for (py::ssize_t k = 0; k < arr.shape(0); ++k)
    boxes[static_cast<std::size_t>(k)] = {arr(k, 0), arr(k, 1), arr(k, 2), arr(k, 3), 0.0f};
  return boxes;
}

inline int checked_threads(int num_threads) {
  if (num_threads < 1) throw py::value_error("num_threads must be >= 1, got " + std::to_string(num_threads));
  return num_threads;
}

void register_similarity(py::module_& m);
void register_align(py::module_& m);
void register_align_batch(py::module_& m);

}  // namespace vcdfast::bind
