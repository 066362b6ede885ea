#include "vcdfast/simd.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace vcdfast {
namespace {

bool cpu_has(SimdLevel level) noexcept {
#if VCDFAST_X86 && (defined(__GNUC__) || defined(__clang__))
  // libgcc's cpu model only reports AVX/AVX-512 when the OS saves their registers (XCR0).
  switch (level) {
    case SimdLevel::serial: return true;
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma");
  }
  return false;
#else
  return level == SimdLevel::serial;
#endif
}

std::atomic<int>& active_level_storage() {
  static std::atomic<int> level{static_cast<int>(best_simd_level())};
  return level;
}

}  // namespace

const char* simd_level_name(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::serial: return "serial";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "unknown";
}

std::optional<SimdLevel> parse_simd_level(std::string_view name) noexcept {
  for (int i = 0; i < kSimdLevelCount; ++i) {
    auto level = static_cast<SimdLevel>(i);
    if (name == simd_level_name(level)) return level;
  }
  return std::nullopt;
}

bool simd_level_supported(SimdLevel level) noexcept {
  if (level != SimdLevel::serial && !VCDFAST_X86) return false;
  return cpu_has(level);
}

std::vector<SimdLevel> supported_simd_levels() {
  std::vector<SimdLevel> levels;
  for (int i = 0; i < kSimdLevelCount; ++i)
    if (simd_level_supported(static_cast<SimdLevel>(i))) levels.push_back(static_cast<SimdLevel>(i));
  return levels;
}

SimdLevel best_simd_level() noexcept {
  for (int i = kSimdLevelCount - 1; i > 0; --i)
    if (simd_level_supported(static_cast<SimdLevel>(i))) return static_cast<SimdLevel>(i);
  return SimdLevel::serial;
}

SimdLevel active_simd_level() noexcept {
  return static_cast<SimdLevel>(active_level_storage().load(std::memory_order_relaxed));
}

void set_simd_level(SimdLevel level) {
  if (!simd_level_supported(level))
    throw std::invalid_argument(std::string("SIMD level '") + simd_level_name(level) +
                                "' is not supported on this CPU or not compiled in; see simd_levels()");
  active_level_storage().store(static_cast<int>(level), std::memory_order_relaxed);
}

void apply_simd_level_from_env() {
  const char* value = std::getenv("VCDFAST_SIMD_LEVEL");
  if (value == nullptr || *value == '\0') return;
  auto level = parse_simd_level(value);
  if (!level)
    throw std::invalid_argument(std::string("VCDFAST_SIMD_LEVEL='") + value +
                                "' is not a SIMD level; use serial, avx2 or avx512");
  if (!simd_level_supported(*level))
    throw std::invalid_argument(std::string("VCDFAST_SIMD_LEVEL='") + value +
                                "' is not supported on this CPU or not compiled in");
  set_simd_level(*level);
}

}  // namespace vcdfast
