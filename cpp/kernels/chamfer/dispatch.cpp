#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "../cosine/serial.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {

void chamfer_matrix(ChamferForm form, const FramesF32& q, const FramesF32& r, const OutF32& out, int num_threads) {
  if (q.dim != r.dim) throw std::invalid_argument("chamfer_matrix: query and reference dims differ");
  if (out.rows != q.frames || out.cols != r.frames) throw std::invalid_argument("chamfer_matrix: bad output shape");
  (void)num_threads;
  std::vector<float> colmax(r.views);
  for (std::size_t p = 0; p < q.frames; ++p)
    for (std::size_t j = 0; j < r.frames; ++j) {
      std::fill(colmax.begin(), colmax.end(), -std::numeric_limits<float>::infinity());
      float qr = 0.0f;
      for (std::size_t v = 0; v < q.views; ++v) {
        float rowmax = -std::numeric_limits<float>::infinity();
        for (std::size_t w = 0; w < r.views; ++w) {
          float s = kernels::dot_f32_serial(q.at(p, v), r.at(j, w), q.dim);
          rowmax = std::max(rowmax, s);
          colmax[w] = std::max(colmax[w], s);
        }
        qr += rowmax;
      }
      qr /= static_cast<float>(q.views);
      if (form == ChamferForm::asymmetric) {
        out.row(p)[j] = qr;
      } else {
        float rq = 0.0f;
        for (float m : colmax) rq += m;
        out.row(p)[j] = 0.5f * (qr + rq / static_cast<float>(r.views));
      }
    }
}

}  // namespace vcdfast
