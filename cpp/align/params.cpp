// Range checks against the table of alignment parameters (vcdfast/align_params.hpp).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vcdfast/align_params.hpp"

namespace vcdfast {
namespace {

// The shortest decimal that reads back as `v` (0.3, not 0.29999999999999999).
std::string number(double v) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

[[noreturn]] void out_of_range(const ParamSpec& spec, const std::string& got) {
  std::string need = spec.kind == ParamKind::integer ? "" : "finite";
  if (spec.lower != kNoBound)
    need += std::string(need.empty() ? "" : " and ") + (spec.lower_open ? "> " : ">= ") + number(spec.lower);
  throw std::invalid_argument(std::string(spec.group) + ": " + std::string(spec.name) + " must be " + need +
                              ", got " + got);
}

}  // namespace

void check_param(std::string_view group, std::string_view name, std::int64_t value) {
  const ParamSpec& spec = param_spec(group, name);
  if (!in_range(spec, static_cast<double>(value))) out_of_range(spec, std::to_string(value));
}

void check_param(std::string_view group, std::string_view name, double value) {
  const ParamSpec& spec = param_spec(group, name);
  if (!in_range(spec, value)) out_of_range(spec, number(value));
}

void check_param(std::string_view group, std::string_view name, const std::optional<double>& value) {
  if (value) check_param(group, name, *value);
}

}  // namespace vcdfast
