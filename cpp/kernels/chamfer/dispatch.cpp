// chamfer_matrix: S = <q[p, v], r[j, w]> is computed one (query-frame block x reference-frame
// block) tile at a time with the cosine GEMM and reduced to frame pairs at once, so the
// (P, V, Q, W) tensor never exists. Baseline code: no ISA flags here.
#include <atomic>
#include <memory>
#include <stdexcept>

#include "../isa_kernels.hpp"
#include "../parallel.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {
namespace {

// Tile size trades scratch for GEMM efficiency: each tile packs its B columns once per k-block
// for all its rows, and its A rows once per k-block for all its columns, so packing per flop
// falls as 1/rows + 1/cols. 192 x 512 ran ~15% below the plain GEMM of the same product;
// 576 x 1536 is within ~5% (S tile 3.4 MiB, in L3).
constexpr std::size_t kTileRows = 576;   // query (frame, view) rows per tile: three GEMM row blocks
constexpr std::size_t kTileCols = 1536;  // reference (view, frame) columns per tile: A gets packed

// Frames per tile: at most per_tile / views (at least one), and equal-sized tiles so the last
// one is not a sliver (tiles are handed to threads one at a time).
std::size_t frames_per_tile(std::size_t per_tile, std::size_t views, std::size_t frames) {
  std::size_t f = per_tile / views;
  if (f < 1) f = 1;
  if (f >= frames) return frames;
  const std::size_t tiles = (frames + f - 1) / f;
  return (frames + tiles - 1) / tiles;
}

std::size_t tiles_of(std::size_t frames, std::size_t per_tile) { return (frames + per_tile - 1) / per_tile; }

// Equal tiles handed out one at a time leave a thread idle at the end when the team does not divide
// their count (400 frames, V = W = 9: 7 x 3 = 21 tiles on 2 threads, one thread does 11). Cuts one
// side into more tiles, at most twice as many, choosing the smallest count the team divides; keeps
// the tiling when none works. Every entry's arithmetic is independent of the tiling, so results
// stay bitwise independent of the thread count.
void balance_tiles(std::size_t team, std::size_t frames_q, std::size_t frames_r, std::size_t& mf, std::size_t& nf) {
  const std::size_t tq = tiles_of(frames_q, mf), tr = tiles_of(frames_r, nf);
  if (team <= 1 || tq * tr % team == 0) return;
  std::size_t best = 0, best_mf = mf, best_nf = nf;
  // cut one side (frames, tiles) into more tiles; the query side is tried first and keeps ties
  auto try_cuts = [&](std::size_t frames, std::size_t tiles, std::size_t other_tiles, bool query_side) {
    for (std::size_t n = tiles + 1; n <= 2 * tiles && n <= frames; ++n) {
      const std::size_t f = tiles_of(frames, n), items = tiles_of(frames, f) * other_tiles;
      if (items % team == 0 && (best == 0 || items < best)) {
        best = items;
        best_mf = query_side ? f : mf;
        best_nf = query_side ? nf : f;
      }
    }
  };
  try_cuts(frames_q, tq, tr, true);
  try_cuts(frames_r, tr, tq, false);
  mf = best_mf, nf = best_nf;
}

}  // namespace

void chamfer_matrix(ChamferForm form, const FramesF32& q, const FramesF32& r, const OutF32& out, int num_threads,
                    const MatrixF32& bias) {
  if (q.dim != r.dim) throw std::invalid_argument("chamfer_matrix: query and reference dims differ");
  if (out.rows != q.frames || out.cols != r.frames) throw std::invalid_argument("chamfer_matrix: bad output shape");
  if (num_threads < 1) throw std::invalid_argument("chamfer_matrix: num_threads must be >= 1");
  kernels::count_similarity_map();
  if (q.frames == 0 || r.frames == 0) return;
  if (q.views == 0 || r.views == 0) throw std::invalid_argument("chamfer_matrix: every frame needs at least one view");
  const bool biased = bias.data != nullptr;
  if (biased && form != ChamferForm::query_view_max)
    throw std::invalid_argument("chamfer_matrix: a bias is only defined for the query_view_max form");
  if (biased && (bias.rows != q.frames || bias.dim != q.views))
    throw std::invalid_argument("chamfer_matrix: the bias must be (query frames, query views)");
  const auto& kt = kernels::active_similarity_kernels();
  const int reduce_form = form == ChamferForm::asymmetric  ? kernels::kChamferAsymmetric
                          : form == ChamferForm::symmetric ? kernels::kChamferSymmetric
                                                           : kernels::kChamferQueryViewMax;

  const std::size_t V = q.views, W = r.views;
  std::size_t mf = frames_per_tile(kTileRows, V, q.frames), nf = frames_per_tile(kTileCols, W, r.frames);
  const std::size_t threads = kernels::team_size(num_threads, tiles_of(q.frames, mf) * tiles_of(r.frames, nf));
  balance_tiles(threads, q.frames, r.frames, mf, nf);
  const std::size_t rows = mf * V, cols = nf * W;
  const std::size_t blocks_r = tiles_of(r.frames, nf);
  const std::size_t items = tiles_of(q.frames, mf) * blocks_r;

  // Per-thread scratch, sized by the tile alone (independent of P and Q): the S tile, the
  // tile rows' bias in tile-row order (the caller's may be strided) and the GEMM's work.
  const std::size_t scratch = rows * cols + (biased ? rows : 0) + kt.gemm_nt_work_floats(cols);
  std::unique_ptr<float[]> floats(new float[threads * scratch]);
  std::unique_ptr<const float*[]> pointers(new const float*[threads * (rows + cols)]);
  std::atomic<std::size_t> next{0};

  kernels::run_threads(threads, [&](std::size_t t, std::size_t) {
    float* tile = floats.get() + t * scratch;
    float* tile_bias = biased ? tile + rows * cols : nullptr;
    float* work = tile + rows * cols + (biased ? rows : 0);
    const float** a = pointers.get() + t * (rows + cols);
    const float** b = a + rows;
    for (std::size_t item = next.fetch_add(1, std::memory_order_relaxed); item < items;
         item = next.fetch_add(1, std::memory_order_relaxed)) {
      const std::size_t p0 = item / blocks_r * mf, j0 = item % blocks_r * nf;
      const std::size_t fq = q.frames - p0 < mf ? q.frames - p0 : mf;
      const std::size_t fr = r.frames - j0 < nf ? r.frames - j0 : nf;
      for (std::size_t f = 0; f < fq; ++f)
        for (std::size_t v = 0; v < V; ++v) {
          a[f * V + v] = q.at(p0 + f, v);
          if (biased) tile_bias[f * V + v] = bias.row(p0 + f)[v];
        }
      for (std::size_t w = 0; w < W; ++w)  // view-major columns: see ChamferReduceFn
        for (std::size_t j = 0; j < fr; ++j) b[w * fr + j] = r.at(j0 + j, w);
      kt.gemm_nt(a, fq * V, b, fr * W, q.dim, tile, fr * W, work);
      kt.chamfer_reduce(tile, fr * W, fq, V, fr, W, reduce_form, tile_bias, out.row(p0) + j0, out.row_stride);
    }
  });
}

}  // namespace vcdfast
