// cosine_matrix (baseline code: no ISA flags here).
#include <memory>
#include <stdexcept>

#include "../isa_kernels.hpp"
#include "../parallel.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {

void cosine_matrix(const MatrixF32& q, const MatrixF32& r, const OutF32& out, int num_threads) {
  if (q.dim != r.dim) throw std::invalid_argument("cosine_matrix: query and reference dims differ");
  if (out.rows != q.rows || out.cols != r.rows) throw std::invalid_argument("cosine_matrix: bad output shape");
  if (num_threads < 1) throw std::invalid_argument("cosine_matrix: num_threads must be >= 1");
  kernels::count_similarity_map();
  if (q.rows == 0 || r.rows == 0) return;
  const auto& kt = kernels::active_similarity_kernels();

  std::unique_ptr<const float*[]> a_rows(new const float*[q.rows]), b_rows(new const float*[r.rows]);
  for (std::size_t i = 0; i < q.rows; ++i) a_rows[i] = q.row(i);
  for (std::size_t j = 0; j < r.rows; ++j) b_rows[j] = r.row(j);

  // Threads take contiguous blocks of the larger side in whole register tiles, as equal in tile
  // count as the division allows (a partial tile costs a whole one).
  const bool split_rows = q.rows >= r.rows;
  const std::size_t span = split_rows ? q.rows : r.rows;
  const std::size_t unit = split_rows ? kt.tile_rows : kt.tile_cols;
  const std::size_t tiles = (span + unit - 1) / unit;
  const std::size_t threads = kernels::team_size(num_threads, tiles);
  const std::size_t work_floats = kt.gemm_nt_work_floats(r.rows);
  std::unique_ptr<float[]> work(new float[threads * work_floats]);

  kernels::run_threads(threads, [&](std::size_t t, std::size_t team) {
    const std::size_t begin = t * tiles / team * unit;
    const std::size_t end = (t + 1) * tiles / team * unit;
    if (begin >= span) return;
    const std::size_t len = (end < span ? end : span) - begin;
    float* w = work.get() + t * work_floats;
    if (split_rows)
      kt.gemm_nt(a_rows.get() + begin, len, b_rows.get(), r.rows, q.dim, out.row(begin), out.row_stride, w);
    else
      kt.gemm_nt(a_rows.get(), q.rows, b_rows.get() + begin, len, q.dim, out.data + begin, out.row_stride, w);
  });
}

}  // namespace vcdfast
