#include "vcdfast/simd.hpp"

#if VCDFAST_OPENMP
#include <omp.h>
#endif

namespace vcdfast {

BuildInfo build_info() {
  BuildInfo info;
  info.version = VCDFAST_VERSION;
  info.compiler = VCDFAST_COMPILER;
  info.build_type = VCDFAST_BUILD_TYPE;
  info.sanitizer = VCDFAST_SANITIZER;
  info.native = VCDFAST_NATIVE_BUILD;
#if VCDFAST_OPENMP
  info.openmp = true;
  info.openmp_max_threads = omp_get_max_threads();
#endif
  info.compiled_levels.push_back(simd_level_name(SimdLevel::serial));
#if VCDFAST_X86
  info.compiled_levels.push_back(simd_level_name(SimdLevel::avx2));
  info.compiled_levels.push_back(simd_level_name(SimdLevel::avx512));
#endif
  return info;
}

}  // namespace vcdfast
