"""Frame-to-frame similarity matrices (C++ kernels, SIMD chosen at run time).

The kernels take float32 arrays whose last axis is contiguous and never convert silently;
`ensure_f32` is the visible place where a copy may happen.
"""

from __future__ import annotations

import numpy as np

from vcdfast import _core

__all__ = ["chamfer_asymmetric", "chamfer_symmetric", "cosine", "ensure_f32"]


def ensure_f32(x: np.ndarray) -> np.ndarray:
    """`x` as float32 with a contiguous last axis, copying only when it must."""
    x = np.asarray(x)
    if x.dtype == np.float32 and x.ndim and x.strides[-1] == 4 and all(s >= 0 for s in x.strides):
        return x
    return np.ascontiguousarray(x, dtype=np.float32)


def cosine(q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None) -> np.ndarray:
    """(P, D) x (Q, D) -> (P, Q) inner products; cosine when rows are L2-normalised."""
    return _core.cosine(q, r, num_threads=num_threads, out=out)


def chamfer_asymmetric(
    q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """ViSiL's chamfer similarity of (P, V, D) x (Q, W, D): mean over q's views of the max over r's."""
    return _core.chamfer_asymmetric(q, r, num_threads=num_threads, out=out)


def chamfer_symmetric(
    q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """VCSL's chamfer similarity: the mean of the asymmetric forms in both directions."""
    return _core.chamfer_symmetric(q, r, num_threads=num_threads, out=out)
