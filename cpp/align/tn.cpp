// Temporal network alignment (Tan et al., ACM MM 2009) with the exact semantics of VCSL's
// vta.tn, networkx graph and tie-breaking included; the spec is cpp/align/README.md and the
// naive reference tests/reference.py:tn_reference. Flat arrays only: the graph's structure
// is built once, its Kahn order computed once, and each of the max_path + 1 longest-path
// passes is one sweep over the predecessor lists.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "iou.hpp"
#include "vcdfast/align.hpp"

namespace vcdfast {
namespace {

using i32 = std::int32_t;
using i64 = std::int64_t;

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("tn: " + what); }

// Graph size limit: ~3.8 GB of edges, and edge ids (plus the sink links) stay within 32 bits.
constexpr std::size_t kMaxEdges = std::size_t{1} << 27;

void check(const SimMap& sims, const TnParams& p) {
  if (sims.rows == 0 || sims.cols == 0) fail("the similarity map is empty; both axes need at least one frame");
  check_params(p);
}

// Per row, the `top` columns with the largest similarity in descending order, equal values by
// ascending column (VCSL's argsort(-sims) leaves that order to NumPy's unstable sort).
// Throws on a non-finite similarity, which has no place in an order.
void select_topk(const SimMap& sims, std::size_t top, std::vector<i32>& idx, std::vector<float>& val) {
  const std::size_t rows = sims.rows, cols = sims.cols;
  idx.resize(rows * top);
  val.resize(rows * top);
  std::vector<i32> order;
  for (std::size_t i = 0; i < rows; ++i) {
    const float* row = sims.data + i * sims.row_stride;
    i32* bi = idx.data() + i * top;
    float* bv = val.data() + i * top;
    unsigned bad = 0;  // set by a NaN or an infinity; checked, branch-free, in the pass that ranks
    if (top <= 32) {  // insertion into a short sorted buffer
      std::size_t count = 0;
      auto insert = [&](std::size_t j) {
        const float v = row[j];
        std::size_t pos;
        if (count == top) {
          if (!(v > bv[top - 1])) return;  // equal values keep the earlier column
          pos = top - 1;
        } else {
          pos = count++;
        }
        for (; pos > 0 && bv[pos - 1] < v; --pos) {
          bv[pos] = bv[pos - 1];
          bi[pos] = bi[pos - 1];
        }
        bv[pos] = v;
        bi[pos] = static_cast<i32>(j);
      };
      auto check = [&](float v) { bad |= static_cast<unsigned>(!(std::fabs(v) <= FLT_MAX)); };
      std::size_t j = 0;
      for (; j < cols && count < top; ++j) {
        check(row[j]);
        insert(j);
      }
      constexpr std::size_t kBlock = 16;  // skip blocks with nothing above the K-th best
      for (; j + kBlock <= cols; j += kBlock) {
        const float kth = bv[top - 1];
        unsigned above = 0;
        for (std::size_t u = 0; u < kBlock; ++u) {
          check(row[j + u]);
          above |= static_cast<unsigned>(row[j + u] > kth);
        }
        if (above != 0)
          for (std::size_t u = 0; u < kBlock; ++u) insert(j + u);
      }
      for (; j < cols; ++j) {
        check(row[j]);
        insert(j);
      }
    } else {
      for (std::size_t j = 0; j < cols; ++j) bad |= static_cast<unsigned>(!(std::fabs(row[j]) <= FLT_MAX));
      if (bad == 0) {  // the comparator needs a total order
        order.resize(cols);
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                          [row](i32 a, i32 b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        for (std::size_t k = 0; k < top; ++k) {
          bi[k] = order[k];
          bv[k] = row[order[k]];
        }
      }
    }
    if (bad != 0)
      fail("the similarity map contains NaN or infinity (row " + std::to_string(i) +
           "); clean it (np.nan_to_num) before calling");
  }
}

// A set of reference frames as a bitmap (C3's "intermediate" frames of one source row).
class FrameSet {
 public:
  explicit FrameSet(std::size_t n) : words_((n + 63) / 64 + 1, 0) {}
  void insert(i32 r) {
    if (!test(r)) {
      words_[static_cast<std::size_t>(r) >> 6] |= std::uint64_t{1} << (r & 63);
      members_.push_back(r);
    }
  }
  void clear() {
    for (const i32 r : members_) words_[static_cast<std::size_t>(r) >> 6] = 0;
    members_.clear();
  }
  // Whether some member lies strictly between lo and hi.
  bool any_between(i32 lo, i32 hi) const {
    const i64 first = static_cast<i64>(lo) + 1, last = static_cast<i64>(hi) - 1;
    if (first > last || members_.empty()) return false;
    std::size_t w = static_cast<std::size_t>(first) >> 6;
    const std::size_t w_last = static_cast<std::size_t>(last) >> 6;
    std::uint64_t bits = words_[w] & (~std::uint64_t{0} << (first & 63));
    while (w < w_last) {
      if (bits != 0) return true;
      bits = words_[++w];
    }
    return (bits & (~std::uint64_t{0} >> (63 - (last & 63)))) != 0;
  }

 private:
  bool test(i32 r) const { return (words_[static_cast<std::size_t>(r) >> 6] >> (r & 63)) & 1u; }
  std::vector<std::uint64_t> words_;
  std::vector<i32> members_;
};

// Counting sort of edge ids by key, keeping insertion order within a key (networkx's
// adjacency dicts keep insertion order, and ties are broken by it).
void bucket(const std::vector<i32>& key, std::size_t n_nodes, std::vector<std::uint32_t>& offset,
            std::vector<std::uint32_t>& edge_of) {
  offset.assign(n_nodes + 1, 0);
  for (i32 k : key) ++offset[static_cast<std::size_t>(k) + 1];
  for (std::size_t v = 0; v < n_nodes; ++v) offset[v + 1] += offset[v];
  edge_of.resize(key.size());
  std::vector<std::uint32_t> fill(offset.begin(), offset.end() - 1);
  for (std::size_t e = 0; e < key.size(); ++e) edge_of[fill[static_cast<std::size_t>(key[e])]++] = static_cast<std::uint32_t>(e);
}

}  // namespace

std::vector<Box> align_tn(const SimMap& sims, const TnParams& params) {
  check(sims, params);
  const std::size_t rows = sims.rows;
  const std::size_t top = static_cast<std::size_t>(std::min<i64>(params.top_k, static_cast<i64>(sims.cols)));
  if (rows * top + 1 > static_cast<std::size_t>(std::numeric_limits<i32>::max()))
    fail("rows x min(top_k, columns) is too large for 32-bit node ids; lower top_k");
  const i64 step = params.max_step;
  const float edge_min = static_cast<float>(params.min_sim);  // VCSL's C4 compares in float32

  std::vector<i32> topk_idx;
  std::vector<float> topk_val;
  select_topk(sims, top, topk_idx, topk_val);

  // Node 0 is VCSL's isolated "source" (-1, -1); node 1 + q * top + k is (q, k-th best ref).
  const std::size_t n_nodes = 1 + rows * top;
  const i32 sink = static_cast<i32>(n_nodes - 1);  // VCSL's "sink": simply the last node added
  auto ref_of = [&](i32 node) { return static_cast<i64>(topk_idx[static_cast<std::size_t>(node - 1)]); };
  auto query_of = [&](i32 node) { return static_cast<i64>(static_cast<std::size_t>(node - 1) / top); };

  // Edges in networkx insertion order: source row, target row, target rank, source rank.
  std::vector<i32> e_src, e_dst;
  std::vector<float> e_w;
  std::vector<i32> linked, into_sink, matches;
  std::vector<std::pair<i32, i32>> by_ref;  // (reference, rank) of the source row, for K > 64
  FrameSet reached(sims.cols);
  const auto c2_span = static_cast<std::uint64_t>(step - 1);  // C2: 0 < diff < step, as one compare
  for (std::size_t qi = 0; qi < rows; ++qi) {
    reached.clear();  // C3 accumulates over the target rows of one source row
    const std::size_t q_stop = static_cast<i64>(rows - qi) <= step ? rows : qi + static_cast<std::size_t>(step);
    const i32* ri = topk_idx.data() + qi * top;
    if (top > 64) {
      by_ref.clear();
      for (std::size_t ki = 0; ki < top; ++ki) by_ref.emplace_back(ri[ki], static_cast<i32>(ki));
      std::sort(by_ref.begin(), by_ref.end());
    }
    for (std::size_t qj = qi + 1; qj < q_stop; ++qj) {  // C1
      const i32* rj = topk_idx.data() + qj * top;
      const float* wj = topk_val.data() + qj * top;
      linked.clear();
      for (std::size_t kj = 0; kj < top; ++kj) {
        if (!(wj[kj] >= edge_min)) continue;  // C4
        const i32 dst = static_cast<i32>(1 + qj * top + kj);
        const i64 target = rj[kj];
        auto link = [&](std::size_t ki) {
          if (reached.any_between(ri[ki], rj[kj])) return;  // C3
          const i32 src = static_cast<i32>(1 + qi * top + ki);
          if (dst == sink) into_sink.push_back(src);
          e_src.push_back(src);
          e_dst.push_back(dst);
          e_w.push_back(wj[kj]);
          linked.push_back(rj[kj]);
        };
        if (top <= 64) {  // C2 as a bit mask: few mispredicted branches
          std::uint64_t c2 = 0;
          for (std::size_t ki = 0; ki < top; ++ki)
            c2 |= std::uint64_t{static_cast<std::uint64_t>(target - ri[ki] - 1) < c2_span} << ki;
          for (; c2 != 0; c2 &= c2 - 1) link(static_cast<std::size_t>(__builtin_ctzll(c2)));
        } else {  // C2 by binary search over the source row's references, then rank order
          const i64 lowest = target - step + 1;
          auto it = std::lower_bound(by_ref.begin(), by_ref.end(), lowest,
                                     [](const std::pair<i32, i32>& e, i64 v) { return e.first < v; });
          matches.clear();
          for (; it != by_ref.end() && it->first < target; ++it) matches.push_back(it->second);
          std::sort(matches.begin(), matches.end());
          for (const i32 ki : matches) link(static_cast<std::size_t>(ki));
        }
      }
      for (const i32 r : linked) reached.insert(r);  // after the row: C3 looks at earlier rows only
      if (e_src.size() > kMaxEdges)
        fail("the graph exceeds " + std::to_string(kMaxEdges) +
             " edges (about 28 bytes each); lower top_k or max_step");
    }
  }

  // VCSL links every node within max_step (inclusive) below-left of the sink to it with
  // weight 0: edges that already exist keep their place and lose their weight; new ones are
  // appended in node order (node 0 included when the sink lies within reach of (-1, -1)).
  {
    const i64 qs = query_of(sink), rs = ref_of(sink);
    auto reaches = [&](i64 q, i64 r) { return qs > q && rs > r && qs - q <= step && rs - r <= step; };
    std::size_t next_existing = 0;  // into_sink is sorted: sources were visited in node order
    auto link = [&](i32 node) {
      while (next_existing < into_sink.size() && into_sink[next_existing] < node) ++next_existing;
      if (next_existing < into_sink.size() && into_sink[next_existing] == node) return;
      e_src.push_back(node);
      e_dst.push_back(sink);
      e_w.push_back(0.0f);
    };
    if (reaches(-1, -1)) link(0);
    const std::size_t first_row = static_cast<std::size_t>(std::max<i64>(0, qs - step));
    for (i32 node = static_cast<i32>(1 + first_row * top); node < sink; ++node)
      if (reaches(query_of(node), ref_of(node))) link(node);
    for (std::size_t e = 0; e < e_dst.size(); ++e)
      if (e_dst[e] == sink) e_w[e] = 0.0f;
  }

  // Predecessor lists (the DP's input) and successor lists (Kahn's order), both in insertion order.
  std::vector<std::uint32_t> pred_off, pred_edge, succ_off, succ_edge;
  bucket(e_dst, n_nodes, pred_off, pred_edge);
  bucket(e_src, n_nodes, succ_off, succ_edge);
  std::vector<i32> pred_src(pred_edge.size());
  std::vector<float> pred_w(pred_edge.size());
  for (std::size_t t = 0; t < pred_edge.size(); ++t) {
    pred_src[t] = e_src[pred_edge[t]];
    pred_w[t] = e_w[pred_edge[t]];
  }

  // networkx.topological_sort: Kahn's generations, which is a FIFO queue seeded with the
  // in-degree-0 nodes in node order, children visited in successor insertion order. The
  // structure never changes (only weights do), so one order serves every pass.
  std::vector<i32> topo;
  topo.reserve(n_nodes);
  {
    std::vector<std::uint32_t> indeg(n_nodes);
    for (std::size_t v = 0; v < n_nodes; ++v) {
      indeg[v] = pred_off[v + 1] - pred_off[v];
      if (indeg[v] == 0) topo.push_back(static_cast<i32>(v));
    }
    for (std::size_t head = 0; head < topo.size(); ++head) {
      const auto u = static_cast<std::size_t>(topo[head]);
      for (std::uint32_t t = succ_off[u]; t < succ_off[u + 1]; ++t) {
        const i32 child = e_dst[succ_edge[t]];
        if (--indeg[static_cast<std::size_t>(child)] == 0) topo.push_back(child);
      }
    }
  }

  // networkx.dag_longest_path, max_path + 1 times, zeroing the used edges after each pass.
  // Float32 sums as in VCSL; first maximal predecessor in insertion order; first maximal node
  // in topological order; a negative best restarts the path at the node itself.
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::vector<float> dist(n_nodes);
  std::vector<std::uint32_t> via(n_nodes);  // index into the predecessor lists, or kNone
  std::vector<i32> path;
  std::vector<Box> boxes;
  for (i64 pass = 0; pass <= params.max_path; ++pass) {
    for (const i32 v : topo) {
      const std::uint32_t b = pred_off[static_cast<std::size_t>(v)], e = pred_off[static_cast<std::size_t>(v) + 1];
      float best = 0.0f;
      std::uint32_t arg = kNone;
      if (b != e) {
        best = dist[static_cast<std::size_t>(pred_src[b])] + pred_w[b];
        arg = b;
        for (std::uint32_t t = b + 1; t < e; ++t) {
          const float cand = dist[static_cast<std::size_t>(pred_src[t])] + pred_w[t];
          if (cand > best) {
            best = cand;
            arg = t;
          }
        }
        if (!(best >= 0.0f)) {
          best = 0.0f;
          arg = kNone;
        }
      }
      dist[static_cast<std::size_t>(v)] = best;
      via[static_cast<std::size_t>(v)] = arg;
    }
    i32 end = topo.front();
    for (const i32 v : topo)
      if (dist[static_cast<std::size_t>(v)] > dist[static_cast<std::size_t>(end)]) end = v;

    path.clear();  // backwards, zeroing each edge used
    for (i32 v = end;;) {
      if (v != 0 && v != sink) path.push_back(v);
      const std::uint32_t t = via[static_cast<std::size_t>(v)];
      if (t == kNone) break;
      pred_w[t] = 0.0f;
      v = pred_src[t];
    }
    if (path.empty()) break;

    float score = 0.0f;  // VCSL sums the frames' similarities in path order, in float32
    for (auto it = path.rbegin(); it != path.rend(); ++it) score += topk_val[static_cast<std::size_t>(*it - 1)];
    Box box;
    if (score > 0.0f) {
      box.q_start = box.r_start = std::numeric_limits<i64>::max();
      box.q_end = box.r_end = std::numeric_limits<i64>::min();
      for (const i32 v : path) {
        const i64 q = query_of(v), r = ref_of(v);
        box.q_start = std::min(box.q_start, q);
        box.q_end = std::max(box.q_end, q);
        box.r_start = std::min(box.r_start, r);
        box.r_end = std::max(box.r_end, r);
      }
    }
    const i64 q_len = box.q_end - box.q_start, r_len = box.r_end - box.r_start;
    const double ave_length = static_cast<double>(r_len + q_len) / 2.0;
    // VCSL divides by ave_length even when it is 0 (NumPy: inf or nan, both handled here).
    const bool dense = ave_length != 0.0 ? static_cast<double>(score) / ave_length > params.min_sim : score > 0.0f;
    if (!dense || std::min(r_len, q_len) <= params.min_length) continue;
    double worst = 0.0;
    for (const Box& kept : boxes) worst = std::max(worst, detail::iou_inclusive(box, kept));
    if (!(worst < params.max_iou)) continue;
    box.score = score / static_cast<float>(path.size());
    boxes.push_back(box);
  }
  return boxes;
}

}  // namespace vcdfast
