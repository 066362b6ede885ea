"""From a query's descriptors to matches: candidate selection by frame votes, then
similarity + temporal alignment of the query against each candidate (C++ batch entry
point), then frame boxes to seconds.

Everything here takes arrays; the index (vcdfast.index) does the I/O.
"""

from __future__ import annotations

import collections
import enum
import os
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["DEFAULT_PARAMS", "AlignMethod", "Match", "Similarity", "align_pairs", "boxes_to_matches", "chain_extent",
           "intervals", "similarity_map", "trim_boxes", "vote"]


class AlignMethod(str, enum.Enum):
    TN = "tn"
    DP = "dp"
    DTW = "dtw"
    HV = "hv"


class Similarity(str, enum.Enum):
    COSINE = "cosine"  # one view per frame
    CHAMFER_ASYMMETRIC = "chamfer_asymmetric"
    CHAMFER_SYMMETRIC = "chamfer_symmetric"
    # query-side views (Tq, Vq, D) against (Tr, W, D): mean over the reference's views of the max
    # over the query's, after subtracting an optional per-(frame, view) query bias
    QUERY_VIEW_MAX = "query_view_max"


@dataclass(frozen=True)
class Match:
    """A copied segment: times in seconds (VSC 2022 CSV columns, in this order) and, when
    known, the inclusive frame box in VCSL's order [q_start, r_start, q_end, r_end]."""

    query_id: str
    ref_id: str
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float
    frames: tuple[int, int, int, int] | None = None

    CSV_FIELDS = ("query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end", "score")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["frames"] = list(self.frames) if self.frames is not None else None
        return d


def intervals(timestamps: np.ndarray, last_end: float) -> np.ndarray:
    """(T, 2) [start, end) per descriptor: each ends where the next starts, the last at
    `last_end` (VideoEmbedding.intervals() of the embedded video, recorded at ingest)."""
    t = np.asarray(timestamps, np.float64)
    out = np.empty((len(t), 2), np.float64)
    out[:, 0] = t
    out[:-1, 1] = t[1:]
    if len(t):
        out[-1, 1] = last_end
    return out


def vote(keys: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the scores of every hit per video key; keys by decreasing vote. Padding hits
    (key -1) are ignored."""
    keys, scores = keys.ravel(), scores.ravel()
    ok = keys >= 0
    uniq, inv = np.unique(keys[ok], return_inverse=True)
    total = np.bincount(inv, weights=scores[ok].astype(np.float64), minlength=len(uniq))
    order = np.argsort(-total, kind="stable")
    return uniq[order], total[order]


def default_similarity(views: int) -> Similarity:
    return Similarity.COSINE if views == 1 else Similarity.CHAMFER_SYMMETRIC


# Query defaults, chosen on bench/bench_e2e.py's real footage (bench/make_dataset.py --seed 0,
# gt.csv sha256 a45625c3...d7d456; SSCD, 1 fps; sweeps in BENCHMARKS.md) as the best VCSL F1
# among the TN settings that also pass the generated-video tests (tests/test_index_e2e.py
# with sscd and sscd-mobile, and the CLI demo: an unrelated video or reference must yield
# nothing). VCSL P / R / F1 / segment µAP on the real footage: these 0.816 / 0.629 / 0.710 /
# 0.698; towhee's TN defaults untrimmed 0.426 / 0.728 / 0.538 / 0.554. min_length 3 (frames:
# 3 s at 1 fps) keeps the 2-4 s copies that 5 loses. Lower thresholds score better on real
# footage but put boxes on the generated unrelated scenes, which score up to 0.65 cosine.
# VCSL's TN never links its source node, so a path may start up to max_step - 1 frames before
# the copy: each box is cut to its heaviest chain of pairs >= `trim_sim` with steps of at most
# `trim_gap` frames (`chain_extent`; the earlier cut to the first and last rows reaching
# trim_sim scored F1 0.692 / µAP 0.640 and let chance matches hold boxes open).
# `trim_sim` and `trim_gap` are query options, not kernel ones: trim_sim None turns trimming
# off; when absent, boxes are trimmed at the method's min_sim (never for DP, whose min_sim is
# in shifted units).
TRIM_GAP = 3
DEFAULT_PARAMS = {AlignMethod.TN: {"max_step": 7, "top_k": 5, "max_path": 10, "min_sim": 0.35, "min_length": 3,
                                   "max_iou": 0.3, "trim_sim": 0.6, "trim_gap": TRIM_GAP}}


def method_params(method: AlignMethod, params: dict | None) -> dict:
    """The query defaults for `method`, updated with `params`."""
    out = dict(DEFAULT_PARAMS.get(AlignMethod(method), {}))
    out.update(params or {})
    return out


def align_pairs(query: np.ndarray, refs: list[np.ndarray], *, method: AlignMethod = AlignMethod.TN,
                params: dict | None = None, similarity: Similarity | None = None, bias: np.ndarray | None = None,
                num_threads: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Similarity + alignment of one (Tq, V, D) query against each (Tr, V, D) reference
    (pairs in parallel in C++), boxes trimmed -> per reference (boxes (N, 4) int64, scores
    (N,) float32). `params` update the method's query defaults (DEFAULT_PARAMS); their
    "trim_sim" is the trimming threshold (None: no trimming). `bias` (float32 (Tq, Vq)) goes
    with Similarity.QUERY_VIEW_MAX only."""
    from vcdfast.align import align_batch

    if not refs:
        return []
    sim = Similarity(similarity) if similarity is not None else default_similarity(query.shape[1])
    params = method_params(method, params)
    trim_sim = params.pop("trim_sim", None if AlignMethod(method) is AlignMethod.DP else params.get("min_sim"))
    trim_gap = int(params.pop("trim_gap", TRIM_GAP))
    found = align_batch(query, refs, similarity=sim.value, method=AlignMethod(method).value, params=params or None,
                        bias=bias, num_threads=num_threads or os.cpu_count() or 1)
    if trim_sim is None:
        return [(b, s) for b, s in found]
    return [trim_boxes(query, ref, boxes, scores, float(trim_sim), sim, max_gap=trim_gap, bias=bias)
            for ref, (boxes, scores) in zip(refs, found)]


def similarity_map(q: np.ndarray, r: np.ndarray, similarity: Similarity, bias: np.ndarray | None = None) -> np.ndarray:
    """(Tq, V, D) x (Tr, W, D) -> (Tq, Tr) float32 frame similarities."""
    from vcdfast.similarity import chamfer_asymmetric, chamfer_symmetric, cosine, ensure_f32, query_view_max

    q, r = ensure_f32(q), ensure_f32(r)
    if similarity is Similarity.QUERY_VIEW_MAX:
        return query_view_max(q, r, bias=bias)
    if similarity is Similarity.COSINE:
        return cosine(np.ascontiguousarray(q[:, 0]), np.ascontiguousarray(r[:, 0]))
    if similarity is Similarity.CHAMFER_ASYMMETRIC:
        return chamfer_asymmetric(q, r)
    return chamfer_symmetric(q, r)


def chain_extent(sim: np.ndarray, min_sim: float, max_gap: int) -> tuple[int, int, int, int] | None:
    """(q_start, r_start, q_end, r_end) of the heaviest chain in a (Tq, Tr) similarity map, or
    None when no cell reaches `min_sim`. A chain is a sequence of cells >= min_sim, each 1 to
    max_gap rows below and 0 to max_gap columns right of the one before; its weight is the sum
    of its similarities. Ties: the older predecessor row, then the nearer column, then the
    first end cell in row-major order (tests.reference.chain_extent_ref spells this out).
    Runs in O(Tq * Tr * max_gap) time and O(Tr * max_gap) memory."""
    if not min_sim > 0:
        raise ValueError(f"min_sim must be > 0 (weights of chains are sums of similarities), got {min_sim}")
    if max_gap < 1:
        raise ValueError(f"max_gap must be >= 1, got {max_gap}")
    sim = np.asarray(sim)
    tq, tr = sim.shape
    cols = np.arange(tr)
    window: collections.deque = collections.deque(maxlen=max_gap)  # (weights, starts) of the rows above
    best, best_end, best_start = 0.0, -1, -1
    for i in range(tq):
        # best chain ending up to max_gap rows above, per column (oldest row first: it wins ties) ...
        above_w, above_s = np.zeros(tr), np.full(tr, -1, np.int64)
        for w, s in window:
            take = w > above_w
            above_w, above_s = np.where(take, w, above_w), np.where(take, s, above_s)
        # ... then up to max_gap columns to the left (the nearest column wins ties)
        from_w, from_s = above_w.copy(), above_s.copy()
        for d in range(1, min(max_gap, tr - 1) + 1):
            take = above_w[:-d] > from_w[d:]
            from_w[d:] = np.where(take, above_w[:-d], from_w[d:])
            from_s[d:] = np.where(take, above_s[:-d], from_s[d:])
        row = sim[i]
        ok = row >= min_sim
        w = np.where(ok, row + from_w, 0.0)  # 0: no chain ends here (real chains weigh >= min_sim > 0)
        s = np.where(from_w > 0, from_s, i * tr + cols)
        if ok.any():
            j = int(np.argmax(w))
            if w[j] > best:
                best, best_end, best_start = float(w[j]), i * tr + j, int(s[j])
        window.append((w, s))
    if best_end < 0:
        return None
    return best_start // tr, best_start % tr, best_end // tr, best_end % tr


def trim_boxes(q: np.ndarray, r: np.ndarray, boxes: np.ndarray, scores: np.ndarray, min_sim: float,
               similarity: Similarity, *, max_gap: int = TRIM_GAP,
               bias: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shrink each box to the extent of the heaviest chain of frame pairs scoring >= min_sim
    inside it (`chain_extent`); a box with no such pair is dropped. A TN path may begin or end
    on frames that match nothing, or take in a pair that matches by chance off the copy's
    diagonal (a repeated shot); a chain with bounded steps keeps only the copy's run."""
    keep_b, keep_s = [], []
    for (qs, rs, qe, re_), s in zip(np.asarray(boxes).tolist(), np.asarray(scores).tolist()):
        box_bias = None if bias is None else bias[qs:qe + 1]
        extent = chain_extent(similarity_map(q[qs:qe + 1], r[rs:re_ + 1], similarity, box_bias), min_sim, max_gap)
        if extent is not None:
            q0, r0, q1, r1 = extent
            keep_b.append([qs + q0, rs + r0, qs + q1, rs + r1])
            keep_s.append(s)
    return np.array(keep_b, np.int64).reshape(-1, 4), np.array(keep_s, np.float32)


def boxes_to_matches(query_id: str, ref_id: str, boxes: np.ndarray, scores: np.ndarray,
                     q_intervals: np.ndarray, r_intervals: np.ndarray) -> list[Match]:
    """Inclusive frame boxes [q_start, r_start, q_end, r_end] -> Matches in seconds: a
    segment starts where its first descriptor's interval starts and ends where its last
    one's ends."""
    out = []
    for (qs, rs, qe, re_), s in zip(np.asarray(boxes).tolist(), np.asarray(scores).tolist()):
        out.append(Match(query_id, ref_id, float(q_intervals[qs, 0]), float(q_intervals[qe, 1]),
                         float(r_intervals[rs, 0]), float(r_intervals[re_, 1]), float(s), (qs, rs, qe, re_)))
    return out
