"""Layout detection in the query itself, so that the right region can be embedded as a view:
the rectangle of a picture-in-picture, a letterboxed picture or a picture beside others
(detect_insets), and whether and which way a split screen is divided (detect_splits).

An inset's border stays put while the pictures on both sides of it change, so it shows as
axis-aligned edges that persist across neighbouring sampled frames; the edges of moving
content do not persist. Per frame, the edge maps of a few neighbouring frames are reduced to
the edge strength present in most of them; rows and columns with long runs of persistent
edge are candidate sides (the frame's own borders always are), and the rectangle whose
interior sides (two at least) are most completely covered wins, if they are covered well
enough and the picture changes on both sides of each (the edges of a static region, a
screencast's windows or a still backdrop, persist too, but with stillness beside them).
Padding is tested first: bars of flat, still cells of one tone running in from the frame's
edges (letterbox, pillarbox, border) frame the picture whatever its own edges do; a padded
picture whose content has long straight lines of its own (a pan over a photograph) made the
edge search box a part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["EdgeMaps", "InsetSpec", "SPLIT_LEFT_RIGHT", "SPLIT_NONE", "SPLIT_TOP_BOTTOM", "crop_insets",
           "detect_insets", "detect_splits", "edge_maps"]


@dataclass(frozen=True)
class InsetSpec:
    """size: side of the square grey map edges are found on; window: neighbouring frames
    per side an edge must persist across; present: how many of the 2*window+1 frames must
    show it; edge: grey-level step that counts as an edge; min_run: share of a candidate
    side's length an edge must cover; area: the rectangle's share of the frame; min_seam:
    share of a centre line the seam of a split screen must cover (at 0.3, 51% of the tuning
    split's query frames have none, and leaving out their halves lost nothing there;
    BENCHMARKS.md); bar_share: share of a line's cells that must be flat (no edge to their
    neighbours) and still for it to be a padding bar, and of the bars' cells that must lie
    within bar_tone grey levels of their median (padding is one colour; a dark, still corner
    of a backdrop is not)."""

    size: int = 96
    window: int = 2
    present: int = 3
    edge: float = 12.0
    candidates: int = 8
    min_run: float = 0.7
    area: tuple[float, float] = (0.12, 0.8)
    min_change: float = 4.0
    min_seam: float = 0.3
    bar_share: float = 0.75
    bar_tone: float = 8.0


DEFAULT_INSET = InsetSpec()

# detect_splits' answers
SPLIT_NONE, SPLIT_LEFT_RIGHT, SPLIT_TOP_BOTTOM = 0, 1, 2


def _grey(frames: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size) float32 grey, by area averaging."""
    n, h, w, _ = frames.shape
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    if h % size == 0 and w % size == 0 and h // size <= 257:
        # whole blocks (the layout views decode at twice the model's size, 576 = 6 x 96): sum
        # each block's bytes in integers, one strided slice at a time (numpy's sum over a middle
        # axis with a cast is several times slower than these adds)
        fy, fx = h // size, w // size
        rows = frames[:, 0::fy].astype(np.uint16)  # <= 255 * fy
        for k in range(1, fy):
            rows += frames[:, k::fy]
        cols = rows.reshape(n, size, size, fx, 3)
        g = cols[:, :, :, 0].astype(np.uint32)
        for k in range(1, fx):
            g += cols[:, :, :, k]
        return (g.astype(np.float32) @ luma) / np.float32(fy * fx)
    g = frames.astype(np.float32) @ luma
    ys = (np.arange(size + 1) * h) // size
    xs = (np.arange(size + 1) * w) // size
    g = np.add.reduceat(np.add.reduceat(g, ys[:-1], axis=1), xs[:-1], axis=2)
    return g / np.outer(np.diff(ys), np.diff(xs))[None]


def _persistent(e: np.ndarray, window: int, present: int) -> np.ndarray:
    """Per frame, the (N, ...) bool edges present in at least `present` of the frames within
    `window` of it (fewer frames at the ends: the same share of them)."""
    n = len(e)
    counts = np.concatenate([np.zeros((1, *e.shape[1:]), np.int32), np.cumsum(e, axis=0, dtype=np.int32)])
    out = np.empty(e.shape, bool)
    for t in range(n):
        lo, hi = max(0, t - window), min(n, t + window + 1)
        need = max(1, int(np.ceil(present * (hi - lo) / (2 * window + 1))))
        out[t] = counts[hi] - counts[lo] >= need
    return out


def _sides(runs: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` strongest local maxima of a 1-d profile, plus both borders."""
    peaks = [i for i in range(1, len(runs) - 1) if runs[i] > 0 and runs[i] >= runs[i - 1] and runs[i] >= runs[i + 1]]
    peaks = sorted(peaks, key=lambda i: -runs[i])[:count]
    return np.array(sorted({0, len(runs) - 1, *peaks}))


class EdgeMaps(NamedTuple):
    """What both layout tests look at, for frames of side s = spec.size: grey (N, s, s), and
    the persistent edges on the interior horizontal lines (N, s-1, s) (index y-1: the line
    between rows y-1 and y) and vertical lines (N, s, s-1)."""

    grey: np.ndarray
    across: np.ndarray
    down: np.ndarray


def edge_maps(frames: np.ndarray, spec: InsetSpec = DEFAULT_INSET) -> EdgeMaps:
    """(N, H, W, 3) uint8 frames in time order -> their EdgeMaps (computed once when a query
    asks for both the inset and the halves views)."""
    g = _grey(frames, spec.size)
    # the edge on horizontal line y (between rows y-1 and y, 1..s-1) is the step from row y-2
    # to row y+1: area averaging spreads a step that falls inside a row over two lines
    pad = np.pad(g, ((0, 0), (1, 1), (1, 1)), mode="edge")
    hy = _persistent(np.abs(pad[:, 3:, 1:-1] - pad[:, :-3, 1:-1]) >= spec.edge, spec.window, spec.present)
    vx = _persistent(np.abs(pad[:, 1:-1, 3:] - pad[:, 1:-1, :-3]) >= spec.edge, spec.window, spec.present)
    return EdgeMaps(g, hy, vx)


def detect_splits(frames: np.ndarray, spec: InsetSpec = DEFAULT_INSET, targets: range | None = None,
                  edges: EdgeMaps | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 frames in time order -> (len(targets),) int8, per frame: SPLIT_NONE
    where neither centre line carries a persistent edge (within one line of it) over
    spec.min_seam of its length, else SPLIT_TOP_BOTTOM where the horizontal one's longest run
    is the longer, else SPLIT_LEFT_RIGHT (ties go to the usual split). It chooses what the
    "halves" view embeds (vcdfast.views): stacked compositions are common too (as common as
    side-by-side ones in bench/make_dataset.py's), embedding both pairs costs two more model
    runs per frame, and a frame with no seam needs neither pair."""
    n = len(frames)
    targets = range(n) if targets is None else targets
    if n == 0 or not len(targets):
        return np.zeros(len(targets), np.int8)
    _, hy, vx = edges if edges is not None else edge_maps(frames, spec)
    c = spec.size // 2
    t = np.asarray(targets)
    across = np.array([_longest_run(hy[i, c - 2:c + 1]).max() for i in t])  # lines y = c-1, c, c+1
    down = np.array([_longest_run(vx[i, :, c - 2:c + 1].T).max() for i in t])
    out = np.where(across > down, SPLIT_TOP_BOTTOM, SPLIT_LEFT_RIGHT).astype(np.int8)
    out[np.maximum(across, down) < spec.min_seam] = SPLIT_NONE
    return out


def detect_insets(frames: np.ndarray, spec: InsetSpec = DEFAULT_INSET, targets: range | None = None,
                  edges: EdgeMaps | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 frames in time order -> (len(targets), 4) float32 [x0, y0, x1, y1]
    as shares of the frame's width and height, NaN where no inset is found, for the frames
    `targets` (default: all); the others are context. edges: edge_maps(frames, spec), if
    already computed."""
    n = len(frames)
    targets = range(n) if targets is None else targets
    out = np.full((len(targets), 4), np.nan, np.float32)
    if n == 0 or not len(targets):
        return out
    s = spec.size
    g, hy, vx = edges if edges is not None else edge_maps(frames, spec)
    change = np.abs(np.diff(g, axis=0)) if n > 1 else np.zeros((1, s, s), np.float32)
    for row, t in enumerate(targets):
        lo, hi = max(0, t - spec.window), min(len(change), t + spec.window)
        moving = change[lo:hi].mean(axis=0) if hi > lo else np.zeros((s, s), np.float32)
        padded = _padding_box(g[t], moving, spec)
        if padded is not None:
            out[row] = np.array(padded, np.float32) / s
            continue
        # horizontal lines: index y in 0..s (0 and s are the borders); covered fraction per x
        h_on = np.zeros((s + 1, s), np.float32)
        h_on[1:s] = hy[t]
        h_on[0] = h_on[s] = 1
        v_on = np.zeros((s, s + 1), np.float32)
        v_on[:, 1:s] = vx[t]
        v_on[:, 0] = v_on[:, s] = 1
        rows = _sides(_longest_run(h_on), spec.candidates)
        cols = _sides(_longest_run(v_on.T), spec.candidates)
        h_cum = np.concatenate([np.zeros((s + 1, 1)), np.cumsum(h_on, axis=1)], axis=1)  # (s+1, s+1)
        v_cum = np.concatenate([np.zeros((1, s + 1)), np.cumsum(v_on, axis=0)], axis=0)  # (s+1, s+1)
        ri, rj = np.triu_indices(len(rows), 1)
        ci, cj = np.triu_indices(len(cols), 1)
        y0, y1 = rows[ri][:, None], rows[rj][:, None]  # every (top, bottom) x every (left, right)
        x0, x1 = cols[ci][None, :], cols[cj][None, :]
        cover = np.stack(np.broadcast_arrays(
            (h_cum[y0, x1] - h_cum[y0, x0]) / (x1 - x0), (h_cum[y1, x1] - h_cum[y1, x0]) / (x1 - x0),
            (v_cum[y1, x0] - v_cum[y0, x0]) / (y1 - y0), (v_cum[y1, x1] - v_cum[y0, x1]) / (y1 - y0)))
        interior = np.stack(np.broadcast_arrays(y0 > 0, y1 < s, x0 > 0, x1 < s))
        # the weakest interior side decides: one good line and three chance ones is no box
        score = np.where(interior, cover, np.inf).min(axis=0)
        area = (y1 - y0) * (x1 - x0) / (s * s)
        ok = (interior.sum(axis=0) >= 2) & (area >= spec.area[0]) & (area <= spec.area[1]) & (score >= spec.min_run)
        best = None
        for k in np.flatnonzero(ok.ravel())[np.argsort(-score.ravel()[ok.ravel()], kind="stable")]:
            a, b = np.unravel_index(k, score.shape)
            box = (int(cols[ci[b]]), int(rows[ri[a]]), int(cols[cj[b]]), int(rows[rj[a]]))
            if _changes_across(moving, g[t], box, spec.min_change):
                best = box
                break
        if best is not None:
            out[row] = np.array(best, np.float32) / s
    return out


def _padding_box(grey: np.ndarray, moving: np.ndarray, spec: InsetSpec) -> tuple[int, int, int, int] | None:
    """The picture inside padding bars, (x0, y0, x1, y1) in cells of the (s, s) grey map, or
    None: bars are lines of flat, still cells (spec.bar_share of each) running in from the
    frame's edges, two cells deep at least on some side, all of one tone, around a picture
    that is not itself flat and still, of an area in spec.area."""
    s = grey.shape[0]
    flat = (np.abs(np.diff(grey, axis=0, append=grey[-1:])) < spec.edge) & \
           (np.abs(np.diff(grey, axis=1, append=grey[:, -1:])) < spec.edge)
    bar = flat & (moving < spec.edge)

    def depth(share: np.ndarray) -> int:  # bar lines from the edge inward
        lines = share >= spec.bar_share
        return len(lines) if lines.all() else int(np.argmin(lines))

    rows, cols = bar.mean(axis=1), bar.mean(axis=0)
    top, bottom, left, right = depth(rows), depth(rows[::-1]), depth(cols), depth(cols[::-1])
    x0, y0, x1, y1 = left, top, s - right, s - bottom
    if max(top, bottom, left, right) < 2 or x1 <= x0 or y1 <= y0:
        return None
    if not spec.area[0] <= (x1 - x0) * (y1 - y0) / (s * s) <= spec.area[1] or bar[y0:y1, x0:x1].all():
        return None
    ring = np.ones((s, s), bool)
    ring[y0:y1, x0:x1] = False
    tone = grey[ring]
    if np.mean(np.abs(tone - np.median(tone)) < spec.bar_tone) < spec.bar_share:
        return None
    return x0, y0, x1, y1


def _changes_across(moving: np.ndarray, grey: np.ndarray, box: tuple[int, int, int, int], min_change: float,
                    band: int = 3) -> bool:
    """Whether the picture changes, or is flat (a padding bar), on both sides of each interior
    side of box (x0, y0, x1, y1): an inset's border separates two moving pictures, where the
    persistent edges of a static region (a screencast's windows, a still backdrop) have
    textured stillness beside them."""
    s = moving.shape[0]
    x0, y0, x1, y1 = box
    strips = []  # (rows, cols) of the bands either side of each interior side
    if y0 > 0:
        strips += [(slice(max(0, y0 - band), y0), slice(x0, x1)), (slice(y0, y0 + band), slice(x0, x1))]
    if y1 < s:
        strips += [(slice(y1 - band, y1), slice(x0, x1)), (slice(y1, y1 + band), slice(x0, x1))]
    if x0 > 0:
        strips += [(slice(y0, y1), slice(max(0, x0 - band), x0)), (slice(y0, y1), slice(x0, x0 + band))]
    if x1 < s:
        strips += [(slice(y0, y1), slice(x1 - band, x1)), (slice(y0, y1), slice(x1, x1 + band))]
    return all(moving[r, c].size and (moving[r, c].mean() >= min_change or grey[r, c].std() < min_change)
               for r, c in strips)


def _longest_run(on: np.ndarray, gap: int = 2) -> np.ndarray:
    """Per row of a 0/1 map, the longest run of ones, bridging gaps of up to `gap`, as a
    share of the row (an inset's border has gaps where both pictures happen to be alike)."""
    on = on > 0.5
    for d in range(1, gap + 1):  # close gaps: a cell is on when ones lie within gap on both sides
        on = on | (np.pad(on, ((0, 0), (d, 0)))[:, :-d] & np.pad(on, ((0, 0), (0, d)))[:, d:])
    # a run's length at each cell: how far it lies past the row's last zero before it
    idx = np.arange(1, on.shape[1] + 1)
    last_zero = np.maximum.accumulate(np.where(on, 0, idx), axis=1)
    return ((idx - last_zero).max(axis=1, initial=0) / on.shape[1]).astype(np.float32)


def crop_insets(frames: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each frame's inset resized to `size` (width, height) -> (N, h, w, 3) uint8; a frame
    with no inset (NaN box) gives the whole frame resized."""
    from PIL import Image

    w, h = size
    out = np.empty((len(frames), h, w, 3), np.uint8)
    for i, (f, b) in enumerate(zip(frames, boxes)):
        img = Image.fromarray(f)
        if np.all(np.isfinite(b)):
            fh, fw = f.shape[:2]
            img = img.crop((int(round(b[0] * fw)), int(round(b[1] * fh)), int(round(b[2] * fw)), int(round(b[3] * fh))))
        out[i] = np.asarray(img.resize((w, h), Image.BILINEAR))
    return out
