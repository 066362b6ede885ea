"""Temporal alignment of similarity maps into copied segments (C++ kernels, VCSL semantics).

Boxes are inclusive frame indices in VCSL's order [q_start, r_start, q_end, r_end].
Every keyword, its default and its valid range come from one table in C++
(cpp/include/vcdfast/align_params.hpp): `params()` lists it, `defaults(method)` gives a
method's keywords with their defaults. Nothing here restates a default.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vcdfast import _core

__all__ = ["CancelToken", "Segments", "align_batch", "chain", "chain_extent", "defaults", "dp", "dtw", "hv", "params",
           "tn", "trim"]


class Segments(NamedTuple):
    """Copied segments of one (query, reference) pair."""

    boxes: np.ndarray  # (N, 4) int64: [q_start, r_start, q_end, r_end], inclusive frame indices
    scores: np.ndarray  # (N,) float32; see cpp/align/README.md for each method's score


def params() -> list[dict]:
    """The table of alignment parameters: one dict per parameter with its group (a method,
    "trim" for every method's boxes, "norm" for align_batch's normalisation), name, kind,
    default (None: off), min (None: unbounded), min_inclusive and doc."""
    return _core.align_params()


def defaults(method: str, *, preset: str = "kernel") -> dict:
    """Every keyword `method` ("tn", "hv", "dp", "dtw", "chain") takes, its own and trimming's, with its
    default: preset "kernel" is the single-pair functions' (the peers' defaults, no trimming),
    "query" is vcdfast.query's (tuned; see align_params.hpp)."""
    return _core.align_defaults(method, preset=preset)


# Every method takes its own keywords and trimming's (`trim_sim`, `trim_gap`): with trim_sim set,
# each box is cut to its heaviest chain of frame pairs >= trim_sim and rescored (`trim`).
# Bad types raise TypeError; values out of range, NaN or infinity in the map, ValueError.


def tn(sims: np.ndarray, /, **params) -> Segments:
    """Temporal-network alignment (Tan et al., ACM MM 2009) with VCSL's exact semantics.

    sims: (P, Q) float32 similarity map, query frames x reference frames, last axis
    contiguous, finite. Each query frame keeps its top_k most similar reference frames
    (top_k is clamped to Q); frames up to max_step apart on both axes are linked into a
    graph whose heaviest path is taken max_path + 1 times. A path becomes a box when its
    summed similarity over its average side length exceeds min_sim, both sides span more
    than min_length frames and its IoU with every earlier box is below max_iou.
    Defaults (`defaults("tn")`) are towhee's; VCSL's tuned set for ISC features is top_k=3,
    min_sim=0.3. Box score: mean similarity of the path's frames. Spec: cpp/align/README.md.
    """
    return Segments(*_core.tn(sims, **params))


def hv(sims: np.ndarray, /, **params) -> Segments:
    """Hough voting over time offsets (Douze et al., IEEE TMM 2010) with VCSL's exact semantics.

    sims: (P, Q) float32 similarity map as for `tn`. Every diagonal (offset r - q) holding a
    similarity >= min_sim votes with the sum of its similarities (those below min_sim count
    as 0); the max_peaks highest votes become boxes spanning their whole diagonal, and a box
    whose IoU with a higher-voted kept box exceeds iou_thresh is dropped. Box score: the vote
    divided by the diagonal's length. Spec: cpp/align/README.md.
    """
    return Segments(*_core.hv(sims, **params))


def dp(sims: np.ndarray, /, **params) -> Segments:
    """VCSL's DP alignment (Chou et al. 2015) of a (P, Q) float32 similarity map.

    As in VCSL, the map is shifted by +1 first, so `min_sim` (a cell with sims + 1 < min_sim is
    unmatched) and `ave_sim` (a segment needs mean(sims + 1) > ave_sim) are in shifted units.
    The defaults are VCSL's DpVtaModel's; VCSL's `dp` signature defaults are min_sim=1.0,
    ave_sim=1.3, diagonal_thres=30. Scores: mean of `sims` (unshifted) along each segment's path.
    """
    return Segments(*_core.dp(sims, **params))


def dtw(sims: np.ndarray, /, **params) -> Segments:
    """VCSL's DTW alignment of a (P, Q) float32 similarity map (tslearn DTW on 1 - sims).

    One warping path from (0, 0) to (P-1, Q-1) is cut where it stays on one frame for more than
    `discontinue` steps; pieces with more than `min_length` frames on both axes and mean
    similarity > `min_sim` are kept. Scores: mean similarity along each piece.
    """
    return Segments(*_core.dtw(sims, **params))


def chain(sims: np.ndarray, /, **params) -> Segments:
    """vcdfast's chain alignment of a (P, Q) float32 similarity map: the heaviest chain of
    cells >= min_sim (each 1 to max_step rows below and 0 to max_step columns right of the one
    before, a step within its column costing stall_cost of the weight; the chain `trim` cuts
    boxes to, at no cost), whose query rows are then claimed, again up to
    max_chains times; chains covering fewer than min_frames frames on an axis are not kept.
    A query frame thus lies in at most one box, however often the reference repeats the shot
    it copies, and several copies of one reference in one query each get their box. Box
    score: the chain's mean similarity. Spec: cpp/align/README.md, "Chains".
    """
    return Segments(*_core.chain(sims, **params))


def trim(sims: np.ndarray, boxes: np.ndarray, /, **params) -> Segments:
    """Each box (int64 (N, 4)) cut to the extent of the heaviest chain of frame pairs >= trim_sim
    inside it on the (P, Q) float32 map, and rescored with the chain's mean similarity; boxes
    holding no such pair are dropped. Keywords: trim_sim (required) and trim_gap. A chain steps 1
    to trim_gap rows down and 0 to trim_gap columns right. Spec: cpp/align/README.md, "Trimming"."""
    return Segments(*_core.trim(sims, boxes, **params))


def chain_extent(sims: np.ndarray, trim_sim: float, trim_gap: int) -> tuple[int, int, int, int, float] | None:
    """(q_start, r_start, q_end, r_end, score) of the heaviest chain in the whole (P, Q) map (see
    `trim`), score its mean similarity; None when no cell reaches trim_sim."""
    whole = np.array([[0, 0, sims.shape[0] - 1, sims.shape[1] - 1]], np.int64)
    boxes, scores = _core.trim(sims, whole, trim_sim=trim_sim, trim_gap=trim_gap)
    return (*map(int, boxes[0]), float(scores[0])) if len(boxes) else None


# The batch's cancel handle: call .cancel() from any thread to stop align_batch between pairs.
CancelToken = _core.CancelToken


def align_batch(
    query: np.ndarray,
    refs,
    /,
    *,
    similarity: str = "cosine",
    method: str = "tn",
    params: dict | None = None,
    normalize: bool = False,
    norm_bounds: tuple[float, float] | None = None,
    bias: np.ndarray | None = None,
    num_threads: int = 1,
    cancel: CancelToken | None = None,
    return_maps: bool = False,
) -> list[Segments] | tuple[list[Segments], list[np.ndarray]]:
    """Align one (T, V, D) float32 query against many (T_i, V_i, D) references.

    Per pair, the similarity map ("cosine" needs V = 1; "chamfer_symmetric" is VCSL's,
    "chamfer_asymmetric" ViSiL's; "query_view_max" takes the max over the query's views, see
    `vcdfast.similarity.query_view_max`, and alone accepts `bias`, float32 (T, V) subtracted
    from each query view's similarity) is computed once and aligned with `method` ("tn", "hv",
    "dp", "dtw"), then trimmed on the same map when params' trim_sim is set. `params` holds the
    method's and trimming's keywords (`defaults(method)`; unknown keys raise TypeError).
    `normalize` applies VCSL's sim_norm: clip to `norm_bounds` (None: the table's) and divide by
    their span. Pairs run on `num_threads` OpenMP threads with the GIL released.
    Returns one Segments per reference, in order; with `return_maps`, also each pair's
    (T, T_i) float32 map as aligned.
    """
    refs = refs if isinstance(refs, (list, tuple)) else list(refs)
    found = _core.align_batch(
        query,
        refs,
        similarity=similarity,
        method=method,
        params=params,
        normalize=normalize,
        norm_bounds=norm_bounds,
        bias=bias,
        num_threads=num_threads,
        cancel=cancel,
        return_maps=return_maps,
    )
    if return_maps:
        segments, maps = found
        return [Segments(boxes, scores) for boxes, scores in segments], maps
    return [Segments(boxes, scores) for boxes, scores in found]
