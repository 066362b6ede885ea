"""From a query's descriptors to matches: candidate selection by frame votes, then
similarity + temporal alignment of the query against each candidate (C++ batch entry
point), then frame boxes to seconds.

Everything here takes arrays; the index (vcdfast.index) does the I/O.
"""

from __future__ import annotations

import collections
import enum
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from vcdfast.normalise import DEFAULT_BACKGROUND, BackgroundSpec

__all__ = ["DEFAULT_PARAMS", "SEED_RECIPE", "AlignMethod", "Match", "QueryOptions", "Similarity", "align_pairs", "boxes_to_matches", "chain_extent",
           "align_views", "cut_to_chains", "frame_votes", "intervals", "similarity_map", "trim_boxes", "view_similarity", "vote"]


class AlignMethod(str, enum.Enum):
    TN = "tn"
    DP = "dp"
    DTW = "dtw"
    HV = "hv"


class Similarity(str, enum.Enum):
    COSINE = "cosine"  # one view per frame
    CHAMFER_ASYMMETRIC = "chamfer_asymmetric"
    CHAMFER_SYMMETRIC = "chamfer_symmetric"


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


def frame_votes(frames: np.ndarray, keys: np.ndarray, scores: np.ndarray, bias: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Votes per video from first-stage hits of query descriptors (rows: views of frames).
    frames (N,): the query frame of each row; keys, scores (N, K): its hits (key -1: padding);
    bias (N,): subtracted from its scores (vcdfast.normalise). A video's vote is the sum over
    query frames of the frame's best normalised hit in that video, counted when > 0: one vote
    per frame, so a long static shot (many near-identical reference frames) or a query frame
    seen through several views does not outvote a copy by repetition. Keys by decreasing vote."""
    keys = np.asarray(keys)
    k = keys.shape[1]
    s = np.asarray(scores, np.float64) - (0.0 if bias is None else np.asarray(bias, np.float64)[:, None])
    f = np.repeat(np.asarray(frames, np.int64), k)
    keys, s = keys.ravel(), s.ravel()
    ok = (keys >= 0) & (s > 0)
    keys, s, f = keys[ok], s[ok], f[ok]
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    uniq, video = np.unique(keys, return_inverse=True)
    pair = f * len(uniq) + video
    order = np.lexsort((-s, pair))
    _, first = np.unique(pair[order], return_index=True)
    best = order[first]
    total = np.bincount(video[best], weights=s[best], minlength=len(uniq))
    rank = np.argsort(-total, kind="stable")
    return uniq[rank], total[rank]


def view_similarity(q: np.ndarray, r: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """(Tq, Vq, D) query views x (Tr, 1, D) reference -> (Tq, Tr) float32: per frame pair the
    best over the query's views of (similarity - bias), bias (Tq, Vq) from vcdfast.normalise."""
    from vcdfast.similarity import cosine, ensure_f32

    tq, vq, d = q.shape
    s = cosine(ensure_f32(q.reshape(tq * vq, d)), ensure_f32(np.ascontiguousarray(r[:, 0])))
    s = s.reshape(tq, vq, -1)
    if bias is not None:
        s -= np.asarray(bias, np.float32)[:, :, None]
    return s.max(axis=1)


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


@dataclass(frozen=True)
class QueryOptions:
    """How a query runs, stage by stage; the defaults are the query defaults (chosen on the
    tuning split of bench/make_dataset.py by bench/sweep_query.py; BENCHMARKS.md).

    views: the query-side views embedded when the index decodes the query itself (a
      VideoEmbedding passed in is queried with the views it has); the index keeps one view
      per reference frame, and a frame pair's similarity is the best over the query's views.
    frame_neighbours: nearest reference frames searched per query descriptor.
    candidates: reference videos aligned per query, by decreasing vote.
    background: score normalisation (vcdfast.normalise); None: raw cosine.
    votes: "frame" (vcdfast.query.frame_votes: one vote per query frame and video, on
      normalised scores) or "sum" (every hit's raw score, the seeds' vote).
    method, params: the alignment method and the parameters that differ from its kernel
      defaults; "trim_sim" (None: no trimming) and "trim_gap" cut boxes to chains.
    min_score: matches scoring below it are not reported (None: all).
    """

    views: tuple[str, ...] = ("full", "flip", "inset", "1x2")
    frame_neighbours: int = 64
    candidates: int = 5
    background: BackgroundSpec | None = DEFAULT_BACKGROUND
    votes: str = "frame"
    method: AlignMethod = AlignMethod.TN
    params: dict = field(default_factory=lambda: {"max_step": 5, "min_sim": 0.1, "min_length": 2,
                                                  "trim_sim": 0.2, "trim_gap": TRIM_GAP})
    min_score: float | None = 0.3

    def __post_init__(self):
        from vcdfast.views import expand_views

        expand_views(self.views)
        if self.frame_neighbours < 1 or self.candidates < 1:
            raise ValueError(f"frame_neighbours and candidates must be >= 1, got {self.frame_neighbours}, "
                             f"{self.candidates}")
        if self.votes not in ("frame", "sum"):
            raise ValueError(f"votes must be 'frame' or 'sum', got {self.votes!r}")
        object.__setattr__(self, "method", AlignMethod(self.method))


# The seeds' recipe (1 fps, one whole-frame view, per-frame top-64, 5 candidates by summed
# raw scores, VCSL TN with the kernel's defaults = towhee's, boxes as TN leaves them): the
# baseline every benchmark table carries.
SEED_RECIPE = QueryOptions(views=("full",), frame_neighbours=64, candidates=5, background=None, votes="sum",
                           method=AlignMethod.TN, params={"trim_sim": None}, min_score=None)


def method_params(method: AlignMethod, params: dict | None) -> dict:
    """The query defaults for `method`, updated with `params`."""
    out = dict(DEFAULT_PARAMS.get(AlignMethod(method), {}))
    out.update(params or {})
    return out


def align_pairs(query: np.ndarray, refs: list[np.ndarray], *, method: AlignMethod = AlignMethod.TN,
                params: dict | None = None, similarity: Similarity | None = None,
                num_threads: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Similarity + alignment of one (Tq, V, D) query against each (Tr, V, D) reference
    (pairs in parallel in C++), boxes trimmed -> per reference (boxes (N, 4) int64, scores
    (N,) float32). `params` update the method's query defaults (DEFAULT_PARAMS); their
    "trim_sim" is the trimming threshold (None: no trimming)."""
    from vcdfast.align import align_batch

    if not refs:
        return []
    sim = Similarity(similarity) if similarity is not None else default_similarity(query.shape[1])
    params = method_params(method, params)
    trim_sim = params.pop("trim_sim", None if AlignMethod(method) is AlignMethod.DP else params.get("min_sim"))
    trim_gap = int(params.pop("trim_gap", TRIM_GAP))
    found = align_batch(query, refs, similarity=sim.value, method=AlignMethod(method).value, params=params or None,
                        num_threads=num_threads or os.cpu_count() or 1)
    if trim_sim is None:
        return [(b, s) for b, s in found]
    return [trim_boxes(query, ref, boxes, scores, float(trim_sim), sim, max_gap=trim_gap)
            for ref, (boxes, scores) in zip(refs, found)]


def similarity_map(q: np.ndarray, r: np.ndarray, similarity: Similarity) -> np.ndarray:
    """(Tq, V, D) x (Tr, V, D) -> (Tq, Tr) float32 frame similarities."""
    from vcdfast.similarity import chamfer_asymmetric, chamfer_symmetric, cosine, ensure_f32

    q, r = ensure_f32(q), ensure_f32(r)
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
               similarity: Similarity, *, max_gap: int = TRIM_GAP) -> tuple[np.ndarray, np.ndarray]:
    """Shrink each box to the extent of the heaviest chain of frame pairs scoring >= min_sim
    inside it (`chain_extent`); a box with no such pair is dropped. A TN path may begin or end
    on frames that match nothing, or take in a pair that matches by chance off the copy's
    diagonal (a repeated shot); a chain with bounded steps keeps only the copy's run."""
    keep_b, keep_s = [], []
    for (qs, rs, qe, re_), s in zip(np.asarray(boxes).tolist(), np.asarray(scores).tolist()):
        extent = chain_extent(similarity_map(q[qs:qe + 1], r[rs:re_ + 1], similarity), min_sim, max_gap)
        if extent is not None:
            q0, r0, q1, r1 = extent
            keep_b.append([qs + q0, rs + r0, qs + q1, rs + r1])
            keep_s.append(s)
    return np.array(keep_b, np.int64).reshape(-1, 4), np.array(keep_s, np.float32)


def cut_to_chains(sim: np.ndarray, boxes: np.ndarray, trim_sim: float, max_gap: int = TRIM_GAP
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of one (Tq, Tr) map cut to their heaviest chain of pairs >= trim_sim
    (`chain_extent`) and rescored: a kept box's score is the mean over its query frames of
    their best pair inside it (on a normalised map: how far above the background the copy
    stands, per frame). A box with no such pair is dropped."""
    kept_b, kept_s = [], []
    for qs, rs, qe, re_ in np.asarray(boxes).tolist():
        ext = chain_extent(sim[qs:qe + 1, rs:re_ + 1], trim_sim, max_gap)
        if ext is not None:
            q0, r0, q1, r1 = ext
            box = [qs + q0, rs + r0, qs + q1, rs + r1]
            kept_b.append(box)
            kept_s.append(float(sim[box[0]:box[2] + 1, box[1]:box[3] + 1].max(axis=1).mean()))
    return np.array(kept_b, np.int64).reshape(-1, 4), np.array(kept_s, np.float32)


def align_views(q: np.ndarray, refs: list[np.ndarray], bias: np.ndarray | None, options: QueryOptions
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (Tq, Vq, D) query against each (Tr, 1, D) reference: the view similarity map
    (`view_similarity`, bias subtracted), aligned with options.method and options.params over
    the kernel's defaults, boxes cut to chains when params["trim_sim"] is set, and matches
    below options.min_score dropped -> per reference (boxes (N, 4) int64, scores (N,))."""
    from vcdfast import align

    params = dict(options.params)
    trim_sim, trim_gap = params.pop("trim_sim", None), int(params.pop("trim_gap", TRIM_GAP))
    kernel = getattr(align, options.method.value)
    out = []
    for r in refs:
        sim = view_similarity(q, r, bias)
        boxes, scores = kernel(sim, **params)
        if trim_sim is not None:
            boxes, scores = cut_to_chains(sim, boxes, float(trim_sim), trim_gap)
        if options.min_score is not None:
            keep = scores >= options.min_score
            boxes, scores = boxes[keep], scores[keep]
        out.append((boxes, scores))
    return out


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
