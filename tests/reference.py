"""Naive float64 NumPy/Python references for every C++ kernel. The kernels' specs in
cpp/kernels/*/README.md and cpp/align/README.md are written against these functions."""

from __future__ import annotations

import numpy as np

# --- similarity: cosine and chamfer ---


# --- alignment: TN and HV ---


# --- alignment: DP and DTW ---
