"""
vcdfast C++ core: similarity matrices and temporal alignment
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['CancelToken', 'CancelledError', 'VcdfastError', 'align_batch', 'build_info', 'chamfer_asymmetric', 'chamfer_symmetric', 'cosine', 'dp', 'dtw', 'hv', 'query_view_max', 'set_simd_level', 'simd_level', 'simd_levels', 'tn']
class VcdfastError(Exception):
    pass
class CancelledError(VcdfastError):
    pass
class CancelToken:
    """
    Pass to align_batch(cancel=...); cancel() from any thread stops the batch between pairs with vcdfast.CancelledError.
    """
    def __init__(self) -> None:
        ...
    def cancel(self) -> None:
        """
        Ask the batch to stop.
        """
    @property
    def cancelled(self) -> bool:
        ...
def align_batch(query: typing.Any, refs: typing.Any, /, *, similarity: str = 'cosine', method: str = 'tn', params: typing.Any = None, normalize: bool = False, norm_bounds: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] = (0.0, 0.3), bias: typing.Any = None, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, cancel: typing.Any = None) -> list:
    """
    One (T, V, D) query against many references: similarity + alignment per pair, pairs in parallel with the GIL released -> list of (boxes, scores).
    """
def build_info() -> dict:
    """
    Compiler, build type, OpenMP and SIMD levels of this build.
    """
def chamfer_asymmetric(q: typing.Any, r: typing.Any, /, *, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    (P, V, D) x (Q, W, D) float32 -> (P, Q): ViSiL chamfer, mean_v max_w <q[p, v], r[q, w]>.
    Any NaN in a frame pair's products gives NaN.
    """
def chamfer_symmetric(q: typing.Any, r: typing.Any, /, *, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    (P, V, D) x (Q, W, D) float32 -> (P, Q): VCSL chamfer, (mean_v max_w S + mean_w max_v S) / 2.
    Any NaN in a frame pair's products gives NaN.
    """
def cosine(q: typing.Any, r: typing.Any, /, *, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    (P, D) x (Q, D) float32 -> (P, Q) float32 inner products (cosine for L2-normalised rows).
    Accumulated in float32 with FMA; NaN/inf propagate as in BLAS.
    """
def dp(sims: typing.Any, /, *, discontinue: typing.SupportsInt | typing.SupportsIndex = 3, min_sim: typing.SupportsFloat | typing.SupportsIndex = 0.0, ave_sim: typing.SupportsFloat | typing.SupportsIndex = 0.3, min_length: typing.SupportsInt | typing.SupportsIndex = 5, diagonal_thres: typing.SupportsInt | typing.SupportsIndex = 10) -> tuple:
    """
    VCSL's DP alignment of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)). min_sim and ave_sim apply to sims + 1, as in VCSL.
    """
def dtw(sims: typing.Any, /, *, discontinue: typing.SupportsInt | typing.SupportsIndex = 3, min_sim: typing.SupportsFloat | typing.SupportsIndex = 0.2, min_length: typing.SupportsInt | typing.SupportsIndex = 5) -> tuple:
    """
    VCSL's DTW alignment of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    """
def hv(sims: typing.Any, /, *, iou_thresh: typing.SupportsFloat | typing.SupportsIndex = 0.9, min_sim: typing.SupportsFloat | typing.SupportsIndex = 0.2, max_peaks: typing.Any = 100) -> tuple:
    """
    Hough-voting alignment of a (P, Q) float32 similarity map (VCSL's hv). Returns (boxes int64 (N, 4), scores float32 (N,)).
    """
def query_view_max(q: typing.Any, r: typing.Any, /, *, bias: typing.Any = None, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, out: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    (P, V, D) x (Q, W, D) float32 -> (P, Q): max over the query's views, mean over the reference's,
    mean_w max_v (<q[p, v], r[j, w]> - bias[p, v]); bias: None or float32 (P, V).
    Any NaN in a frame pair's products or biases gives NaN.
    """
def set_simd_level(level: str) -> None:
    """
    Force a SIMD level (process-wide); ValueError if this host lacks it.
    """
def simd_level() -> str:
    """
    The SIMD level the kernels use now.
    """
def simd_levels() -> list:
    """
    SIMD levels compiled in and supported by this CPU, lowest first.
    """
def tn(sims: typing.Any, /, *, max_step: typing.Any = 10, top_k: typing.Any = 5, max_path: typing.Any = 10, min_sim: typing.SupportsFloat | typing.SupportsIndex = 0.2, min_length: typing.Any = 5, max_iou: typing.SupportsFloat | typing.SupportsIndex = 0.3) -> tuple:
    """
    Temporal-network alignment of a (P, Q) float32 similarity map (VCSL's tn). Returns (boxes int64 (N, 4), scores float32 (N,)).
    """
