// Run-time SIMD level: detected once, forceable by VCDFAST_SIMD_LEVEL or set_simd_level().
// Kernels read the active level with one relaxed atomic load per call and index a
// dispatch table that was filled at static-initialisation time.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vcdfast {

enum class SimdLevel : int { serial = 0, avx2 = 1, avx512 = 2 };
inline constexpr int kSimdLevelCount = 3;

const char* simd_level_name(SimdLevel level) noexcept;
std::optional<SimdLevel> parse_simd_level(std::string_view name) noexcept;

// Compiled into this build and supported by this CPU (and OS, for AVX state saving).
bool simd_level_supported(SimdLevel level) noexcept;
std::vector<SimdLevel> supported_simd_levels();
SimdLevel best_simd_level() noexcept;

SimdLevel active_simd_level() noexcept;
// Throws std::invalid_argument when the level is not supported here.
void set_simd_level(SimdLevel level);
// Applies VCDFAST_SIMD_LEVEL if set; throws std::invalid_argument naming the variable when
// its value is unknown or unsupported. Called once by the extension module on import.
void apply_simd_level_from_env();

struct BuildInfo {
  std::string version, compiler, build_type, sanitizer;
  bool openmp = false;
  bool native = false;
  int openmp_max_threads = 1;
  std::vector<std::string> compiled_levels;
};
BuildInfo build_info();

}  // namespace vcdfast
