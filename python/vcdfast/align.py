"""Temporal alignment of similarity maps into copied segments (C++ kernels, VCSL semantics).

Boxes are inclusive frame indices in VCSL's order [q_start, r_start, q_end, r_end].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vcdfast import _core


class Segments(NamedTuple):
    """Copied segments of one (query, reference) pair."""

    boxes: np.ndarray  # (N, 4) int64: [q_start, r_start, q_end, r_end], inclusive frame indices
    scores: np.ndarray  # (N,) float32; see cpp/align/README.md for each method's score


# --- TN and HV (single pair) ---


def tn(
    sims: np.ndarray,
    /,
    *,
    max_step: int = 10,
    top_k: int = 5,
    max_path: int = 10,
    min_sim: float = 0.2,
    min_length: int = 5,
    max_iou: float = 0.3,
) -> Segments:
    """Temporal-network alignment (Tan et al., ACM MM 2009) with VCSL's exact semantics.

    sims: (P, Q) float32 similarity map, query frames x reference frames, last axis
    contiguous, finite. Each query frame keeps its top_k most similar reference frames
    (top_k is clamped to Q); frames up to max_step apart on both axes are linked into a
    graph whose heaviest path is taken max_path + 1 times. A path becomes a box when its
    summed similarity over its average side length exceeds min_sim, both sides span more
    than min_length frames and its IoU with every earlier box is below max_iou.
    Defaults are towhee's; VCSL's tuned set for ISC features is top_k=3, min_sim=0.3.
    Box score: mean similarity of the path's frames. Spec: cpp/align/README.md.

    Raises TypeError for a non-float32 map and ValueError for a bad shape, layout, NaN or
    infinity, or a parameter out of range.
    """
    boxes, scores = _core.tn(
        sims,
        max_step=max_step,
        top_k=top_k,
        max_path=max_path,
        min_sim=min_sim,
        min_length=min_length,
        max_iou=max_iou,
    )
    return Segments(boxes, scores)


def hv(
    sims: np.ndarray, /, *, iou_thresh: float = 0.9, min_sim: float = 0.2, max_peaks: int = 100
) -> Segments:
    """Hough voting over time offsets (Douze et al., IEEE TMM 2010) with VCSL's exact semantics.

    sims: (P, Q) float32 similarity map as for `tn`. Every diagonal (offset r - q) holding a
    similarity >= min_sim votes with the sum of its similarities (those below min_sim count
    as 0); the max_peaks highest votes become boxes spanning their whole diagonal, and a box
    whose IoU with a higher-voted kept box exceeds iou_thresh is dropped. Box score: the vote
    divided by the diagonal's length. Spec: cpp/align/README.md.

    Raises TypeError for a non-float32 map and ValueError for a bad shape, layout, NaN or
    infinity, or a parameter out of range.
    """
    boxes, scores = _core.hv(sims, iou_thresh=iou_thresh, min_sim=min_sim, max_peaks=max_peaks)
    return Segments(boxes, scores)


# --- DP, DTW and the batch entry point ---

# The batch's cancel handle: call .cancel() from any thread to stop align_batch between pairs.
CancelToken = _core.CancelToken


def dp(
    sims: np.ndarray,
    /,
    *,
    discontinue: int = 3,
    min_sim: float = 0.0,
    ave_sim: float = 0.3,
    min_length: int = 5,
    diagonal_thres: int = 10,
) -> Segments:
    """VCSL's DP alignment (Chou et al. 2015) of a (P, Q) float32 similarity map.

    As in VCSL, the map is shifted by +1 first, so `min_sim` (a cell with sims + 1 < min_sim is
    unmatched) and `ave_sim` (a segment needs mean(sims + 1) > ave_sim) are in shifted units.
    The defaults are VCSL's DpVtaModel's; VCSL's `dp` signature defaults are min_sim=1.0,
    ave_sim=1.3, diagonal_thres=30. Scores: mean of `sims` (unshifted) along each segment's path.
    """
    boxes, scores = _core.dp(
        sims,
        discontinue=discontinue,
        min_sim=min_sim,
        ave_sim=ave_sim,
        min_length=min_length,
        diagonal_thres=diagonal_thres,
    )
    return Segments(boxes, scores)


def dtw(sims: np.ndarray, /, *, discontinue: int = 3, min_sim: float = 0.2, min_length: int = 5) -> Segments:
    """VCSL's DTW alignment of a (P, Q) float32 similarity map (tslearn DTW on 1 - sims).

    One warping path from (0, 0) to (P-1, Q-1) is cut where it stays on one frame for more than
    `discontinue` steps; pieces with more than `min_length` frames on both axes and mean
    similarity > `min_sim` are kept. Scores: mean similarity along each piece.
    """
    boxes, scores = _core.dtw(sims, discontinue=discontinue, min_sim=min_sim, min_length=min_length)
    return Segments(boxes, scores)


def align_batch(
    query: np.ndarray,
    refs,
    /,
    *,
    similarity: str = "cosine",
    method: str = "tn",
    params: dict | None = None,
    normalize: bool = False,
    norm_bounds: tuple[float, float] = (0.0, 0.3),
    bias: np.ndarray | None = None,
    num_threads: int = 1,
    cancel: CancelToken | None = None,
) -> list[Segments]:
    """Align one (T, V, D) float32 query against many (T_i, V_i, D) references.

    Per pair, the similarity map ("cosine" needs V = 1; "chamfer_symmetric" is VCSL's,
    "chamfer_asymmetric" ViSiL's; "query_view_max" takes the max over the query's views, see
    `vcdfast.similarity.query_view_max`, and alone accepts `bias`, float32 (T, V) subtracted
    from each query view's similarity) is computed and aligned with `method` ("tn", "hv", "dp",
    "dtw"); `params` holds that method's keywords as accepted by the single-pair function
    (unknown keys raise TypeError). `normalize` applies VCSL's sim_norm: clip to `norm_bounds`
    and divide by their span. Pairs run on `num_threads` OpenMP threads with the GIL released.
    Returns one Segments per reference, in order.
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
    )
    return [Segments(boxes, scores) for boxes, scores in found]
