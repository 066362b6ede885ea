"""Views: the regions of a frame that get one embedding each, giving (T, V, D) descriptors.

Names: "full" (whole frame), "flip" (whole frame mirrored left-right), and splits "2x2"
(4 quarters, row-major), "1x2" (left, right halves), "2x1" (top, bottom halves). A split
name expands to one view per cell ("2x2:0" ... "2x2:3"); cell names are accepted too.
"halves" ("halves:0", "halves:1") is the halves of a split screen, chosen per frame by
vcdfast.inset.detect_splits: top and bottom, or left and right (as "1x2"), or the whole
frame where no seam divides it; at most two model runs where both pairs would take four.
"inset" is the rectangle vcdfast.inset finds in each frame (a picture-in-picture, a
letterboxed picture, one side of a split screen), or the whole frame where there is none.
"inset-flip" is that rectangle mirrored: a flipped copy placed in a picture-in-picture.
The inset and halves views depend on neighbouring frames, so Embedder.embed_video computes
them (embed_frames treats its frames as one clip).

Where a layout view falls back to the whole frame, its pixels are exactly the "full" (or
"flip") view's, and make_views says so (Views.source), so that the embedder runs the model
once for both (46% of the tuning split's query frames have no inset, 51% no split).

Frames arrive at twice the model's input size whenever a split is asked for (the decoder
scales them in swscale), so every view is an exact 2x box-downsample or a plain slice of
it: no per-view resampling in Python.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["INSET_VIEWS", "VIEW_NAMES", "Views", "expand_views", "make_views", "needs_context", "needs_insets",
           "needs_splits", "scale_for"]

# split -> (rows, cols)
_SPLITS = {"2x2": (2, 2), "1x2": (1, 2), "2x1": (2, 1), "halves": (1, 2)}  # halves: per frame, see make_views
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


def needs_splits(views) -> bool:
    """Whether any of the views is a "halves" cell (vcdfast.inset.detect_splits)."""
    return any(v.partition(":")[0] == "halves" for v in views)


def needs_context(views) -> bool:
    """Whether the views of a frame depend on its neighbouring frames (the layout tests)."""
    return needs_insets(views) or needs_splits(views)


def scale_for(views: tuple[str, ...]) -> int:
    """How many times the input size the frames must be decoded at: 2 if any split or inset
    view (a crop must not be upsampled from the model's size), else 1."""
    return 2 if needs_insets(views) or any(_cell(v) for v in views) else 1


def _half(x: np.ndarray, axis: int) -> np.ndarray:
    """Exact 2x box downsample along a spatial axis (1 or 2) of a (N, H, W, 3) uint8 array
    (rounded mean of pixel pairs)."""
    n, h, w, c = x.shape
    # pairs side by side in memory, then one widening add: ~6x faster than strided slices
    if axis == 1:
        pairs = np.ascontiguousarray(x[:, :h - h % 2]).reshape(n, h // 2, 2, w * c)
        a = np.add(pairs[:, :, 0], pairs[:, :, 1], dtype=np.uint16)
        shape = (n, h // 2, w, c)
    else:
        pairs = np.ascontiguousarray(x[:, :, :w - w % 2]).reshape(n, h, w // 2, 2 * c)
        a = np.add(pairs[..., :c], pairs[..., c:], dtype=np.uint16)
        shape = (n, h, w // 2, c)
    a += 1
    a >>= 1
    return a.astype(np.uint8).reshape(shape)


_OWN, _WHOLE, _MIRRORED = 0, 1, 2  # what a cell shows, for Views.source


class Views(NamedTuple):
    """pixels (N, V, h, w, 3) uint8: each frame's views; source (N, V) int: for each cell, the
    view whose descriptor it takes, itself where it needs its own model run. Cells showing
    the whole frame ("full", a layout view that fell back to it) take the first such cell's,
    and likewise cells showing it mirrored ("flip", "inset-flip" with no inset)."""

    pixels: np.ndarray
    source: np.ndarray


def make_views(frames: np.ndarray, views: tuple[str, ...], input_size: tuple[int, int],
               insets: np.ndarray | None = None, splits: np.ndarray | None = None) -> Views:
    """(N, s*h, s*w, 3) uint8 frames at scale s = scale_for(views) -> their Views, where (w, h)
    = input_size. insets (N, 4): the inset views' boxes (NaN: none); splits (N,): what the
    halves views take (vcdfast.inset.detect_splits' answers)."""
    from vcdfast.inset import SPLIT_NONE, SPLIT_TOP_BOTTOM

    w, h = input_size
    s = scale_for(views)
    if frames.ndim != 4 or frames.shape[1:] != (s * h, s * w, 3) or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (N, {s * h}, {s * w}, 3) for views {views} at input size "
                         f"{input_size}; got {frames.dtype} {frames.shape}")
    n = frames.shape[0]
    full = frames if s == 1 else _half(_half(frames, 1), 2)
    shows = np.full((n, len(views)), _OWN, np.int8)
    if needs_insets(views):
        if insets is None or len(insets) != n:
            raise ValueError("the 'inset' views need one box per frame (vcdfast.inset.detect_insets)")
        found = np.isfinite(np.asarray(insets)).all(axis=1)
        inset = full.copy()
        if found.any():
            from vcdfast.inset import crop_insets

            inset[found] = crop_insets(frames[found], np.asarray(insets)[found], input_size)
    if needs_splits(views):
        if splits is None or len(splits) != n:
            raise ValueError("the 'halves' views need one split per frame (vcdfast.inset.detect_splits)")
        splits = np.asarray(splits)
    out = np.empty((n, len(views), h, w, 3), np.uint8)
    for i, v in enumerate(views):
        if v == "full":
            out[:, i] = full
            shows[:, i] = _WHOLE
        elif v == "flip":
            out[:, i] = full[:, :, ::-1]
            shows[:, i] = _MIRRORED
        elif v in INSET_VIEWS:
            out[:, i] = inset if v == "inset" else inset[:, :, ::-1]
            shows[~found, i] = _WHOLE if v == "inset" else _MIRRORED
        elif v.startswith("halves:"):
            idx = _cell(v)[2]
            stacked, none = splits == SPLIT_TOP_BOTTOM, splits == SPLIT_NONE
            out[:, i] = _split_cell(frames, 1, 2, idx, h, w)
            out[stacked, i] = _split_cell(frames[stacked], 2, 1, idx, h, w)
            out[none, i] = full[none]
            shows[none, i] = _WHOLE
        else:
            rows, cols, idx = _cell(v)
            out[:, i] = _split_cell(frames, rows, cols, idx, h, w)
    source = np.broadcast_to(np.arange(len(views)), (n, len(views)))
    for kind in (_WHOLE, _MIRRORED):
        same = shows == kind
        source = np.where(same, same.argmax(axis=1)[:, None], source)
    return Views(out, source)


def _split_cell(frames: np.ndarray, rows: int, cols: int, idx: int, h: int, w: int) -> np.ndarray:
    """Cell idx (row-major) of a rows x cols split of 2x frames, at (h, w): halves are box
    downsampled along their long side, quarters are plain slices."""
    r, c = divmod(idx, cols)
    ch, cw = 2 * h // rows, 2 * w // cols  # cell size in the 2x frame
    cell = frames[:, r * ch:(r + 1) * ch, c * cw:(c + 1) * cw]
    if rows == 1:
        cell = _half(cell, 1)
    if cols == 1:
        cell = _half(cell, 2)
    return cell
