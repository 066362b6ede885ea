"""
vcdfast C++ core: similarity matrices and temporal alignment
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['CancelToken', 'CancelledError', 'VcdfastError', 'align_batch', 'align_defaults', 'align_params', 'build_info', 'chain', 'chamfer_asymmetric', 'chamfer_symmetric', 'cosine', 'dp', 'dtw', 'hv', 'query_view_max', 'set_simd_level', 'simd_level', 'simd_levels', 'similarity_maps_computed', 'tn', 'trim']
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
def align_batch(query: typing.Any, refs: typing.Any, /, *, similarity: str = 'cosine', method: str = 'tn', params: typing.Any = None, normalize: bool = False, norm_bounds: tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] | None = None, bias: typing.Any = None, num_threads: typing.SupportsInt | typing.SupportsIndex = 1, cancel: typing.Any = None, return_maps: bool = False) -> typing.Any:
    """
    One (T, V, D) query against many references: similarity + alignment (+ trimming) per pair, pairs in parallel with the GIL released -> list of (boxes, scores); with return_maps, (that list, the maps). params: the method's and trimming's keywords (align_defaults); norm_bounds None: the table's.
    """
def align_defaults(method: str, *, preset: str = 'kernel') -> dict:
    """
    Every keyword `method` takes (its own and trimming's) with its default: preset 'kernel' is the single-pair functions' (VCSL's), 'query' is vcdfast.query's.
    """
def align_params() -> list:
    """
    The table of alignment parameters: group (a method, 'trim' or 'norm'), name, kind, default, min (None: unbounded), min_inclusive, doc.
    """
def build_info() -> dict:
    """
    Compiler, build type, OpenMP and SIMD levels of this build.
    """
def chain(sims: typing.Any, /, **kwargs) -> tuple:
    """
    Iterative heaviest-chain alignment (vcdfast's; each query frame in at most one box) of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    Keywords (defaults): min_sim=0.15, max_step=2, min_frames=2, max_chains=32, stall_cost=0.2, trim_sim=None, trim_gap=3.
    Boxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.
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
def dp(sims: typing.Any, /, **kwargs) -> tuple:
    """
    VCSL's DP alignment (min_sim and ave_sim apply to sims + 1, as in VCSL) of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    Keywords (defaults): discontinue=3, min_sim=0.0, ave_sim=0.3, min_length=5, diagonal_thres=10, trim_sim=None, trim_gap=3.
    Boxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.
    """
def dtw(sims: typing.Any, /, **kwargs) -> tuple:
    """
    VCSL's DTW alignment of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    Keywords (defaults): discontinue=3, min_sim=0.2, min_length=5, trim_sim=None, trim_gap=3.
    Boxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.
    """
def hv(sims: typing.Any, /, **kwargs) -> tuple:
    """
    Hough-voting alignment (VCSL's hv) of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    Keywords (defaults): iou_thresh=0.9, min_sim=0.2, max_peaks=100, trim_sim=None, trim_gap=3.
    Boxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.
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
def similarity_maps_computed() -> int:
    """
    Similarity maps computed in this process so far (every cosine / chamfer / query_view_max kernel call, the batch's included): a debug counter.
    """
def tn(sims: typing.Any, /, **kwargs) -> tuple:
    """
    Temporal-network alignment (VCSL's tn) of a (P, Q) float32 similarity map -> (boxes int64 (N, 4), scores float32 (N,)).
    Keywords (defaults): max_step=10, top_k=5, max_path=10, min_sim=0.2, min_length=5, max_iou=0.3, trim_sim=None, trim_gap=3.
    Boxes are trimmed (and rescored) when trim_sim is set; see cpp/align/README.md.
    """
def trim(sims: typing.Any, boxes: typing.Any, /, **kwargs) -> tuple:
    """
    Boxes (int64 (N, 4) [q_start, r_start, q_end, r_end]) on a (P, Q) float32 map cut to their heaviest chain of pairs >= trim_sim and rescored with its mean similarity -> (boxes, scores); keywords trim_sim (required) and trim_gap (see align_params()).
    """
