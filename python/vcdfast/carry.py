"""Carried insets: a picture-in-picture box that a match verifies, lent to the samples around it.

The inset detector (vcdfast.inset) finds a picture-in-picture's rectangle in some samples of a
copy and misses it, or finds only part of it, in others (its edges do not persist while the
picture behind it stands still, or an edge of the content lines up with the inset's). A box
whose crop matches some indexed frame well (its best normalised first-stage hit at least
`min_sim`) and clearly better than the whole frame does (by MARGIN) is taken as verified;
every sample within REACH samples of a verified box, whose own box is missing or smaller and
differs from it (IoU below SAME_IOU), is embedded once more with the verified box, the best
verified one in reach. The crop becomes one more query view ("inset-carried"; the sample's own
inset elsewhere), so a frame pair's similarity is still the best over the query's views.

Only larger boxes are lent: a carried box smaller than the sample's own is a crop of what the
sample shows, and a crop matches a closer pan of the same photograph as well as the copy.
On the 240-query tuning split (ends not refined), carrying to any differing box scored the
objective 0.8526 against 0.8535; larger boxes only, 0.8560 (paired interval +0.0003 to
+0.0055), picture-in-picture recall 0.625 -> 0.655 (BENCHMARKS.md, session 25).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CARRIED_VIEW", "MARGIN", "REACH", "SAME_IOU", "carried_boxes"]

CARRIED_VIEW = "inset-carried"
MARGIN = 0.1
REACH = 5
SAME_IOU = 0.7


def _area(b: np.ndarray) -> np.ndarray:
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return float(inter / (_area(a) + _area(b) - inter))


def carried_boxes(insets: np.ndarray, inset_sim: np.ndarray, full_sim: np.ndarray, min_sim: float) -> np.ndarray:
    """(T, 4) boxes to embed each sample with again, NaN where none: insets (T, 4), the
    samples' own inset boxes (NaN: none); inset_sim, full_sim (T,): the inset view's and the
    whole frame's best normalised similarity to any indexed frame (-inf: no hit)."""
    insets = np.asarray(insets, np.float32)
    inset_sim, full_sim = np.asarray(inset_sim, np.float64), np.asarray(full_sim, np.float64)
    has = np.isfinite(insets).all(axis=1)
    verified = np.flatnonzero(has & (inset_sim >= min_sim) & (inset_sim >= full_sim + MARGIN))
    out = np.full(insets.shape, np.nan, np.float32)
    for j in range(len(insets)):
        near = verified[np.abs(verified - j) <= REACH]
        if not len(near):
            continue
        i = near[np.argmax(inset_sim[near])]
        if i == j:
            continue
        if has[j] and (_iou(insets[j], insets[i]) >= SAME_IOU or _area(insets[i]) < _area(insets[j])):
            continue
        out[j] = insets[i]
    return out
