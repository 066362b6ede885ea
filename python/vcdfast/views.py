"""Views: the regions of a frame that get one embedding each (and "blend", one descriptor
made of two), giving (T, V, D) descriptors.

Names: "full" (whole frame), "flip" (whole frame mirrored left-right), and splits "2x2"
(4 quarters, row-major), "1x2" (left, right halves), "2x1" (top, bottom halves). A split
name expands to one view per cell ("2x2:0" ... "2x2:3"); cell names are accepted too.
"halves" ("halves:0", "halves:1") is the halves of a split screen, chosen per frame by
vcdfast.inset.detect_splits: top and bottom, or left and right (as "1x2"), or the whole
frame where no seam divides it; at most two model runs where both pairs would take four.
"inset" is the rectangle vcdfast.inset finds in each frame (a picture-in-picture, a
letterboxed picture, one side of a split screen), or the whole frame where there is none.
"inset-flip" is that rectangle mirrored: a flipped copy placed in a picture-in-picture.
"centre" is the middle CENTRE_KEEP of the frame on each axis ("centre:K": the middle K).
"blend" is one descriptor of the whole frame and its centre together, normalise(full +
BLEND_WEIGHT * centre), from both views' model runs ("blend:K:W": centre K, weight W): the
reference side's default (vcdfast.index.settings.DEFAULT_INDEX_VIEWS). A copy cropped to part
of the frame, stretched, or shrunk into a picture-in-picture comes closer to it than to the
whole frame's descriptor, while a whole-frame copy stays close (the weight keeps the whole
frame dominant). Both names expand to their explicit form, so an index records exactly which
descriptor it holds.

The inset and halves views depend on neighbouring frames, so Embedder.embed_video computes
them (embed_frames treats its frames as one clip).

Where a layout view falls back to the whole frame, its pixels are exactly the "full" (or
"flip") view's, and make_views says so (Views.source), so that the embedder runs the model
once for both (46% of the tuning split's query frames have no inset, 51% no split).

Frames arrive at twice the model's input size whenever a split, inset or centre is asked for
(the decoder scales them in swscale), so the whole frame and the fixed parts are exact 2x
box-downsamples or plain slices of them; inset and centre crops are resized from them
(vcdfast.inset.crop_insets), never upsampled from the model's size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BLEND_WEIGHT", "CENTRE_KEEP", "INSET_VIEWS", "VIEW_NAMES", "Views", "blend", "blend_parts", "expand_views",
           "make_views", "model_views", "needs_context", "needs_insets", "needs_splits", "scale_for"]

# split -> (rows, cols)
_SPLITS = {"2x2": (2, 2), "1x2": (1, 2), "2x1": (2, 1), "halves": (1, 2)}  # halves: per frame, see make_views
INSET_VIEWS = ("inset", "inset-flip")  # views that need vcdfast.inset's boxes
VIEW_NAMES = ("full", "flip", "centre", "blend", *INSET_VIEWS, *_SPLITS)
# "centre" and "blend" without parameters: chosen on the tuning split by bench/requery.py's
# grid over reference views (BENCHMARKS.md, session 27)
CENTRE_KEEP = 0.7
BLEND_WEIGHT = 0.35


def expand_views(views) -> tuple[str, ...]:
    """("full", "2x2") -> ("full", "2x2:0", "2x2:1", "2x2:2", "2x2:3"); rejects unknown names and repeats."""
    if isinstance(views, str):
        views = (views,)
    out: list[str] = []
    for v in views:
        v = {"centre": f"centre:{CENTRE_KEEP}", "blend": f"blend:{CENTRE_KEEP}:{BLEND_WEIGHT}"}.get(v, v)
        if v in _SPLITS:
            rows, cols = _SPLITS[v]
            out.extend(f"{v}:{i}" for i in range(rows * cols))
        elif _centre_keep(v):
            out.append(f"centre:{_centre_keep(v)}")  # one spelling per view: "centre:0.70" is "centre:0.7"
        elif _blend(v):
            out.append("blend:{}:{}".format(*_blend(v)))
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
    """How many times the input size the frames must be decoded at: 2 if any split, inset or
    centre view (a crop must not be upsampled from the model's size), else 1."""
    return 2 if needs_insets(views) or any(_cell(v) or _centre_keep(v) or _blend(v) for v in views) else 1


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if np.isfinite(x) else None


def _centre_keep(name: str) -> float | None:
    """K of "centre:K" (0 < K <= 1), else None."""
    kind, _, keep = name.partition(":")
    k = _number(keep) if kind == "centre" else None
    return k if k is not None and 0 < k <= 1 else None


def _blend(name: str) -> tuple[float, float] | None:
    """(K, W) of "blend:K:W" (0 < K <= 1, W >= 0), else None."""
    kind, _, rest = name.partition(":")
    keep, _, weight = rest.partition(":")
    k, w = (_number(keep), _number(weight)) if kind == "blend" else (None, None)
    return (k, w) if k is not None and w is not None and 0 < k <= 1 and w >= 0 else None


def model_views(views: tuple[str, ...]) -> tuple[str, ...]:
    """The expanded views the model runs on for expanded `views`: each "blend:K:W" stands for
    "full" and "centre:K" (added after the others where they are not among them)."""
    out = [v for v in views if not _blend(v)]
    for parts in filter(None, map(blend_parts, views)):
        out += [m for m in parts[:2] if m not in out]
    return tuple(out)


def blend_parts(name: str) -> tuple[str, str, float] | None:
    """For a "blend:K:W" view, the views it blends and its weight ("full", "centre:K", W);
    None for any other view."""
    parts = _blend(name)
    return None if parts is None else ("full", f"centre:{parts[0]}", parts[1])


def blend(full: np.ndarray, centre: np.ndarray, weight: float) -> np.ndarray:
    """Blend descriptors (..., D) of L2-normalised whole-frame and centre descriptors."""
    out = full + np.float32(weight) * centre
    return out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), np.float32(1e-12))


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

    if any(_blend(v) for v in views):
        raise ValueError(f"make_views takes the views the model runs on (model_views({views}))")
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
        elif _centre_keep(v):
            out[:, i] = _centre(frames, _centre_keep(v), h, w)
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


def _centre(frames: np.ndarray, keep: float, h: int, w: int) -> np.ndarray:
    """The middle `keep` of frames on each axis, resized to (h, w) as inset crops are
    (vcdfast.inset.crop_insets)."""
    from vcdfast.inset import crop_insets

    margin = (1.0 - keep) / 2
    box = np.array([[margin, margin, 1.0 - margin, 1.0 - margin]], np.float32)
    return crop_insets(frames, np.repeat(box, len(frames), axis=0), (w, h))


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
