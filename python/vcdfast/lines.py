"""A box's reference line: where a chain's box runs on the reference, between samples.

A chain steps from sample to sample, and where neighbouring reference samples score alike
(a slow pan, a still held for seconds) its path drifts: a step of two samples costs nothing
and a stall costs weight, so a box at 1x runs a sample or more past the copy on the
reference side, and under slow motion the chain keeps near slope 1. On the tuning split of
bench/make_dataset.py the reference axis was the found pairs' largest loss (precision 0.86
against 0.96 on the query axis).

Each box's reference span is refit to the straight line through its query rows that fits the
map best: slopes 0.5-2 (the speeds a chain follows) a sixth of an octave apart, positions in
quarter samples, each line scored by its mean similarity over the box's rows minus
`speed_prior` per octave away from 1x (a copy is far more often at its own speed, and over a
flat pan many slopes fit). Two scores, because a reference shot's cut falls between samples:

- tolerant: a row's cell is the better of the two samples around the line (a copy's moment
  between samples may sit in either sample's shot), so a blocky map of stills allows its
  true slope;
- exact: linear interpolation between them, which places the line among the near-best
  (within NEAR_BEST of the best tolerant score).

The box keeps its query ends; its reference ends move onto the line, between samples, and
vcdfast.refine bisects the ends along it. Chosen on the tuning split with bench/sweep_query.py
(BENCHMARKS.md): speed prior 0.05 per octave, F1 0.857 -> 0.865, µAP 0.894 -> 0.905 there. On
the held-out splits F1 and µAP held (within 0.002) with reference-axis precision up 0.03-0.04
and recall down as much: where the line misses part of a copy, the box loses it.

extend_ends then grows each box's ends along its line, one query sample at a time (up to
EXTEND_ROWS), while the line's cell there (tolerant, as above) reaches a floor. A chain stops
where its cells fall under the alignment's min_sim, and a copy's first and last seconds are
often its weakest (a fade, a cut blended by the encoder, an overlay's entrance), while the
line already says where they are on the reference; one cell on a known line is stronger
evidence than a cell a chain must find. The floor, 0.1, is bench/sweep_query.py's choice on
the tuning split (objective 0.8853 -> 0.8869, BENCHMARKS.md); 0.05 scored higher there but grew
the real-footage picture-in-picture copy (tests/test_query_real.py) 2 s into an unrelated pan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from vcdfast.query import Match

__all__ = ["EXTEND_ROWS", "MAX_ROWS", "MIN_ROWS", "NEAR_BEST", "SLOPES", "best_line", "extend_ends",
           "fit_reference_lines"]

# reference samples per query sample, 0.5-2: the speeds a chain follows (its max_step of 2 either way)
SLOPES = 2.0 ** np.linspace(-1.0, 1.0, 13)
OFFSET_STEP = 0.25  # samples
NEAR_BEST = 0.01  # of the tolerant score
# fewer rows than this do not tell a slope; a longer box than MAX_ROWS takes each end from the
# line through the MAX_ROWS rows at that end (the search's memory grows with rows squared, and
# a long copy may drift or change speed between its ends)
MIN_ROWS = 4
MAX_ROWS = 120
# query samples a box end may grow by along its line (extend_ends): the few seconds where a
# copy's edge is weak, not a search for more of it
EXTEND_ROWS = 3


def best_line(block: np.ndarray, first: float, last: float, speed_prior: float) -> tuple[float, float]:
    """The best line through every row of `block` (n, C), a map's rows of one box and columns
    from its column 0: lines x(i) = centre + slope * (i - (n - 1) / 2) with centres from
    `first` - 1 to `last` + 1 in OFFSET_STEP and SLOPES, cells off the map counting 0 ->
    (x(0), slope) in the block's columns. Ties go to the smaller slope, then centre."""
    block = np.asarray(block, np.float64)
    n, cols = block.shape
    rows = np.arange(n)
    centres = np.arange(first - 1.0, last + 1.0 + 1e-9, OFFSET_STEP)
    tolerant = np.empty((len(SLOPES), len(centres)))
    exact = np.empty_like(tolerant)
    for k, slope in enumerate(SLOPES):
        x = centres[:, None] + slope * (rows - (n - 1) / 2)[None, :]
        inside = (x >= 0) & (x <= cols - 1)
        j = np.clip(np.floor(x).astype(np.int64), 0, max(cols - 2, 0))
        right = np.minimum(j + 1, cols - 1)
        f = np.clip(x - j, 0.0, 1.0)
        a, b = block[rows, j], block[rows, right]
        prior = speed_prior * abs(np.log2(slope))
        tolerant[k] = np.where(inside, np.maximum(a, b), 0.0).mean(axis=1) - prior
        exact[k] = np.where(inside, a + f * (b - a), 0.0).mean(axis=1) - prior
    # rounded so that lines tied in exact arithmetic tie whatever the summation order
    tolerant, exact = np.round(tolerant, 9), np.round(exact, 9)
    score = np.where(tolerant >= tolerant.max() - NEAR_BEST, exact, -np.inf)
    k, c = np.unravel_index(int(np.argmax(score)), score.shape)
    slope = float(SLOPES[k])
    return float(centres[c] - slope * (n - 1) / 2), slope


def fit_reference_lines(matches: Sequence[Match], query: np.ndarray, query_times: np.ndarray,
                        bias: np.ndarray | None, refs: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
                        speed_prior: float) -> list[Match]:
    """The matches with each box's reference ends on its best line (best_line); a box of more
    than MAX_ROWS query samples takes each end from the line through its MAX_ROWS samples at
    that end, and one of fewer than MIN_ROWS stays as given. query (Tq, V, D) with its sample
    times (Tq,) and bias (Tq, V) or None; refs: per reference id, (descriptors (Tr, W, D),
    sample times (Tr,), where its last sample's interval ends). A match needs its frame box
    (Match.frames); the similarity is vcdfast.similarity.query_view_max's, as the alignment's."""
    if not 0 <= speed_prior < float("inf"):
        raise ValueError(f"speed_prior must be finite and >= 0, got {speed_prior}")
    query_times = np.asarray(query_times, np.float64)
    out = []
    for m in matches:
        if m.frames is None:
            raise ValueError(f"match {m.query_id!r} -> {m.ref_id!r} has no frame box to fit")
        qs, rs, qe, re_ = m.frames
        if qe - qs + 1 < MIN_ROWS:
            out.append(m)
            continue
        vectors, times, last_end = refs[m.ref_id]
        n = min(qe - qs + 1, MAX_ROWS)
        if n == qe - qs + 1:
            start, slope = _window_line(query, bias, vectors, qs, n, rs, re_, speed_prior)
            x_first, x_last = start, start + slope * (n - 1)
        else:
            reach = 2 * (n - 1)  # reference samples a window's chain may cover (max_step 2)
            x_first, _ = _window_line(query, bias, vectors, qs, n, rs, min(re_, rs + reach), speed_prior)
            start, slope = _window_line(query, bias, vectors, qe - n + 1, n, max(rs, re_ - reach), re_, speed_prior)
            x_last = start + slope * (n - 1)
            if x_last < x_first:  # the ends' lines cross: they found different footage; keep the chain's
                out.append(m)
                continue
        out.append(_on_line(m, x_first, x_last, query_times, times, last_end))
    return out


def extend_ends(matches: Sequence[Match], query: np.ndarray, query_times: np.ndarray, query_intervals: np.ndarray,
                bias: np.ndarray | None, refs: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
                min_sim: float) -> list[Match]:
    """The matches with each box end grown along its line by up to EXTEND_ROWS query samples,
    one at a time while that sample's cell on the line reaches `min_sim`: the better of the
    reference's two samples either side of the line's time (t's own and the one before, when
    t falls on a sample). The line runs through the box's query and reference ends at its
    speed (reference seconds per query second, clipped to the SLOPES; 1x for a box of fewer
    than MIN_ROWS samples). An end stops at the reference's ends and before a query sample
    another box of the same pair holds. Arguments as fit_reference_lines', with query_intervals
    (Tq, 2) each sample's [start, end) in seconds; a grown end lands on its sample's
    interval end, the reference end on the line there."""
    from vcdfast.similarity import query_view_max

    if not np.isfinite(min_sim):
        raise ValueError(f"min_sim must be finite, got {min_sim}")
    query_times = np.asarray(query_times, np.float64)
    # each pair's query rows held so far, grown as their boxes grow, so two boxes never share one
    held: dict[tuple[str, str], list[list[int]]] = {}
    rows = []
    for m in matches:
        if m.frames is None:
            raise ValueError(f"match {m.query_id!r} -> {m.ref_id!r} has no frame box to extend")
        rows.append([m.frames[0], m.frames[2]])
        held.setdefault((m.query_id, m.ref_id), []).append(rows[-1])

    def grows(m: Match, row: int, anchor: tuple[float, float], speed: float) -> bool:
        """Whether query sample `row` passes on the line through (query s, reference s) `anchor`."""
        vectors, times, last_end = refs[m.ref_id]
        if not 0 <= row < len(query_times) or any(lo <= row <= hi for lo, hi in held[(m.query_id, m.ref_id)]):
            return False
        t = _along(anchor, speed, query_times[row])
        if not 0.0 <= t <= last_end:
            return False
        j = int(np.clip(np.searchsorted(times, t), 1, max(1, len(times) - 1)))
        cols = np.unique(np.clip([j - 1, j], 0, len(times) - 1))
        cell = query_view_max(np.ascontiguousarray(query[row:row + 1], np.float32),
                              np.ascontiguousarray(vectors[cols], np.float32),
                              bias=None if bias is None else np.ascontiguousarray(bias[row:row + 1], np.float32))
        return float(cell.max()) >= min_sim

    out = []
    for m, span in zip(matches, rows):
        qs, rs, qe, re_ = m.frames
        speed = 1.0
        if qe - qs + 1 >= MIN_ROWS and m.query_end > m.query_start:
            speed = float(np.clip((m.ref_end - m.ref_start) / (m.query_end - m.query_start), SLOPES[0], SLOPES[-1]))
        end, start = qe, qs
        last, first = (m.query_end, m.ref_end), (m.query_start, m.ref_start)
        while end - qe < EXTEND_ROWS and grows(m, end + 1, last, speed):
            end = span[1] = end + 1
        while qs - start < EXTEND_ROWS and grows(m, start - 1, first, speed):
            start = span[0] = start - 1
        grown = m
        if end != qe:
            q_end = float(query_intervals[end][1])
            grown = replace(grown, query_end=q_end, ref_end=min(_along(last, speed, q_end), refs[m.ref_id][2]))
        if start != qs:
            q_start = float(query_intervals[start][0])
            grown = replace(grown, query_start=q_start, ref_start=max(0.0, _along(first, speed, q_start)))
        out.append(replace(grown, frames=(start, rs, end, re_)))
    return out


def _along(anchor: tuple[float, float], speed: float, query_time: float) -> float:
    """The reference time at `query_time` on the line through (query s, reference s) `anchor`."""
    return anchor[1] + speed * (query_time - anchor[0])


def _window_line(query, bias, vectors, q0: int, n: int, first: int, last: int,
                 speed_prior: float) -> tuple[float, float]:
    """best_line over query rows q0 .. q0 + n - 1 with centres around reference samples first ..
    last -> (the line's reference position at row q0, its slope) in the map's columns."""
    from vcdfast.similarity import query_view_max

    # every column a line may reach: centres within a sample of first .. last, slope at most 2
    lo = max(0, int(np.floor(first - 1 - SLOPES[-1] * n / 2)))
    hi = min(len(vectors), int(np.ceil(last + 2 + SLOPES[-1] * n / 2)))
    block = query_view_max(np.ascontiguousarray(query[q0:q0 + n], np.float32),
                           np.ascontiguousarray(vectors[lo:hi], np.float32),
                           bias=None if bias is None else np.ascontiguousarray(bias[q0:q0 + n], np.float32))
    start, slope = best_line(block, first - lo, last - lo, speed_prior)
    return lo + start, slope


def _on_line(m: Match, x_first: float, x_last: float, query_times: np.ndarray, times: np.ndarray,
             last_end: float) -> Match:
    """m with its reference ends on the line through reference sample positions x_first (at
    its first query sample) and x_last (at its last), in seconds, within [0, last_end]."""
    qs, _, qe, _ = m.frames
    first, last = _time_at(x_first, times), _time_at(x_last, times)
    per_second = (last - first) / (query_times[qe] - query_times[qs])
    start = first + per_second * (m.query_start - query_times[qs])
    end = last + per_second * (m.query_end - query_times[qe])
    return replace(m, ref_start=float(min(max(start, 0.0), last_end)), ref_end=float(min(max(end, 0.0), last_end)))


def _time_at(x: float, times: np.ndarray) -> float:
    """The time at fractional sample position x, linear between samples and beyond the ends."""
    t = np.asarray(times, np.float64)
    if len(t) == 1:
        return float(t[0] + x)
    j = int(np.clip(np.floor(x), 0, len(t) - 2))
    return float(t[j] + (x - j) * (t[j + 1] - t[j]))
