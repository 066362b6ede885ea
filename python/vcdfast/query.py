"""From a query's descriptors to matches: candidate selection by frame votes, then
similarity + temporal alignment of the query against each candidate (C++ batch entry
point), then frame boxes to seconds.

Everything here takes arrays; the index (vcdfast.index) does the I/O.
"""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["AlignMethod", "Match", "Similarity", "align_pairs", "boxes_to_matches", "intervals", "method_params",
           "similarity_map", "vote"]


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


def method_params(method: AlignMethod, params: dict | None) -> dict:
    """The query defaults for `method` (`vcdfast.align.defaults(method, preset="query")`; the
    values and why they were chosen live in cpp/include/vcdfast/align_params.hpp), updated with
    `params`. "trim_sim": None turns trimming off."""
    from vcdfast.align import defaults

    out = defaults(AlignMethod(method).value, preset="query")
    out.update(params or {})
    return out


def align_pairs(query: np.ndarray, refs: list[np.ndarray], *, method: AlignMethod = AlignMethod.TN,
                params: dict | None = None, similarity: Similarity | None = None, bias: np.ndarray | None = None,
                num_threads: int | None = None, return_maps: bool = False):
    """Similarity + alignment + trimming of one (Tq, V, D) query against each (Tr, W, D)
    reference, each map computed once (pairs in parallel in C++) -> per reference (boxes (N, 4)
    int64, scores (N,) float32); with `return_maps`, (that list, the (Tq, Tr) maps). `params`
    update the method's query defaults (`method_params`). `bias` (float32 (Tq, Vq)) goes with
    Similarity.QUERY_VIEW_MAX only."""
    from vcdfast.align import align_batch

    if not refs:
        return ([], []) if return_maps else []
    sim = Similarity(similarity) if similarity is not None else default_similarity(query.shape[1])
    found = align_batch(query, refs, similarity=sim.value, method=AlignMethod(method).value,
                        params=method_params(method, params), bias=bias,
                        num_threads=num_threads or os.cpu_count() or 1, return_maps=return_maps)
    if return_maps:
        segments, maps = found
        return [(b, s) for b, s in segments], maps
    return [(b, s) for b, s in found]


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
