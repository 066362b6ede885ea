"""Hard cuts: where a video's picture changes at once, found while it decodes, and used to place
a match's reference span between samples.

A match's reference span comes from descriptors 1 s apart, and under crops and overlays a
descriptor barely changes within half a second, so the span can sit up to half a sample off
the copy. A cut inside the copied part is in both videos to within a frame: `meet_cuts` moves
each match's reference span so that the query's cuts inside it land on the reference's.

`CutFinder` takes every decoded frame (not only the sampled ones) as an 18 x 32 grid of luma
block means, and calls a frame a cut when its change from the frame before is large (a mean
of FLOOR of the luma range) and RATIO times any change within two frames either side, so a
pan, a zoom or noise, which change every frame alike, is never one.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import replace

import numpy as np

__all__ = ["AGREE_S", "FLOOR", "GRID", "MARGIN_S", "NEIGHBOURS", "RATIO", "CutFinder", "luma_signature", "meet_cuts"]

GRID = (18, 32)  # block rows, columns
_POINTS = 4  # luma samples per block side: the means average out grain and noise
FLOOR = 0.04  # mean absolute luma change, of the range, that a cut reaches
RATIO = 3.0  # how many times its neighbours' change a cut's change is
NEIGHBOURS = 2  # frames either side a cut's change is compared with
MARGIN_S = 0.25  # a query cut this near a match's end may be the copy's own start or end
AGREE_S = 0.2  # the shifts of one match's cuts agree within this, or the match is left as it is

# block means as two small products: (rows of blocks x rows of points) and (columns of points x of blocks)
_ROW_MEANS = np.kron(np.eye(GRID[0], dtype=np.float32), np.full((1, _POINTS), 1 / _POINTS, np.float32))
_COLUMN_MEANS = np.kron(np.eye(GRID[1], dtype=np.float32), np.full((_POINTS, 1), 1 / _POINTS, np.float32))

# 8-bit formats whose first plane is the luma at full size
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
                         "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "gray"})


def luma_signature(frame, reformatter) -> np.ndarray:
    """(18, 32) float32 luma block means (0-255) of a PyAV VideoFrame, from a grid of points
    (4 x 4 per block) read off its luma plane; other formats are first converted to grey with
    `reformatter` (an av.video.reformatter.VideoReformatter kept across frames)."""
    rows, cols = GRID[0] * _POINTS, GRID[1] * _POINTS
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        h, w = plane.height, plane.width
    else:
        y = reformatter.reformat(frame, format="gray", width=cols, height=rows, interpolation="AREA").to_ndarray()
        h, w = rows, cols
    r, c = _points(h, w)
    return _ROW_MEANS @ y[r][:, c].astype(np.float32) @ _COLUMN_MEANS  # a third of the time of a reshaped mean


@functools.lru_cache(maxsize=16)
def _points(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns of a frame of h x w pixels that luma_signature reads."""
    rows, cols = GRID[0] * _POINTS, GRID[1] * _POINTS
    return (((np.arange(rows) + 0.5) * h / rows).astype(np.intp),
            ((np.arange(cols) + 0.5) * w / cols).astype(np.intp))


class CutFinder:
    """Cuts among frames added in time order (add_frame(t, a PyAV VideoFrame), or
    add(t, its luma_signature)), decided NEIGHBOURS frames late; `cuts()` gives those decided,
    and after `finish()` all of them."""

    def __init__(self):
        self._last: np.ndarray | None = None
        self._changes: deque = deque()  # (t, change) of the frames not yet decided, and NEIGHBOURS before them
        self._found: list[float] = []
        self._decided = 0  # of _changes, how many lead the first undecided one
        self._reformatter = None

    def add_frame(self, t: float, frame) -> None:
        if self._reformatter is None:
            from av.video.reformatter import VideoReformatter

            self._reformatter = VideoReformatter()  # keeps its conversion context across frames
        self.add(t, luma_signature(frame, self._reformatter))

    def add(self, t: float, signature: np.ndarray) -> None:
        if self._last is not None:
            self._changes.append((t, float(np.abs(signature - self._last).mean()) / 255.0))
            self._decide(final=False)
        self._last = signature

    def finish(self) -> None:
        self._decide(final=True)

    def cuts(self) -> tuple[float, ...]:
        return tuple(self._found)

    def _decide(self, final: bool) -> None:
        while self._decided < len(self._changes) and (final or len(self._changes) - self._decided > NEIGHBOURS):
            t, change = self._changes[self._decided]
            around = [c for k, (_, c) in enumerate(self._changes) if k != self._decided]
            if change >= FLOOR and change >= RATIO * max(around, default=0.0):
                self._found.append(t)
            if self._decided < NEIGHBOURS:
                self._decided += 1
            else:
                self._changes.popleft()


def meet_cuts(matches: list, query_cuts, ref_cuts: dict, window: float, *, durations: dict) -> list:
    """`matches` (vcdfast.query.Match) with each reference span moved along its line so that
    the query cuts inside its query span (more than MARGIN_S from either end) meet the
    reference's nearest cuts: by the median of their shifts, where each is at most `window`
    seconds and all agree within AGREE_S; a match without such cuts is left as it is. A move
    stops at the reference's start or end, so the span keeps its length and never leaves it.
    query_cuts: the query's cut times (s), None when not looked for; ref_cuts: reference id
    -> its cut times, or None; durations: reference id -> its length (s), or None where not
    known (then only its start bounds a move)."""
    if query_cuts is None or not len(query_cuts):
        return list(matches)
    query_cuts = np.asarray(query_cuts, np.float64)
    out = []
    for m in matches:
        cuts = ref_cuts.get(m.ref_id)
        inside = query_cuts[(query_cuts > m.query_start + MARGIN_S) & (query_cuts < m.query_end - MARGIN_S)]
        if cuts is not None and len(cuts) and len(inside):  # inside is empty for a match under 2 margins long
            cuts = np.asarray(cuts, np.float64)
            slope = (m.ref_end - m.ref_start) / (m.query_end - m.query_start)
            at = m.ref_start + slope * (inside - m.query_start)
            nearest = cuts[np.abs(cuts[None, :] - at[:, None]).argmin(axis=1)]
            shifts = (nearest - at)[np.abs(nearest - at) <= window]
            if len(shifts):
                shift = float(np.median(shifts))
                if np.abs(shifts - shift).max() <= AGREE_S:
                    # the copy lies inside the reference: a cut past its end or before its start
                    # asks for more than the span can move (never a move the other way)
                    length = durations.get(m.ref_id)
                    if length is not None:
                        shift = min(shift, max(0.0, length - m.ref_end))
                    shift = max(shift, min(0.0, -m.ref_start))
                    m = replace(m, ref_start=m.ref_start + shift, ref_end=m.ref_end + shift)
        out.append(m)
    return out
