// Entry points of the per-ISA similarity kernels, and the table that picks them.
//
// Declarations only: this header is included by the ISA files (compiled with -mavx2 / -mavx512*)
// and by baseline code, so it must never define an inline function or instantiate a template
// (the linker could keep an ISA-flagged copy and call it from baseline code; STYLE.md §5).
// Operands are described by row-pointer tables so one GEMM serves cosine rows, chamfer views
// and any strided layout.
#pragma once
#include <cstddef>

namespace vcdfast::kernels {

// c[i * ldc + j] = <a_rows[i], b_rows[j]> over k floats, for i < m, j < n (float32, overwritten).
// `work` holds gemm_nt_work_floats(n) floats of scratch owned by the calling thread.
using GemmNtFn = void (*)(const float* const* a_rows, std::size_t m, const float* const* b_rows, std::size_t n,
                          std::size_t k, float* c, std::size_t ldc, float* work);
using GemmWorkFn = std::size_t (*)(std::size_t n);

// Which reduction a chamfer tile gets (the values of vcdfast::ChamferForm).
enum ChamferReduceForm : int { kChamferAsymmetric = 0, kChamferSymmetric = 1, kChamferQueryViewMax = 2 };

// Reduces one chamfer tile. Tile rows are (frame f, view v) -> f * views + v; tile columns are
// view-major (view w, frame j) -> w * frames_r + j, so both max-reductions run along j.
// out[f * ldo + j] = mean_v max_w S                         (asymmetric, ViSiL)
//                  = (mean_v max_w S + mean_w max_v S) / 2     (symmetric, VCSL)
//                  = max_w max_v (S - bias[f * views + v])    (query_view_max)
// `bias` (one float per tile row) is read by query_view_max only; nullptr means zeros.
// Any NaN among the S entries of a frame pair makes out NaN.
using ChamferReduceFn = void (*)(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                                 std::size_t frames_r, std::size_t views_r, int form, const float* bias,
                                 float* out, std::size_t ldo);

struct SimilarityKernels {
  GemmWorkFn gemm_nt_work_floats;
  GemmNtFn gemm_nt;
  ChamferReduceFn chamfer_reduce;
  std::size_t tile_rows, tile_cols;  // the GEMM's register tile (MR x NR): threads split on its edges
};

// The entry of the active SIMD level (vcdfast::active_simd_level()); defined in dispatch.cpp.
const SimilarityKernels& active_similarity_kernels() noexcept;

// Counts one similarity map (cosine_matrix or chamfer_matrix call): vcdfast::similarity_maps_computed().
void count_similarity_map() noexcept;

#if VCDFAST_X86
std::size_t gemm_nt_work_floats_avx2(std::size_t n);
void gemm_nt_f32_avx2(const float* const* a_rows, std::size_t m, const float* const* b_rows, std::size_t n,
                      std::size_t k, float* c, std::size_t ldc, float* work);
void chamfer_reduce_f32_avx2(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                             std::size_t frames_r, std::size_t views_r, int form, const float* bias, float* out,
                             std::size_t ldo);

std::size_t gemm_nt_work_floats_avx512(std::size_t n);
void gemm_nt_f32_avx512(const float* const* a_rows, std::size_t m, const float* const* b_rows, std::size_t n,
                        std::size_t k, float* c, std::size_t ldc, float* work);
void chamfer_reduce_f32_avx512(const float* tile, std::size_t ldt, std::size_t frames_q, std::size_t views,
                               std::size_t frames_r, std::size_t views_r, int form, const float* bias,
                               float* out, std::size_t ldo);
#endif

}  // namespace vcdfast::kernels
