"""A box's reference line (vcdfast.lines): the line search against its cell-by-cell
reference on random maps, what it chooses on maps with a known line (a pan at 1x, slow
motion, a blocky map of stills), and fit_reference_lines on descriptors with a planted copy;
extend_ends against its sample-by-sample reference and on planted copies whose ends a chain
missed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import best_line_ref, extend_ends_ref
from vcdfast.lines import EXTEND_ROWS, MAX_ROWS, SLOPES, best_line, extend_ends, fit_reference_lines
from vcdfast.query import Match, QueryOptions, intervals


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 30), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.02, 0.05, 0.5]),
       st.booleans())
def test_best_line_matches_its_reference(n, cols, seed, prior, coarse):
    rng = np.random.default_rng(seed)
    block = rng.uniform(-0.5, 1.0, (n, cols))
    if coarse:  # ties everywhere
        block = np.round(block, 1)
    first = int(rng.integers(0, cols))
    last = int(rng.integers(first, cols))
    got = best_line(block, first, last, prior)
    want = best_line_ref(block, first, last, prior, SLOPES)
    assert got == pytest.approx(want, abs=1e-9)


def line_map(n, cols, start, slope, width=0.6):
    """A map whose cells fall off with their distance from the line start + slope * i."""
    i, j = np.mgrid[0:n, 0:cols]
    return np.exp(-((j - (start + slope * i)) / width) ** 2) * 0.8 - 0.1


@pytest.mark.parametrize("slope", [2.0 ** (-2 / 3), 1.0, 2.0])
def test_a_sharp_line_on_the_samples_is_found_with_its_slope_and_start(slope):
    block = line_map(12, 40, 5.0, slope)
    start, got = best_line(block, 5, int(5 + slope * 11), 0.05)
    assert got == pytest.approx(slope)
    assert start == pytest.approx(5.0, abs=0.25)


def test_half_speed_is_read_within_a_grid_step():
    """The prior costs 0.5x the most, so along a line that fits 0.5x and 0.56x alike it takes
    the faster; over 12 rows the line's end stays within half a sample of the copy's."""
    block = line_map(12, 40, 5.0, 0.5, width=2.0)
    start, got = best_line(block, 5, 10, 0.05)
    assert abs(np.log2(got / 0.5)) <= 1 / 6 + 1e-9
    assert abs(start - 5.0) <= 0.5 and abs(start + 11 * got - 10.5) <= 0.5


def test_a_flat_pan_is_read_at_its_own_speed():
    """Neighbouring reference samples score alike along the copy: any slope from 0.5 to 2 fits
    about as well, and the prior keeps 1x."""
    block = line_map(10, 30, 8.0, 1.0, width=4.0)
    start, slope = best_line(block, 7, 19, 0.05)  # a chain that drifted to 1.3x
    assert slope == 1.0
    assert start == pytest.approx(8.0, abs=0.25)


def test_a_drifted_box_over_stills_keeps_to_the_copied_shots():
    """A copy at 1x of two stills: the first shot covers reference samples 6-12, the second
    13-15, and the query shows 6 rows of the first and 4 of the second. The chain's box ran
    on to sample 17; the line keeps to the copied shots in every row, its ends within the
    samples a 1x line through them would reach (6-7 and 15-16)."""
    block = np.full((10, 20), -0.3)
    block[:6, 6:13] = 0.55
    block[6:, 13:16] = 0.7
    start, slope = best_line(block, 6, 17, 0.05)
    x = start + slope * np.arange(10)
    near = np.maximum(block[np.arange(10), np.floor(x).astype(int)], block[np.arange(10), np.ceil(x).astype(int)])
    assert (near > 0).all(), x
    assert 6.0 <= x[0] <= 7.0 and 15.0 <= x[-1] <= 16.0, x


def drifting_refs(seed=0, length=60, d=32):
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal((length, d)), axis=0)
    v = walk / np.linalg.norm(walk, axis=1, keepdims=True)
    return v.astype(np.float32)


def test_fit_reference_lines_moves_a_drifted_box_onto_the_copy():
    """A query whose samples 10-21 copy reference samples 20-31 at 1x; the box handed in ran
    to reference sample 36 (a chain that drifted). Its reference ends move onto 19.5-31.5 s."""
    ref = drifting_refs()
    rng = np.random.default_rng(1)
    query = rng.standard_normal((40, 32)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    query[10:22] = ref[20:32]
    qt, rt = np.arange(40, dtype=np.float64), np.arange(60, dtype=np.float64)
    box = Match("q", "r", 9.5, 21.5, 19.5, 36.5, 0.8, (10, 20, 21, 36))
    (m,) = fit_reference_lines([box], query[:, None], qt, None, {"r": (ref[:, None], rt, 59.5)}, 0.05)
    assert (m.query_start, m.query_end, m.score, m.frames) == (9.5, 21.5, 0.8, (10, 20, 21, 36))
    assert m.ref_start == pytest.approx(19.5, abs=0.26) and m.ref_end == pytest.approx(31.5, abs=0.26)


def test_a_box_too_short_to_tell_a_slope_is_kept_as_given():
    ref = drifting_refs()
    qt, rt = np.arange(40, dtype=np.float64), np.arange(60, dtype=np.float64)
    short = Match("q", "r", 2.5, 5.5, 2.5, 6.5, 0.5, (3, 3, 5, 6))
    assert fit_reference_lines([short], ref[:40, None], qt, None, {"r": (ref[:, None], rt, 59.5)}, 0.05) == [short]


def test_a_long_box_takes_each_end_from_the_line_at_that_end():
    """300 query samples copying reference samples 50-349 at 1x, handed in as a box that
    started 5 samples early and ran 11 late: each end moves onto the copy."""
    ref = drifting_refs(length=500)
    n = MAX_ROWS + 180
    query = ref[50:50 + n, None].copy()
    qt, rt = np.arange(n, dtype=np.float64), np.arange(500, dtype=np.float64)
    box = Match("q", "r", -0.5, n - 0.5, 44.5, 49 + n + 11.5, 0.8, (0, 45, n - 1, 49 + n + 11))
    (m,) = fit_reference_lines([box], query, qt, None, {"r": (ref[:, None], rt, 499.5)}, 0.05)
    assert m.ref_start == pytest.approx(49.5, abs=0.26) and m.ref_end == pytest.approx(49.5 + n, abs=0.26)


def test_a_long_box_whose_end_lines_cross_is_kept_as_given():
    """The first 120 rows copy reference samples 270-389 and the last 120 copy 110-229: each
    end's line finds its own footage, and the two cross, so the box keeps the chain's ends."""
    ref = drifting_refs(length=500)
    rng = np.random.default_rng(2)
    query = rng.standard_normal((300, 32)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    query[:MAX_ROWS], query[300 - MAX_ROWS:] = ref[270:270 + MAX_ROWS], ref[110:110 + MAX_ROWS]
    qt, rt = np.arange(300, dtype=np.float64), np.arange(500, dtype=np.float64)
    box = Match("q", "r", -0.5, 299.5, 99.5, 400.5, 0.4, (0, 100, 299, 400))
    assert fit_reference_lines([box], query[:, None], qt, None, {"r": (ref[:, None], rt, 499.5)}, 0.05) == [box]


def test_bad_input_is_refused():
    m = Match("q", "r", 0.0, 5.0, 0.0, 5.0, 0.5, None)
    refs = {"r": (np.zeros((6, 1, 4), np.float32), np.arange(6.0), 5.5)}
    with pytest.raises(ValueError, match="no frame box"):
        fit_reference_lines([m], np.zeros((6, 1, 4), np.float32), np.arange(6.0), None, refs, 0.05)
    with pytest.raises(ValueError, match="speed_prior"):
        fit_reference_lines([], np.zeros((6, 1, 4), np.float32), np.arange(6.0), None, refs, -1.0)


@pytest.mark.parametrize("bad", [-0.01, float("inf"), float("nan")])
def test_options_refuse_a_bad_speed_prior(bad):
    with pytest.raises(ValueError, match="speed_prior"):
        QueryOptions(speed_prior=bad)


@pytest.mark.parametrize("prior", [None, 0.0, 0.1])
def test_options_carry_the_speed_prior_through_json(prior):
    options = QueryOptions(speed_prior=prior)
    assert QueryOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options


def unit(rng, *shape):
    v = rng.standard_normal(shape).astype(np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def sample_intervals(times, step=1.0):
    """The samples' [start, end) as the index draws them (vcdfast.query.intervals), the last
    ending half a step after its sample."""
    return intervals(times, float(times[-1]) + step / 2)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(4, 30), st.integers(1, 3), st.booleans(), st.sampled_from([0.5, 1.0]),
       st.floats(-0.3, 0.6))
def test_extend_ends_matches_its_reference(seed, tq, views, with_bias, step, min_sim):
    rng = np.random.default_rng(seed)
    query = unit(rng, tq, views, 8)
    qt = np.arange(tq) * step
    qi = sample_intervals(qt, step)
    refs = {}
    for rid in ("a", "b"):
        tr = int(rng.integers(1, 25))
        rt = np.arange(tr) * step
        vectors = unit(rng, tr, 1, 8)
        copied = rng.integers(0, tr, tq)  # a noisy copy, so that lines pass and fail
        query[:, 0] = np.where(rng.random((tq, 1)) < 0.6, vectors[copied, 0], query[:, 0])
        refs[rid] = (vectors, rt, float(rt[-1] + step / 2))
    bias = rng.uniform(-0.1, 0.2, (tq, views)).astype(np.float32) if with_bias else None
    matches = []
    for _ in range(int(rng.integers(1, 5))):
        rid = str(rng.choice(["a", "b"]))
        rt, last_end = refs[rid][1], refs[rid][2]
        qs = int(rng.integers(0, tq))
        qe = int(rng.integers(qs, min(tq, qs + 8)))
        # on a grid of quarter samples, so that lines meet samples exactly (which two samples count there)
        r0 = float(rng.integers(0, int(4 * last_end / step) + 1)) * step / 4
        r1 = float(rng.integers(int(4 * r0 / step), int(4 * last_end / step) + 1)) * step / 4
        rs, re_ = int(np.searchsorted(rt, r0)), int(np.searchsorted(rt, r1))
        matches.append(Match("q", rid, float(qi[qs, 0]), float(qi[qe, 1]), r0, r1, 0.5,
                             (qs, min(rs, len(rt) - 1), qe, min(re_, len(rt) - 1))))
    got = extend_ends(matches, query, qt, qi, bias, refs, min_sim)
    want = extend_ends_ref(matches, query, qt, qi, bias, refs, min_sim, rows=EXTEND_ROWS,
                           slopes=(SLOPES[0], SLOPES[-1]))
    assert [m.frames for m in got] == [m.frames for m in want]
    for g, w in zip(got, want):
        assert (g.query_start, g.query_end, g.ref_start, g.ref_end) == pytest.approx(
            (w.query_start, w.query_end, w.ref_start, w.ref_end), abs=1e-9)
        assert (g.query_id, g.ref_id, g.score) == (w.query_id, w.ref_id, w.score)


def planted(speed=1.0, first=10, last=21, at=20.0, tq=40, tr=80, seed=0):
    """Query samples first..last copying the reference from sample `at` at `speed` (query
    samples 1 s apart, reference samples 1 s apart; between samples the nearer one), the
    other query samples unrelated -> (query (Tq, 1, D), qt, qi, refs)."""
    ref = drifting_refs(seed, tr)
    rng = np.random.default_rng(seed + 1)
    query = unit(rng, tq, 32)
    for i in range(first, last + 1):
        query[i] = ref[int(round(at + speed * (i - first)))]
    qt, rt = np.arange(tq, dtype=np.float64), np.arange(tr, dtype=np.float64)
    return query[:, None], qt, sample_intervals(qt), {"r": (ref[:, None], rt, tr - 0.5)}


def test_ends_a_chain_missed_grow_back_onto_the_copy():
    """The copy is query samples 10-21 <- reference 20-31 at 1x; the box handed in holds 12-19
    (the chain stopped two samples short at each end): both ends grow back onto 9.5-21.5 s,
    the reference ends onto the line (19.5-31.5 s), and the unrelated samples beyond stop
    them."""
    query, qt, qi, refs = planted()
    box = Match("q", "r", 11.5, 19.5, 21.5, 29.5, 0.8, (12, 22, 19, 29))
    (m,) = extend_ends([box], query, qt, qi, None, refs, 0.5)
    assert m.frames == (10, 22, 21, 29)
    assert (m.query_start, m.query_end, m.ref_start, m.ref_end) == pytest.approx((9.5, 21.5, 19.5, 31.5))
    assert m.score == box.score


def test_an_end_grows_by_at_most_extend_rows():
    query, qt, qi, refs = planted(first=5, last=30, at=10.0)
    box = Match("q", "r", 14.5, 19.5, 19.5, 24.5, 0.8, (15, 20, 19, 24))
    (m,) = extend_ends([box], query, qt, qi, None, refs, 0.5)
    assert m.frames == (15 - EXTEND_ROWS, 20, 19 + EXTEND_ROWS, 24)
    assert (m.query_start, m.query_end) == (14.5 - EXTEND_ROWS, 19.5 + EXTEND_ROWS)


def test_a_fast_copy_grows_along_its_own_speed():
    """At 2x, query samples 10-21 copy reference samples 20, 22, .. 42; the box handed in holds
    12-19 on 23.5-39.5 s (its line's speed, 2x): the ends grow along 2x onto 19.5-43.5 s. At
    1x the next samples' cells would be off the copy."""
    query, qt, qi, refs = planted(speed=2.0)
    box = Match("q", "r", 11.5, 19.5, 23.5, 39.5, 0.8, (12, 24, 19, 38))
    (m,) = extend_ends([box], query, qt, qi, None, refs, 0.5)
    assert m.frames == (10, 24, 21, 38)
    assert (m.ref_start, m.ref_end) == pytest.approx((19.5, 43.5))


def test_an_end_stops_at_the_reference_ends():
    """The copy runs from the reference's first sample: the line leaves the reference before
    the query's sample 9 does."""
    query, qt, qi, refs = planted(first=10, last=21, at=0.0)
    box = Match("q", "r", 10.5, 21.5, 0.5, 11.5, 0.8, (11, 1, 21, 11))
    (m,) = extend_ends([box], query, qt, qi, None, refs, -1.0)  # every cell passes; only the end stops it
    assert m.frames[0] == 10 and m.ref_start == 0.0


def test_two_boxes_of_one_pair_never_grow_into_each_other():
    """Two boxes of one pair with two samples between them that pass on both lines: the first
    takes them, the second stops at its edge, and no query sample is held twice."""
    query, qt, qi, refs = planted(first=5, last=30, at=10.0)
    a = Match("q", "r", 4.5, 12.5, 9.5, 17.5, 0.8, (5, 10, 12, 17))
    b = Match("q", "r", 14.5, 24.5, 19.5, 29.5, 0.8, (15, 20, 24, 29))
    ga, gb = extend_ends([a, b], query, qt, qi, None, refs, 0.5)
    assert ga.frames[2] == 14 and gb.frames[0] == 15
    assert ga.query_end == gb.query_start == 14.5


def test_extend_ends_refuses_bad_input():
    m = Match("q", "r", 0.0, 5.0, 0.0, 5.0, 0.5, None)
    refs = {"r": (np.zeros((6, 1, 4), np.float32), np.arange(6.0), 5.5)}
    qt = np.arange(6.0)
    with pytest.raises(ValueError, match="no frame box"):
        extend_ends([m], np.zeros((6, 1, 4), np.float32), qt, sample_intervals(qt), None, refs, 0.05)
    with pytest.raises(ValueError, match="min_sim"):
        extend_ends([], np.zeros((6, 1, 4), np.float32), qt, sample_intervals(qt), None, refs, float("nan"))


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_options_refuse_a_bad_extend_min_sim(bad):
    with pytest.raises(ValueError, match="extend_min_sim"):
        QueryOptions(extend_min_sim=bad)


@pytest.mark.parametrize("floor", [None, -0.05, 0.1])
def test_options_carry_extend_min_sim_through_json(floor):
    options = QueryOptions(extend_min_sim=floor)
    assert QueryOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
