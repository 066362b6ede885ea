"""Frame-to-frame similarity matrices (C++ kernels, SIMD chosen at run time).

The kernels take float32 arrays whose last axis is contiguous (rows may be strided) and never
convert silently; `ensure_f32` is the visible place where a copy may happen. Results are float32,
accumulated in float32. NaN and infinity are not rejected: they propagate as in BLAS (and as
NumPy's max does for chamfer); see cpp/kernels/cosine/README.md and cpp/kernels/chamfer/README.md.
Results do not depend on `num_threads`; they may differ in the last bits between SIMD levels.
"""

from __future__ import annotations

import numpy as np

from vcdfast import _core

__all__ = ["chamfer_asymmetric", "chamfer_symmetric", "cosine", "ensure_f32", "query_view_max"]


def ensure_f32(x: np.ndarray) -> np.ndarray:
    """`x` as float32 with a contiguous last axis, copying only when it must."""
    x = np.asarray(x)
    if x.dtype == np.float32 and x.ndim and x.strides[-1] == 4 and all(s >= 0 for s in x.strides):
        return x
    return np.ascontiguousarray(x, dtype=np.float32)


def cosine(q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None) -> np.ndarray:
    """(P, D) x (Q, D) -> (P, Q) inner products; cosine when rows are L2-normalised.

    `out`, if given, is a writable float32 (P, Q) array (rows may be strided) that does not overlap
    q or r; it is filled and returned. A NaN in q[p] makes row p NaN.
    """
    return _core.cosine(q, r, num_threads=num_threads, out=out)


def chamfer_asymmetric(
    q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """ViSiL's chamfer similarity of (P, V, D) x (Q, W, D) -> (P, Q).

    out[p, j] = mean over v of max over w of <q[p, v], r[j, w]>. Any NaN among a frame pair's
    products makes that entry NaN.
    """
    return _core.chamfer_asymmetric(q, r, num_threads=num_threads, out=out)


def chamfer_symmetric(
    q: np.ndarray, r: np.ndarray, /, *, num_threads: int = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """VCSL's chamfer similarity (vta.py chamfer_sim_cpu) of (P, V, D) x (Q, W, D) -> (P, Q).

    The mean of the asymmetric forms in both directions:
    (mean_v max_w S + mean_w max_v S) / 2 with S = <q[p, v], r[j, w]>. Unlike VCSL it always
    returns (P, Q), also for P == 1 or Q == 1.
    """
    return _core.chamfer_symmetric(q, r, num_threads=num_threads, out=out)


def query_view_max(
    q: np.ndarray,
    r: np.ndarray,
    /,
    *,
    bias: np.ndarray | None = None,
    num_threads: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Similarity of views that are alternative pictures of a frame: (P, V, D) x (Q, W, D) ->
    (P, Q), V and W independent.

    out[p, j] = max over v and w of (<q[p, v], r[j, w]> - bias[p, v]): a frame pair scores its
    best pair of views. With one view per reference frame (W = 1) and no `bias` it is
    `chamfer_asymmetric(r, q).T`, bit for bit. `bias`: None or float32 (P, V), subtracted from
    each query view's similarity before the max (how per-view score normalisation enters).
    Any NaN among a frame pair's products or biases makes that entry NaN.
    """
    return _core.query_view_max(q, r, bias=bias, num_threads=num_threads, out=out)
