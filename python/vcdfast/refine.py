"""Box ends between samples.

A copy's first and last sampled query frames lie up to a sampling step inside its true
ends, so a box that ends halfway to the next sample (vcdfast.query.intervals) is off by up
to half a step at each end: at 1 fps that is most of the error on short copies. Each end of
a reported box is bisected between its last frame (in the copy) and the next sample (not
in the box): the query frame on screen halfway is embedded with the query's views and
compared with the reference where the box's line puts it, as the samples are (best view,
background bias subtracted). It is in the copy if its similarity is nearer the inside
sample's than the outside one's and reaches the alignment's min_sim (the floor the box's
own frames passed); the end then moves out past it, else in. The midpoint rather than the
floor alone: at the floor, unrelated frames pass by chance (a pan beside a dark film in
tests/real_scene.py). Each step halves the error; the reference end moves with the query
end along the box's slope.

On the tuning split of bench/make_dataset.py (1 fps, the query defaults), bench/sweep_query.py
measured VCSL F1 0.799 at the grid's ends, 0.813 after one step and 0.827 after four (the
default; segment µAP 0.858 -> 0.879), for 0.014 CPU s per second of query video at four
steps (each end's step is decoded once, Embedder.embed_at's cache);
moving every end out, or every end in, by a quarter step instead gave 0.787 and 0.781 (an
exploration on the same split).
Probing in the one view that matched best costs a model run per probe where all views cost
about 3.5, and scored the same (0.8530 against 0.8527 on the objective at four steps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from vcdfast.lines import MIN_ROWS, SLOPES
from vcdfast.query import Match

__all__ = ["Probe", "refine_ends"]

# (N,) times, (N,) view indices -> (descriptors (N, V, D) of the query frames on screen then,
# that view's row filled, and (N,) found); see vcdfast.embed.Embedder.embed_at
Probe = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def refine_ends(matches: Sequence[Match], query: np.ndarray, query_times: np.ndarray,
                refs: Mapping[str, tuple[np.ndarray, np.ndarray, float]], probe: Probe,
                bias: Callable[[np.ndarray], np.ndarray | None], min_sim: float, steps: int = 1) -> list[Match]:
    """The matches with their ends bisected `steps` times (0: as given). query (Tq, V, D),
    query_times (Tq,): the query's descriptors and sample times; refs: per reference id,
    (descriptors (Tr, W, D), sample times (Tr,), where its last sample's interval ends);
    probe: the query's descriptors at any times, in one view each; bias: the bias (N, V) of
    query descriptors (None: none). Each end is probed in the view that matches best at its
    inside sample, and compared in it. A match needs its frame box (Match.frames). An end
    with no sample beyond it (the query's first or last), or whose probe finds no frame,
    keeps its place."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    query_times = np.asarray(query_times, np.float64)
    ends = [_End.of(m, side, query_times) for m in matches for side in (0, 1)]
    live = [e for e in ends if e is not None] if steps else []
    if live:
        inside = np.array([e.inside_frame for e in live])
        outside = np.array([e.outside_frame for e in live])
        s_in = _similarities(live, query[inside], query_times[inside], bias, refs)
        s_out = _similarities(live, query[outside], query_times[outside], bias, refs)
        for e, a, b in zip(live, s_in, s_out):
            e.view = int(np.nanargmax(a))
            # halfway between its inside and outside samples' similarities, in its view
            e.threshold = max(min_sim, (a[e.view] + b[e.view]) / 2)
    for e in live:  # one end at a time: its probes fall within one step, which a probe may decode once
        for _ in range(steps):
            t, view = np.array([e.probe_time()]), np.array([e.view])
            vectors, found = probe(t, view)
            if not found[0]:
                e.lost = True
                break
            e.narrow(float(t[0]), _similarities([e], vectors, t, bias, refs)[0, e.view] >= e.threshold)
    out = []
    for k, m in enumerate(matches):
        for e in ends[2 * k:2 * k + 2]:
            if e is not None and e.moved and not e.lost:
                m = e.apply(m, refs[m.ref_id][2])
        out.append(m)
    return out


def _similarities(ends, vectors: np.ndarray, times: np.ndarray, bias, refs) -> np.ndarray:
    """(N, V): each query descriptor's views (N, V, D) at its time against the two reference
    samples around where its end's line puts it, the better sample and reference view per
    view, bias subtracted: vcdfast.similarity.query_view_max for one view (NaN where a view is
    NaN)."""
    b = bias(vectors)
    out = np.full(vectors.shape[:2], np.nan)
    for i, (e, t) in enumerate(zip(ends, times.tolist())):
        rv, rt = refs[e.match.ref_id][:2]
        cells = np.asarray(rv[e.reference_frames(t, rt)], np.float32)  # (2, W, D)
        per_view = np.einsum("vd,jwd->vjw", vectors[i], cells)
        out[i] = per_view.max(axis=(1, 2)) - (0.0 if b is None else b[i])
    return out


class _End:
    """One end of a box being bisected: `inside` is a query time known in the copy (first the
    box's end frame's), `outside` one known out of it (first the next sample's), `anchor` the
    box's reference time at its end frame."""

    def __init__(self, match: Match, side: int, frames: tuple[int, int], times: tuple[float, float], anchor: float,
                 slope: float):
        self.match, self.side, self.slope, self.anchor = match, side, slope, anchor
        self.inside_frame, self.outside_frame = frames
        self.inside, self.outside = times
        self.origin = self.inside
        self.threshold, self.view = np.inf, 0
        self.moved = self.lost = False

    @classmethod
    def of(cls, m: Match, side: int, qt: np.ndarray) -> _End | None:
        """side 0: the start, 1: the end of m; None where no sample lies beyond it."""
        if m.frames is None:
            raise ValueError(f"match {m.query_id!r} -> {m.ref_id!r} has no frame box to refine")
        qs, _, qe, _ = m.frames
        q, beyond = (qs, qs - 1) if side == 0 else (qe, qe + 1)
        if not 0 <= beyond < len(qt):
            return None
        # the box's line as its seconds draw it (vcdfast.lines fits it); a box too short to
        # tell a speed change is taken at speed 1 from its end
        slope = 1.0
        if qe - qs + 1 >= MIN_ROWS and m.query_end > m.query_start:
            slope = float(np.clip((m.ref_end - m.ref_start) / (m.query_end - m.query_start), SLOPES[0], SLOPES[-1]))
        if side == 0:
            anchor = m.ref_start + slope * (qt[q] - m.query_start)
        else:
            anchor = m.ref_end - slope * (m.query_end - qt[q])
        return cls(m, side, (q, beyond), (float(qt[q]), float(qt[beyond])), float(anchor), slope)

    def probe_time(self) -> float:
        return (self.inside + self.outside) / 2

    def reference_frames(self, t: float, rt: np.ndarray) -> np.ndarray:
        """The two reference samples around where the box's line is at query time t."""
        x = self.anchor + (t - self.origin) * self.slope
        j = int(np.clip(np.searchsorted(rt, x), 1, max(1, len(rt) - 1)))
        return np.unique(np.clip([j - 1, j], 0, len(rt) - 1))

    def narrow(self, t: float, matched: bool) -> None:
        self.moved = True
        if matched:
            self.inside = t
        else:
            self.outside = t

    def apply(self, m: Match, ref_end: float) -> Match:
        """m with this end at the middle of what is left unknown (the reference's within
        [0, ref_end])."""
        t = (self.inside + self.outside) / 2
        r = min(max(0.0, self.anchor + (t - self.origin) * self.slope), ref_end)
        if self.side == 0:
            return replace(m, query_start=max(0.0, min(t, m.query_end)), ref_start=min(r, m.ref_end))
        return replace(m, query_end=max(t, m.query_start), ref_end=max(r, m.ref_start))
