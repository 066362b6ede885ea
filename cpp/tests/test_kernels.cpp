// C++ tests of the kernels, without Python: similarity (every SIMD level this host supports)
// against naive double-precision references, the alignment kernels' NaN and parameter checks,
// trimming against a naive chain search, and the batch. Run by ctest (.ci/run); the Python
// property tests (tests/) sweep far more shapes, these guard the C++ API itself.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "vcdfast/align.hpp"
#include "vcdfast/align_batch.hpp"
#include "vcdfast/errors.hpp"
#include "vcdfast/simd.hpp"
#include "vcdfast/similarity.hpp"

namespace {

using vcdfast::Box;
using vcdfast::FramesF32;

std::vector<float> uniform(std::size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& x : out) x = dist(rng);
  return out;
}

FramesF32 frames(const std::vector<float>& data, std::size_t n, std::size_t views, std::size_t dim) {
  return {data.data(), n, views, dim, views * dim, dim};
}

double gamma(std::size_t n) {
  const double u = std::ldexp(1.0, -24);
  return static_cast<double>(n) * u / (1 - static_cast<double>(n) * u);
}

enum class Form { asymmetric, symmetric, query_view_max };

// out[p, j] by the definition in cpp/kernels/chamfer/README.md, in double; `bound` gets the
// error bound of tests/test_query_view_max.py (gamma(D + V + W + 5) * (A + |b|)).
double chamfer_ref(Form form, const FramesF32& q, const FramesF32& r, const float* bias, std::size_t p, std::size_t j,
                   double& bound) {
  const std::size_t V = q.views, W = r.views, D = q.dim;
  auto s = [&](std::size_t v, std::size_t w) {
    double acc = 0.0;
    for (std::size_t d = 0; d < D; ++d) acc += static_cast<double>(q.at(p, v)[d]) * r.at(j, w)[d];
    return acc - (bias ? bias[p * V + v] : 0.0);
  };
  double a_max = 0.0, b_max = 0.0;
  for (std::size_t v = 0; v < V; ++v) {
    b_max = std::max(b_max, bias ? std::fabs(static_cast<double>(bias[p * V + v])) : 0.0);
    for (std::size_t w = 0; w < W; ++w) {
      double a = 0.0;
      for (std::size_t d = 0; d < D; ++d) a += std::fabs(static_cast<double>(q.at(p, v)[d]) * r.at(j, w)[d]);
      a_max = std::max(a_max, a);
    }
  }
  bound = gamma(D + V + W + 5) * (a_max + b_max) + 1e-40;
  double q_to_r = 0.0, r_to_q = 0.0, best = -std::numeric_limits<double>::infinity();
  for (std::size_t v = 0; v < V; ++v) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t w = 0; w < W; ++w) m = std::max(m, s(v, w));
    q_to_r += m / static_cast<double>(V);
    best = std::max(best, m);
  }
  for (std::size_t w = 0; w < W; ++w) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t v = 0; v < V; ++v) m = std::max(m, s(v, w));
    r_to_q += m / static_cast<double>(W);
  }
  return form == Form::asymmetric ? q_to_r : form == Form::symmetric ? (q_to_r + r_to_q) / 2 : best;
}

template <class F>
void at_every_level(F&& body) {
  const vcdfast::SimdLevel previous = vcdfast::active_simd_level();
  for (vcdfast::SimdLevel level : vcdfast::supported_simd_levels()) {
    vcdfast::set_simd_level(level);
    body();
  }
  vcdfast::set_simd_level(previous);
}

// The heaviest chain by trying every predecessor of every cell (tests/reference.py
// chain_extent_ref, the same tie order): q0, r0, q1, r1, score.
std::optional<Box> chain_ref(const std::vector<float>& sim, std::size_t rows, std::size_t cols, double trim_sim,
                             std::int64_t gap) {
  std::vector<double> weight(rows * cols, 0.0);
  std::vector<std::size_t> start(rows * cols), length(rows * cols);
  double best = 0.0;
  std::int64_t best_span = 0;
  std::optional<std::size_t> end;
  std::vector<std::int64_t> column_order{1, 0};  // ties: the diagonal, the same column, then further left
  for (std::int64_t d = 2; d <= gap; ++d) column_order.push_back(d);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      if (!(sim[i * cols + j] >= static_cast<float>(trim_sim))) continue;
      double prev = 0.0;
      std::size_t prev_start = i * cols + j, prev_length = 0;
      for (const std::int64_t d : column_order)
        for (std::int64_t i2 = static_cast<std::int64_t>(i) - gap; i2 < static_cast<std::int64_t>(i); ++i2) {
          const std::int64_t j2 = static_cast<std::int64_t>(j) - d;
          if (i2 < 0 || j2 < 0) continue;
          const std::size_t c = static_cast<std::size_t>(i2) * cols + static_cast<std::size_t>(j2);
          if (weight[c] > prev) prev = weight[c], prev_start = start[c], prev_length = length[c];
        }
      const std::size_t c = i * cols + j;
      weight[c] = static_cast<double>(sim[c]) + prev;
      start[c] = prev_start;
      length[c] = prev_length + 1;
      // equal weights: the box wider on its narrower axis, then the first in row-major order
      const auto span = static_cast<std::int64_t>(std::min(i - start[c] / cols, j - start[c] % cols)) + 1;
      if (weight[c] > best || (weight[c] == best && best > 0.0 && span > best_span))
        best = weight[c], best_span = span, end = c;
    }
  if (!end) return std::nullopt;
  const auto s = static_cast<std::int64_t>(start[*end]), e = static_cast<std::int64_t>(*end);
  const auto c = static_cast<std::int64_t>(cols);
  return Box{s / c, s % c, e / c, e % c, static_cast<float>(best / static_cast<double>(length[*end]))};
}

bool same(const std::vector<Box>& a, const std::vector<Box>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k].q_start != b[k].q_start || a[k].r_start != b[k].r_start || a[k].q_end != b[k].q_end ||
        a[k].r_end != b[k].r_end || a[k].score != b[k].score)
      return false;
  return true;
}

// A query and references that copy a stretch of it with noise (unit rows, one view).
struct Videos {
  std::vector<float> query;
  std::vector<std::vector<float>> refs;
  std::vector<std::size_t> lengths{30, 1, 45, 12};
  static constexpr std::size_t kFrames = 40, kDim = 16;
  Videos() {
    std::mt19937 rng(7);
    auto unit = [](float* x) {
      double n = 0.0;
      for (std::size_t d = 0; d < kDim; ++d) n += static_cast<double>(x[d]) * x[d];
      for (std::size_t d = 0; d < kDim; ++d) x[d] = static_cast<float>(x[d] / std::sqrt(n));
    };
    query = uniform(kFrames * kDim, rng);
    for (std::size_t f = 0; f < kFrames; ++f) unit(&query[f * kDim]);
    for (std::size_t length : lengths) {
      std::vector<float> ref = uniform(length * kDim, rng);
      for (std::size_t f = 0; f < length; ++f) {
        if (length >= 12 && f < 12)
          for (std::size_t d = 0; d < kDim; ++d)
            ref[f * kDim + d] = query[(10 + f) * kDim + d] + 0.2f * ref[f * kDim + d];
        unit(&ref[f * kDim]);
      }
      refs.push_back(std::move(ref));
    }
  }
  FramesF32 q() const { return frames(query, kFrames, 1, kDim); }
  std::vector<FramesF32> r() const {
    std::vector<FramesF32> out;
    for (std::size_t k = 0; k < refs.size(); ++k) out.push_back(frames(refs[k], lengths[k], 1, kDim));
    return out;
  }
};

}  // namespace

TEST(cosine_matches_the_naive_reference_at_every_level) {
  std::mt19937 rng(1);
  at_every_level([&] {
    for (std::size_t P : {1, 5, 13})
      for (std::size_t Q : {1, 7, 33})
        for (std::size_t D : {1, 8, 17, 65}) {
          const auto q = uniform(P * D, rng), r = uniform(Q * D, rng);
          std::vector<float> out(P * Q);
          vcdfast::cosine_matrix({q.data(), P, D, D}, {r.data(), Q, D, D}, {out.data(), P, Q, Q}, 2);
          for (std::size_t i = 0; i < P; ++i)
            for (std::size_t j = 0; j < Q; ++j) {
              double want = 0.0, a = 0.0;
              for (std::size_t d = 0; d < D; ++d) {
                want += static_cast<double>(q[i * D + d]) * r[j * D + d];
                a += std::fabs(static_cast<double>(q[i * D + d]) * r[j * D + d]);
              }
              CHECK(std::fabs(out[i * Q + j] - want) <= gamma(D + 1) * a + 1e-40);
            }
        }
  });
}

TEST(chamfer_forms_and_the_query_bias_match_the_naive_reference) {
  std::mt19937 rng(2);
  at_every_level([&] {
    for (Form form : {Form::asymmetric, Form::symmetric, Form::query_view_max})
      for (std::size_t V : {1, 3})
        for (std::size_t W : {1, 2, 5}) {
          const std::size_t P = 4, Q = 19, D = 9;
          const auto qd = uniform(P * V * D, rng), rd = uniform(Q * W * D, rng), bias = uniform(P * V, rng);
          const FramesF32 q = frames(qd, P, V, D), r = frames(rd, Q, W, D);
          const bool biased = form == Form::query_view_max && W != 2;  // query_view_max both with and without
          std::vector<float> out(P * Q);
          const auto kind = form == Form::asymmetric  ? vcdfast::ChamferForm::asymmetric
                            : form == Form::symmetric ? vcdfast::ChamferForm::symmetric
                                                      : vcdfast::ChamferForm::query_view_max;
          vcdfast::chamfer_matrix(kind, q, r, {out.data(), P, Q, Q}, 1,
                                  biased ? vcdfast::MatrixF32{bias.data(), P, V, V} : vcdfast::MatrixF32{});
          for (std::size_t p = 0; p < P; ++p)
            for (std::size_t j = 0; j < Q; ++j) {
              double bound = 0.0;
              const double want = chamfer_ref(form, q, r, biased ? bias.data() : nullptr, p, j, bound);
              CHECK(std::fabs(out[p * Q + j] - want) <= bound);
            }
          std::vector<float> threaded(P * Q);
          vcdfast::chamfer_matrix(kind, q, r, {threaded.data(), P, Q, Q}, 3,
                                  biased ? vcdfast::MatrixF32{bias.data(), P, V, V} : vcdfast::MatrixF32{});
          CHECK(threaded == out);  // bitwise independent of the thread count
        }
  });
}

TEST(query_view_max_of_one_reference_view_without_bias_is_the_transposed_asymmetric_chamfer) {
  std::mt19937 rng(3);
  at_every_level([&] {
    const std::size_t P = 7, V = 4, Q = 30, W = 1, D = 20;
    const auto qd = uniform(P * V * D, rng), rd = uniform(Q * W * D, rng);
    std::vector<float> qvm(P * Q), asym(Q * P);
    vcdfast::chamfer_matrix(vcdfast::ChamferForm::query_view_max, frames(qd, P, V, D), frames(rd, Q, W, D),
                            {qvm.data(), P, Q, Q});
    vcdfast::chamfer_matrix(vcdfast::ChamferForm::asymmetric, frames(rd, Q, W, D), frames(qd, P, V, D),
                            {asym.data(), Q, P, P});
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t j = 0; j < Q; ++j) CHECK(qvm[p * Q + j] == asym[j * P + p]);
  });
}

TEST(a_bias_belongs_to_query_view_max_only) {
  const std::vector<float> x(2 * 2 * 3, 0.5f), bias(4, 0.0f);
  std::vector<float> out(4);
  CHECK_THROWS(std::invalid_argument,
               vcdfast::chamfer_matrix(vcdfast::ChamferForm::symmetric, frames(x, 2, 2, 3), frames(x, 2, 2, 3),
                                       {out.data(), 2, 2, 2}, 1, {bias.data(), 2, 2, 2}),
               "query_view_max");
  CHECK_THROWS(std::invalid_argument,
               vcdfast::chamfer_matrix(vcdfast::ChamferForm::query_view_max, frames(x, 2, 2, 3), frames(x, 2, 2, 3),
                                       {out.data(), 2, 2, 2}, 1, {bias.data(), 2, 1, 1}),
               "(query frames, query views)");
}

TEST(every_method_refuses_a_map_with_nan_or_infinity) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> sim(6 * 7, 0.5f);
    sim[2 * 7 + 3] = bad;
    const vcdfast::SimMap map{sim.data(), 6, 7, 7};
    CHECK_THROWS(std::invalid_argument, vcdfast::align_tn(map, {}), "NaN or infinity");
    CHECK_THROWS(std::invalid_argument, vcdfast::align_hv(map, {}), "NaN or infinity");
    CHECK_THROWS(std::invalid_argument, vcdfast::align_dp(map, {}), "NaN or infinity");
    CHECK_THROWS(std::invalid_argument, vcdfast::align_dtw(map, {}), "NaN or infinity");
    CHECK_THROWS(std::invalid_argument, vcdfast::align_chain(map, {}), "NaN or infinity");
  }
}

TEST(parameters_are_checked_against_the_table) {
  const std::vector<float> sim(5 * 5, 0.5f);
  const vcdfast::SimMap map{sim.data(), 5, 5, 5};
  vcdfast::TnParams tn;
  tn.max_step = 0;
  CHECK_THROWS(std::invalid_argument, vcdfast::align_tn(map, tn), "tn: max_step must be >= 1, got 0");
  vcdfast::DpParams dp;
  dp.discontinue = -1;
  CHECK_THROWS(std::invalid_argument, vcdfast::align_dp(map, dp), "dp: discontinue must be >= 0, got -1");
  vcdfast::DtwParams dtw;
  dtw.min_sim = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS(std::invalid_argument, vcdfast::align_dtw(map, dtw), "dtw: min_sim must be finite");
  vcdfast::HvParams hv;
  hv.min_sim = -0.5;
  CHECK_THROWS(std::invalid_argument, vcdfast::align_hv(map, hv), "hv: min_sim must be finite and >= 0, got -0.5");
  CHECK_THROWS(std::invalid_argument, vcdfast::chain_extent(map, 0.0, 3), "trim: trim_sim must be finite and > 0");
  CHECK_THROWS(std::logic_error, vcdfast::param_spec("tn", "no_such"), "no such alignment parameter");
  CHECK(vcdfast::TnParams{}.max_step == vcdfast::int_default("tn", "max_step"));
  CHECK(!vcdfast::TrimParams{}.trim_sim);  // off unless asked for
}

TEST(chain_extent_matches_the_naive_search) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t rows = 1 + rng() % 20, cols = 1 + rng() % 20;
    auto sim = uniform(rows * cols, rng, -0.2f, 1.0f);
    if (trial % 2 == 0)  // coarse values: many exact ties
      for (float& x : sim) x = std::round(x * 4) / 4;
    const double trim_sim = trial % 3 == 0 ? 0.5 : 0.6;
    const std::int64_t gap = 1 + static_cast<std::int64_t>(rng() % 5);
    const auto got = vcdfast::chain_extent({sim.data(), rows, cols, cols}, trim_sim, gap);
    const auto want = chain_ref(sim, rows, cols, trim_sim, gap);
    CHECK(got.has_value() == want.has_value());
    if (got && want) CHECK(same({*got}, {*want}));
  }
}

TEST(align_chain_boxes_a_repeated_shot_once_and_each_copy_of_a_reference) {
  // query 30 x reference 40: copies q 2..11 <- r 5..14 and q 20..24 <- r 30..34; the reference
  // repeats the shot r 5..14 at r 18..27, a little weaker
  std::vector<float> sim(30 * 40, -0.1f);
  for (int k = 0; k < 10; ++k) {
    sim[(2 + k) * 40 + 5 + k] = 0.8f;
    sim[(2 + k) * 40 + 18 + k] = 0.75f;
  }
  for (int k = 0; k < 5; ++k) sim[(20 + k) * 40 + 30 + k] = 0.7f;
  const auto boxes = vcdfast::align_chain({sim.data(), 30, 40, 40}, {});
  CHECK(same(boxes, {{2, 5, 11, 14, 0.8f}, {20, 30, 24, 34, 0.7f}}));
}

TEST(trim_boxes_cuts_each_box_to_its_chain_and_drops_empty_ones) {
  // a copy on the diagonal q 4..11 <-> r 6..13 and a chance match at (14, 19)
  std::vector<float> sim(16 * 20, 0.3f);
  for (int k = 0; k < 8; ++k) sim[(4 + k) * 20 + 6 + k] = 0.9f;
  sim[14 * 20 + 19] = 0.65f;
  const vcdfast::SimMap map{sim.data(), 16, 20, 20};
  vcdfast::TrimParams trim;
  CHECK(same(vcdfast::trim_boxes(map, {{0, 0, 15, 19, 0.5f}}, trim), {{0, 0, 15, 19, 0.5f}}));  // off
  trim.trim_sim = 0.6;
  const auto kept = vcdfast::trim_boxes(map, {{0, 0, 15, 19, 0.5f}, {0, 0, 3, 3, 0.5f}}, trim);
  CHECK(kept.size() == 1 && kept[0].q_start == 4 && kept[0].r_start == 6 && kept[0].q_end == 11 &&
        kept[0].r_end == 13 && kept[0].score == 0.9f);
  CHECK_THROWS(std::invalid_argument, vcdfast::trim_boxes(map, {{0, 0, 16, 3, 0.0f}}, trim), "not inside");
}

TEST(the_batch_equals_per_pair_alignment_and_computes_each_map_once) {
  const Videos videos;
  const auto refs = videos.r();
  vcdfast::BatchConfig config;
  config.align.tn.min_length = 2;
  config.align.trim.trim_sim = 0.6;
  std::vector<std::vector<float>> maps;
  std::vector<vcdfast::OutF32> outs;
  for (const FramesF32& ref : refs) {
    maps.emplace_back(Videos::kFrames * ref.frames);
    outs.push_back({maps.back().data(), Videos::kFrames, ref.frames, ref.frames});
  }
  const std::uint64_t before = vcdfast::similarity_maps_computed();
  const auto one = vcdfast::align_batch(videos.q(), refs, config, 1, nullptr, {}, &outs);
  CHECK(vcdfast::similarity_maps_computed() - before == refs.size());
  const auto two = vcdfast::align_batch(videos.q(), refs, config, 2);
  std::size_t boxes = 0;
  for (std::size_t k = 0; k < refs.size(); ++k) {
    std::vector<float> sim(Videos::kFrames * refs[k].frames);
    vcdfast::cosine_matrix({videos.query.data(), Videos::kFrames, Videos::kDim, Videos::kDim},
                           {refs[k].data, refs[k].frames, Videos::kDim, Videos::kDim},
                           {sim.data(), Videos::kFrames, refs[k].frames, refs[k].frames});
    CHECK(sim == maps[k]);
    const auto want = vcdfast::align({sim.data(), Videos::kFrames, refs[k].frames, refs[k].frames}, config.align);
    CHECK(same(one[k], want) && same(two[k], want));
    boxes += want.size();
  }
  CHECK(boxes > 0);
}

TEST(the_batch_checks_its_inputs_in_cpp) {
  Videos videos;
  videos.refs[2][5] = std::numeric_limits<float>::quiet_NaN();
  vcdfast::BatchConfig config;
  CHECK_THROWS(std::invalid_argument, vcdfast::align_batch(videos.q(), videos.r(), config, 2), "refs[2] contains NaN");
  const std::vector<float> bias(Videos::kFrames, 0.0f);
  CHECK_THROWS(std::invalid_argument,
               vcdfast::align_batch(videos.q(), {}, config, 1, nullptr, {bias.data(), Videos::kFrames, 1, 1}),
               "query_view_max");
  std::atomic<bool> cancel{true};
  CHECK_THROWS(vcdfast::Cancelled, vcdfast::align_batch(videos.q(), videos.r(), config, 1, &cancel), "cancelled");
}

int main() {
  for (const auto& c : vcdfast::test::cases()) {
    const int before = vcdfast::test::failures();
    try {
      c.run();
    } catch (const std::exception& e) {
      vcdfast::test::fail(c.name, 0, std::string("threw ") + e.what());
    }
    std::printf("%s %s\n", vcdfast::test::failures() == before ? "ok  " : "FAIL", c.name);
  }
  std::printf("%zu tests, %d failed checks\n", vcdfast::test::cases().size(), vcdfast::test::failures());
  return vcdfast::test::failures() == 0 ? 0 : 1;
}
