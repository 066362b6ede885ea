#include <algorithm>
#include <stdexcept>

#include "serial.hpp"
#include "vcdfast/simd.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {

void cosine_matrix(const MatrixF32& q, const MatrixF32& r, const OutF32& out, int num_threads) {
  if (q.dim != r.dim) throw std::invalid_argument("cosine_matrix: query and reference dims differ");
  if (out.rows != q.rows || out.cols != r.rows) throw std::invalid_argument("cosine_matrix: bad output shape");
  kernels::cosine_rows_f32_serial(q, r, out, 0, q.rows);
  (void)num_threads;
}

}  // namespace vcdfast
