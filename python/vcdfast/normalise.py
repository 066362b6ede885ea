"""Score normalisation: similarities measured against a background, so that one threshold
means the same on dark, static or generic frames as on rich ones.

A query descriptor x (one view of one frame) is compared with a reference frame r by

    s'(x, r) = x . r - beta * b(x),    b(x) = k-th largest x . y over the background Y,

the VSC 2022 SSCD baseline's normalisation. A generic frame (black, a logo, a title card, a
quarter view of sky) is close to many background frames, so b(x) is high and its chance
matches fall below zero; a distinctive frame has b(x) near 0 and keeps its similarity.
With a `margin`, the bias is min(beta * b(x), b(x) + margin): a frame still needs margin
more similarity to a reference than to its k-th background neighbour, but beta no longer
multiplies a high b(x) past reach (a symbol drawing among its kind, b(x) about 0.3, lost
copies of raw cosine 0.85 to a bias of 0.9 at beta 3).

The background is drawn from the index itself, not shipped: it then has the catalogue's own
generic content (its intros, its studio backdrops), needs no per-model file, and exists for
any model registered by path. Each video gives at most `per_video` frames, spread over its
length (more in a catalogue of fewer than 2k / per_video videos), always fewer than k, so the
k-th neighbour is never decided by one video alone (a copy of an indexed video cannot raise
its own bias; only content that recurs across videos can). Below k frames in all (a single
video) the bias is 0: nothing tells generic from specific there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_BACKGROUND", "Background", "BackgroundSpec", "background_rows", "spread"]


@dataclass(frozen=True)
class BackgroundSpec:
    """How a background is drawn and used. per_video frames from each of at most
    limit // per_video videos; b(x) is the k-th largest similarity; beta scales it, up to
    b(x) + margin (None: no cap). The defaults (k 16, beta 3) were chosen with the query
    defaults (vcdfast.query.QueryOptions); the margin (0.3) later, on the same tuning split
    (BENCHMARKS.md), the best of none / 0.5 / 0.4 / 0.3 / 0.25 / 0.2 under the sweep's rule
    (at most 5% of copy-free queries flagged, also at a report threshold 0.05 lower)."""

    per_video: int = 4
    limit: int = 4096
    k: int = 16
    beta: float = 3.0
    margin: float | None = 0.3

    def frames_per_video(self, videos: int) -> int:
        """per_video, raised for a small catalogue so the background holds about 2k frames
        (a few videos must still say what is generic), and always < k."""
        return min(self.k - 1, max(self.per_video, -(-2 * self.k // max(1, videos))))

    def __post_init__(self):
        if not (1 <= self.per_video and self.per_video < self.k and self.k <= self.limit):
            raise ValueError(f"background needs 1 <= per_video < k <= limit, got per_video={self.per_video}, "
                             f"k={self.k}, limit={self.limit}")
        if not np.isfinite(self.beta) or self.beta < 0:
            raise ValueError(f"beta must be finite and >= 0, got {self.beta}")
        if self.margin is not None and not (np.isfinite(self.margin) and self.margin >= 0):
            raise ValueError(f"margin must be None or finite and >= 0, got {self.margin}")


DEFAULT_BACKGROUND = BackgroundSpec()


def spread(n: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly over n frames (all of them when n <= count)."""
    if n <= count:
        return np.arange(n)
    return np.round(np.linspace(0, n - 1, count)).astype(np.int64)


def background_rows(matrix: np.ndarray, per_video: int) -> np.ndarray:
    """The frames a (T, V, D) matrix gives a background, (per_video, V, D): per_video spread
    over it, with every view."""
    return np.asarray(matrix)[spread(len(matrix), per_video)]


class Background:
    """Background frames, descriptors (N, D) or (N, W, D) float32 (W views per frame), and the
    bias b(x) of query descriptors."""

    def __init__(self, vectors: np.ndarray, spec: BackgroundSpec = DEFAULT_BACKGROUND):
        v = np.ascontiguousarray(vectors, np.float32)
        if v.ndim == 2:
            v = v[:, None, :]
        if v.ndim != 3:
            raise ValueError(f"background vectors must be (N, D) or (N, W, D), got shape {v.shape}")
        self.vectors, self.spec = v, spec

    @classmethod
    def sample(cls, matrices: Sequence[np.ndarray], spec: BackgroundSpec = DEFAULT_BACKGROUND,
               videos: int | None = None) -> Background:
        """From per-video (T, V, D) matrices (every view), in a deterministic order chosen by
        the caller, `videos` of them in the catalogue (default: len(matrices)); stops after
        limit // frames_per_video videos."""
        per_video = spec.frames_per_video(len(matrices) if videos is None else videos)
        rows, dim = [], None
        for m in matrices:
            m = np.asarray(m)
            dim = m.shape[-1]
            if len(m):
                rows.append(background_rows(m, per_video))
            if len(rows) * per_video >= spec.limit:
                break
        if not rows:
            return cls(np.zeros((0, 1, dim or 0), np.float32), spec)
        return cls(np.concatenate(rows)[:spec.limit], spec)

    def __len__(self) -> int:
        return len(self.vectors)

    def bias(self, x: np.ndarray) -> np.ndarray:
        """beta * b(x), b(x) the k-th largest similarity to the background's frames, capped at
        b(x) + margin, for each row of x (..., D); 0 where the background has fewer than k
        frames (too small to say what is generic). A frame with several views scores its best,
        as a reference frame does in the alignment's map (vcdfast.similarity.query_view_max):
        the bias is the chance level of that maximum. Counting each view as a frame of its own
        would take the k-th largest from about k / W frames, a frame's views being alike."""
        x = np.asarray(x, np.float32)
        lead = x.shape[:-1]
        if len(self.vectors) < self.spec.k or self.spec.beta == 0:
            return np.zeros(lead, np.float32)
        from vcdfast.similarity import query_view_max

        # the map's own kernel, on one thread: a small product where BLAS's thread pool costs more than the work
        s = query_view_max(np.ascontiguousarray(x.reshape(-1, 1, x.shape[-1])), self.vectors)
        kth = np.partition(s, -self.spec.k, axis=1)[:, -self.spec.k]
        bias = self.spec.beta * kth
        if self.spec.margin is not None:
            bias = np.minimum(bias, kth + self.spec.margin)
        return bias.astype(np.float32).reshape(lead)


def query_bias(background: Background | None, q: np.ndarray, views: Sequence[str] = (),
               part_margin: float = 0.0) -> np.ndarray | None:
    """The bias (T, V) subtracted from the similarities of (T, V, D) query descriptors whose
    expanded view names are `views`: the background's (None: 0), plus `part_margin` on the
    fixed parts of the frame (vcdfast.views.is_part: halves, quarters), whose chance matches
    are more frequent than a whole frame's. None when both are absent."""
    from vcdfast.views import is_part

    parts = np.array([is_part(v) for v in views], bool) if len(views) else np.zeros(q.shape[1], bool)
    if len(parts) != q.shape[1]:
        raise ValueError(f"{len(views)} view names for descriptors with {q.shape[1]} views")
    if background is None and not (part_margin and parts.any()):
        return None
    bias = background.bias(q) if background is not None else np.zeros(q.shape[:2], np.float32)
    return (bias + np.float32(part_margin) * parts).astype(np.float32)
