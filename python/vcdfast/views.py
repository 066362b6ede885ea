"""Views: the regions of a frame that get one embedding each, giving (T, V, D) descriptors.

Names: "full" (whole frame), "flip" (whole frame mirrored left-right), and splits "2x2"
(4 quarters, row-major), "1x2" (left, right halves), "2x1" (top, bottom halves). A split
name expands to one view per cell ("2x2:0" ... "2x2:3"); cell names are accepted too.
"inset" is the rectangle vcdfast.inset finds in each frame (a picture-in-picture, a
letterboxed picture, one side of a split screen), or the whole frame where there is none; it
depends on neighbouring frames, so Embedder.embed_video computes it (not embed_frames).
"inset-flip" is that rectangle mirrored: a flipped copy placed in a picture-in-picture.

Frames arrive at twice the model's input size whenever a split is asked for (the decoder
scales them in swscale), so every view is an exact 2x box-downsample or a plain slice of
it: no per-view resampling in Python.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INSET_VIEWS", "VIEW_NAMES", "expand_views", "make_views", "needs_insets", "scale_for"]

# split -> (rows, cols)
_SPLITS = {"2x2": (2, 2), "1x2": (1, 2), "2x1": (2, 1)}
INSET_VIEWS = ("inset", "inset-flip")  # views that need vcdfast.inset's boxes
VIEW_NAMES = ("full", "flip", *INSET_VIEWS, *_SPLITS)


def expand_views(views) -> tuple[str, ...]:
    """("full", "2x2") -> ("full", "2x2:0", "2x2:1", "2x2:2", "2x2:3"); rejects unknown names and repeats."""
    if isinstance(views, str):
        views = (views,)
    out: list[str] = []
    for v in views:
        if v in _SPLITS:
            rows, cols = _SPLITS[v]
            out.extend(f"{v}:{i}" for i in range(rows * cols))
        elif v in ("full", "flip", *INSET_VIEWS) or _cell(v) is not None:
            out.append(v)
        else:
            raise ValueError(f"unknown view {v!r}; known: {', '.join(VIEW_NAMES)} (or a cell such as '2x2:3')")
    if not out:
        raise ValueError("views must name at least one view, e.g. ('full',)")
    if len(set(out)) != len(out):
        raise ValueError(f"views repeat: {out}")
    return tuple(out)


def is_part(name: str) -> bool:
    """Whether an expanded view is a fixed part of the frame (a half, a quarter)."""
    return _cell(name) is not None


def _cell(name: str):
    split, _, idx = name.partition(":")
    if split in _SPLITS and idx.isdigit():
        rows, cols = _SPLITS[split]
        if int(idx) < rows * cols:
            return rows, cols, int(idx)
    return None


def needs_insets(views) -> bool:
    """Whether any of the views is cut from vcdfast.inset's boxes."""
    return any(v in INSET_VIEWS for v in views)


def scale_for(views: tuple[str, ...]) -> int:
    """How many times the input size the frames must be decoded at: 2 if any split or inset
    view (a crop must not be upsampled from the model's size), else 1."""
    return 2 if needs_insets(views) or any(_cell(v) for v in views) else 1


def _half(x: np.ndarray, axis: int) -> np.ndarray:
    """Exact 2x box downsample along a spatial axis of a (N, H, W, 3) uint8 array (rounded mean)."""
    a = x.take(np.arange(0, x.shape[axis] - 1, 2), axis=axis).astype(np.uint16)
    b = x.take(np.arange(1, x.shape[axis], 2), axis=axis)
    return ((a + b + 1) >> 1).astype(np.uint8)


def make_views(frames: np.ndarray, views: tuple[str, ...], input_size: tuple[int, int],
               insets: np.ndarray | None = None) -> np.ndarray:
    """(N, s*h, s*w, 3) uint8 frames at scale s = scale_for(views) -> (N, V, h, w, 3) uint8,
    where (w, h) = input_size. insets (N, 4): the inset views' boxes (vcdfast.inset)."""
    w, h = input_size
    s = scale_for(views)
    if frames.ndim != 4 or frames.shape[1:] != (s * h, s * w, 3) or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (N, {s * h}, {s * w}, 3) for views {views} at input size "
                         f"{input_size}; got {frames.dtype} {frames.shape}")
    full = frames if s == 1 else _half(_half(frames, 1), 2)
    inset = None
    if needs_insets(views):
        from vcdfast.inset import crop_insets

        if insets is None or len(insets) != len(frames):
            raise ValueError("the 'inset' views need one box per frame (vcdfast.inset.detect_insets)")
        inset = crop_insets(frames, insets, input_size)
    out = np.empty((frames.shape[0], len(views), h, w, 3), np.uint8)
    for i, v in enumerate(views):
        if v == "full":
            out[:, i] = full
        elif v == "flip":
            out[:, i] = full[:, :, ::-1]
        elif v == "inset":
            out[:, i] = inset
        elif v == "inset-flip":
            out[:, i] = inset[:, :, ::-1]
        else:
            rows, cols, idx = _cell(v)
            r, c = divmod(idx, cols)
            ch, cw = 2 * h // rows, 2 * w // cols  # cell size in the 2x frame
            cell = frames[:, r * ch:(r + 1) * ch, c * cw:(c + 1) * cw]
            if rows == 1:
                cell = _half(cell, 1)
            if cols == 1:
                cell = _half(cell, 2)
            out[:, i] = cell
    return out
