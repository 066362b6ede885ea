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


# --- DP, DTW and the batch entry point ---
