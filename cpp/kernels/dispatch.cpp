// The similarity kernels' dispatch table, one entry per SIMD level (baseline code: no ISA flags
// here), and the count of similarity maps computed.
#include <atomic>
#include <cstdint>

#include "chamfer/serial.hpp"
#include "cosine/serial.hpp"
#include "isa_kernels.hpp"
#include "vcdfast/simd.hpp"
#include "vcdfast/similarity.hpp"

namespace vcdfast {
namespace kernels {
namespace {

// Filled at compile time (constant initialisation), indexed by SimdLevel; never reassigned.
constexpr SimilarityKernels kTable[kSimdLevelCount] = {
    {gemm_nt_work_floats_serial, gemm_nt_f32_serial, chamfer_reduce_f32_serial, 4, 4},
#if VCDFAST_X86
    {gemm_nt_work_floats_avx2, gemm_nt_f32_avx2, chamfer_reduce_f32_avx2, 6, 16},
    {gemm_nt_work_floats_avx512, gemm_nt_f32_avx512, chamfer_reduce_f32_avx512, 8, 32},
#else  // unreachable: set_simd_level only accepts supported levels
    {gemm_nt_work_floats_serial, gemm_nt_f32_serial, chamfer_reduce_f32_serial, 4, 4},
    {gemm_nt_work_floats_serial, gemm_nt_f32_serial, chamfer_reduce_f32_serial, 4, 4},
#endif
};

}  // namespace

const SimilarityKernels& active_similarity_kernels() noexcept {
  return kTable[static_cast<int>(active_simd_level())];
}

namespace {
std::atomic<std::uint64_t> maps_computed{0};
}  // namespace

void count_similarity_map() noexcept { maps_computed.fetch_add(1, std::memory_order_relaxed); }

}  // namespace kernels

std::uint64_t similarity_maps_computed() noexcept { return kernels::maps_computed.load(std::memory_order_relaxed); }

}  // namespace vcdfast
