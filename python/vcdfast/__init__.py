"""vcdfast: segment-level video copy detection.

`import vcdfast` loads only NumPy and the C++ core; decoding (PyAV), models (ONNX Runtime)
and storage (pymilvus, plyvel) are imported by the modules that use them.
"""

from vcdfast import _core, align, similarity
from vcdfast._core import build_info, set_simd_level, simd_level, simd_levels
from vcdfast.align import CancelToken, Segments
from vcdfast.errors import (
    CancelledError,
    IndexLockedError,
    IndexMismatchError,
    ModelError,
    VcdfastError,
    VideoDecodeError,
    VideoNotFoundError,
)
from vcdfast.similarity import chamfer_asymmetric, chamfer_symmetric, cosine, ensure_f32, query_view_max

# Compiled into the extension from the project version by scikit-build-core ("0.0.0" in a
# development build). importlib.metadata would scan every installed distribution at import:
# 30 ms here, several times that in a large environment.
__version__ = _core.build_info()["version"]

__all__ = [
    "CancelToken",
    "CancelledError",
    "IndexLockedError",
    "IndexMismatchError",
    "ModelError",
    "Segments",
    "VcdfastError",
    "VideoDecodeError",
    "VideoNotFoundError",
    "align",
    "__version__",
    "build_info",
    "chamfer_asymmetric",
    "chamfer_symmetric",
    "cosine",
    "ensure_f32",
    "query_view_max",
    "set_simd_level",
    "simd_level",
    "similarity",
    "simd_levels",
]


def __getattr__(name: str):
    """`vcdfast.Index`, `vcdfast.Match`, `vcdfast.compare`: loaded on first use."""
    if name in ("Index", "Match"):
        from vcdfast import index

        return getattr(index, name)
    if name == "compare":
        from vcdfast.pairwise import compare

        return compare
    raise AttributeError(f"module 'vcdfast' has no attribute {name!r}")
