"""One descriptor per video, for video-level near-duplicate search."""

from __future__ import annotations

import numpy as np

__all__ = ["pool"]


def pool(vectors: np.ndarray) -> np.ndarray:
    """The mean over frames and views, L2-normalised."""
    v = np.asarray(vectors, np.float32).reshape(-1, vectors.shape[-1]).mean(axis=0)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v
