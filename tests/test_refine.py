"""Box ends bisected between samples (vcdfast.refine): the bisection on descriptors that
drift smoothly with time, with a copy planted between samples; the query's frames at any
time (Embedder.embed_at) with real decoding and ONNX Runtime; and Index.query end to end on
generated videos (mechanics: planted copies and times, with the generated-scene options)."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

from vcdfast.errors import PartialDecodeWarning
from vcdfast.query import Match, QueryOptions
from vcdfast.refine import refine_ends

D = 64


def drift(seed: int):
    """t (N,) -> (N, D) unit descriptors that turn slowly with t (a shot that pans): a few
    seconds apart they are still alike, two seeds share nothing."""
    rng = np.random.default_rng(seed)
    w, phase, basis = rng.uniform(0.05, 0.3, (8, 1)), rng.uniform(0, 2 * np.pi, (8, 1)), rng.standard_normal((8, D))

    def at(t):
        v = np.cos(w * np.atleast_1d(np.asarray(t, np.float64))[None, :] + phase).T @ basis
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    return at


class Planted:
    """A query whose [q0, q1) shows a reference from r0 at `speed`, elsewhere unrelated;
    both sampled every second. probe() gives the query at any times (one view)."""

    def __init__(self, q0, q1, r0, speed=1.0, q_len=40, r_len=60, seed=0):
        self.q0, self.q1, self.r0, self.speed = q0, q1, r0, speed
        self.ref_at, self.other_at = drift(seed), drift(seed + 1000)
        self.qt, self.rt = np.arange(q_len, dtype=np.float64), np.arange(r_len, dtype=np.float64)
        self.query = self.at(self.qt)[:, None, :]
        self.refs = {"ref": (self.ref_at(self.rt)[:, None, :], self.rt, float(r_len) - 0.5)}
        self.probed: list[float] = []

    def at(self, t):
        t = np.atleast_1d(np.asarray(t, np.float64))
        inside = (t >= self.q0) & (t < self.q1)
        return np.where(inside[:, None], self.ref_at(self.r0 + (t - self.q0) * self.speed), self.other_at(t))

    def probe(self, times, views):
        assert (np.asarray(views) == 0).all()
        self.probed += list(np.asarray(times).tolist())
        return self.at(times)[:, None, :], np.ones(len(times), bool)

    def match(self) -> Match:
        """The box the alignment finds: the samples inside the copy, and the reference samples
        nearest where they show."""
        qs, qe = math.ceil(self.q0), math.ceil(self.q1) - 1
        rs, re_ = (round(self.r0 + (q - self.q0) * self.speed) for q in (qs, qe))
        return Match("query", "ref", qs - 0.5, qe + 0.5, rs - 0.5, re_ + 0.5, 0.9, (qs, rs, qe, re_))

    def refine(self, steps, min_sim=0.3, matches=None):
        return refine_ends(matches or [self.match()], self.query, self.qt, self.refs, self.probe,
                           lambda v: None, min_sim, steps)


@pytest.mark.parametrize("seed", range(6))
def test_each_step_halves_the_error_on_both_sides(seed):
    rng = np.random.default_rng(seed)
    q0 = 5 + rng.uniform(0, 1)
    q1 = q0 + rng.uniform(4, 20)
    case = Planted(q0, q1, q0 + 11, seed=seed)  # a whole number of seconds on: reference samples fall at query samples
    for steps in range(5):
        (m,) = case.refine(steps)
        bound = 0.5 / 2 ** steps + 1e-9
        assert abs(m.query_start - q0) <= bound and abs(m.query_end - q1) <= bound, (steps, m, q0, q1)
        assert m.ref_start == pytest.approx(m.query_start + 11) and m.ref_end == pytest.approx(m.query_end + 11)
        assert m.frames == case.match().frames and m.score == case.match().score


def test_zero_steps_returns_the_matches_as_they_are():
    case = Planted(5.3, 15.8, 20.0)
    assert case.refine(0) == [case.match()]
    assert case.probed == []


def test_the_reference_ends_follow_the_line_the_box_draws():
    case = Planted(5.7, 25.2, 10.0, speed=1.5)
    box = case.match()
    slope = (box.ref_end - box.ref_start) / (box.query_end - box.query_start)
    (m,) = case.refine(3)
    assert abs(m.query_start - 5.7) <= 0.5 / 8 + 1e-9 and abs(m.query_end - 25.2) <= 0.5 / 8 + 1e-9, m
    assert (m.ref_end - m.ref_start) == pytest.approx(slope * (m.query_end - m.query_start))
    # the box's reference samples are rounded, so its ends are off by at most that rounding
    assert abs(m.ref_start - 10.0) <= 0.5 * slope + 0.5 / 8 * slope + 1e-9, m
    assert abs(m.ref_end - (10.0 + 1.5 * (25.2 - 5.7))) <= 0.5 * slope + 0.5 / 8 * slope + 1e-9, m


def test_a_box_line_between_samples_moves_its_reference_ends_with_it():
    """A box whose reference ends were refit between samples (vcdfast.lines) is bisected along
    that line, not along its samples' diagonal."""
    case = Planted(5.7, 25.2, 10.0, speed=1.0)
    box = dataclasses.replace(case.match(), ref_start=10.0 - 0.3, ref_end=10.0 - 0.3 + 20.0 * 0.8)
    (m,) = case.refine(3, matches=[box])
    assert (m.ref_end - m.ref_start) == pytest.approx(0.8 * (m.query_end - m.query_start))
    assert m.ref_start == pytest.approx(box.ref_start + 0.8 * (m.query_start - box.query_start))


def test_ends_at_the_first_and_last_sample_stay():
    case = Planted(0.0, 39.5, 3.0)
    first_last = Match("query", "ref", 0.0, 39.5, 2.5, 42.5, 0.9, (0, 3, 39, 42))
    assert case.refine(2, matches=[first_last]) == [first_last]
    assert case.probed == []


def test_an_end_whose_probe_finds_no_frame_stays():
    case = Planted(5.3, 15.8, 20.0)

    def nothing(times, views):
        return np.full((len(times), 1, D), np.nan, np.float32), np.zeros(len(times), bool)

    m = case.match()
    assert refine_ends([m], case.query, case.qt, case.refs, nothing, lambda v: None, 0.3, 3) == [m]


def unit(cos: float) -> np.ndarray:
    return np.array([cos, math.sqrt(1 - cos * cos), 0, 0], np.float32)


@pytest.mark.parametrize("probe_sim,moves_out", [(0.45, False), (0.7, True)])
def test_the_probe_must_be_nearer_the_inside_sample(probe_sim, moves_out):
    """Inside sample 0.9, outside 0.3, floor 0.2: a probe at 0.45 passes the floor but looks
    like the outside sample, so the end moves in; at 0.7 it moves out."""
    ref = np.tile(np.array([1, 0, 0, 0], np.float32), (10, 1))[:, None, :]
    rt = np.arange(10, dtype=np.float64)
    query = np.stack([unit(0.3)] * 3 + [unit(0.9)] * 4 + [unit(0.3)] * 3)[:, None, :]
    m = Match("q", "r", 2.5, 6.5, 2.5, 6.5, 0.9, (3, 3, 6, 6))

    def probe(times, views):
        return np.stack([unit(probe_sim)] * len(times))[:, None, :], np.ones(len(times), bool)

    (out,) = refine_ends([m], query, np.arange(10.0), {"r": (ref, rt, 9.5)}, probe, lambda v: None, 0.2, 1)
    expected = (2.25, 6.75) if moves_out else (2.75, 6.25)
    assert (out.query_start, out.query_end) == pytest.approx(expected)


def test_a_match_without_a_frame_box_is_refused():
    case = Planted(5.3, 15.8, 20.0)
    with pytest.raises(ValueError, match="no frame box"):
        case.refine(1, matches=[dataclasses.replace(case.match(), frames=None)])
    with pytest.raises(ValueError, match="steps"):
        case.refine(-1)


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_options_refuse_a_bad_step_count(bad):
    with pytest.raises(ValueError, match="refine_steps"):
        QueryOptions(refine_steps=bad)


def test_options_carry_the_step_count_through_json():
    options = QueryOptions(refine_steps=3)
    assert QueryOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options


# --------------------------------------------------------------------------- real decoding


SIZE, FPS = (160, 120), 10.0


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A reference of 2-s shots, and a query that shows its 7.0-17.0 s at 5.05-15.05 s."""
    from videos import Scenes, make_video, retime, splice

    d = tmp_path_factory.mktemp("refine")

    def shots(seed):
        return Scenes(seed, SIZE, scene_seconds=2.0)

    ref = make_video(d / "ref1.mp4", seconds=24.0, fps=FPS, size=SIZE, content=shots(1)).path
    query = make_video(d / "query.mp4", seconds=20.0, fps=FPS, size=SIZE,
                       content=splice([(shots(101), 5.05), (retime(shots(1), 7.0), 10.0), (shots(102), 4.95)])).path
    return ref, query, d


@pytest.fixture(scope="module")
def embedder():
    from vcdfast.embed import Embedder

    return Embedder("sscd-mobile", views=("full", "flip"))


def test_embed_at_gives_embed_video_descriptors_at_its_samples(planted, embedder):
    _, query, _ = planted
    whole = embedder.embed_video(query)
    pick = [0, 1, 3, 8, len(whole) - 1]  # the first two decode forward, the rest seek
    got, found = embedder.embed_at(query, whole.timestamps[pick], 1.0)
    assert found.all()
    np.testing.assert_allclose(got, whole.vectors[pick], atol=1e-5)
    views = np.array([1, 0, 0, 1, 1])  # one model run each; the other view is left NaN
    one, found = embedder.embed_at(query, whole.timestamps[pick], 1.0, views)
    assert found.all()
    rows = np.arange(len(pick))
    np.testing.assert_allclose(one[rows, views], whole.vectors[pick][rows, views], atol=1e-5)
    assert np.isnan(one[rows, 1 - views]).all()
    with pytest.raises(ValueError, match="one index"):
        embedder.embed_at(query, whole.timestamps[pick], 1.0, views[:2])


def test_embed_at_between_samples_takes_the_frame_on_screen(planted, embedder):
    from vcdfast.decode import Sampling, decode

    _, query, _ = planted
    every = decode(query, Sampling(fps=None), size=embedder.decode_size)
    times = [0.35, 4.55, 12.25]
    got, found = embedder.embed_at(query, times, 1.0)
    assert found.all()
    shown = [int(np.flatnonzero(every.timestamps <= t + 1e-6)[-1]) for t in times]
    np.testing.assert_allclose(got, embedder.embed_frames(every.frames[shown]), atol=1e-5)


def test_embed_at_with_a_cache_decodes_a_step_once_for_its_bisection(planted, embedder):
    """With a cache, whole-frame views take the frame on screen at the last 1/16 of a step
    at or before each time, from one decoded window: the same frames at those times."""
    _, query, _ = planted
    times = [5.5, 5.25, 5.375, 5.3125]
    exact, _ = embedder.embed_at(query, times, 1.0, np.zeros(4, int))
    cache: dict = {}
    for i, t in enumerate(times):
        got, found = embedder.embed_at(query, [t], 1.0, [0], cache=cache)
        assert found[0] and cache["window"] == (5, 1.0)
        np.testing.assert_allclose(got[0, 0], exact[i, 0], atol=1e-5)
    window = cache["clip"]
    embedder.embed_at(query, [5.4375], 1.0, [1], cache=cache)
    assert cache["clip"] is window
    embedder.embed_at(query, [12.5], 1.0, [0], cache=cache)
    assert cache["window"] == (12, 1.0)


def test_embed_at_with_a_cache_finds_a_low_frame_rate_frame_shown_from_before_its_window(planted, embedder):
    """At 5 fps with frames off the second's grid (0.1, 0.3, ...), the frame on screen at 5.0-5.1
    s came up at 4.9 s, before the window's decode starts: it is decoded on its own, the same
    frame as without a cache, and the window stays cached."""
    from videos import make_video

    _, _, d = planted
    path = make_video(d / "offgrid5fps.mkv", seconds=12.0, fps=5.0, size=SIZE,
                      times=[0.0] + [0.1 + 0.2 * j for j in range(60)]).path
    times = [5.0, 5.05, 5.0625, 5.5]
    exact, found_exact = embedder.embed_at(path, times, 1.0, np.zeros(len(times), int))
    assert found_exact.all()
    cache: dict = {}
    for i, t in enumerate(times):
        got, found = embedder.embed_at(path, [t], 1.0, [0], cache=cache)
        if i == 0:
            window = cache["clip"]
        assert found[0] and cache["clip"] is window, t
        np.testing.assert_allclose(got[0, 0], exact[i, 0], atol=1e-5)


def test_probes_find_a_still_held_on_screen_for_several_steps(planted, embedder):
    """A screen recording's still: the frame at 3.0 s stays on screen until 6.5 s. Every probe in
    between, cached or not, whole or cut to a box, finds it, and none past the video's end."""
    from videos import make_video

    _, _, d = planted
    path = make_video(d / "held.mp4", size=SIZE,
                      times=[*np.arange(31) / 10, *(6.5 + np.arange(40) / 10)]).path  # ends at 10.5 s
    still, found = embedder.embed_at(path, [3.05], 1.0)
    assert found.all()
    times = [4.0, 5.2, 6.4375]
    exact, found = embedder.embed_at(path, times, 1.0)
    assert found.all()
    np.testing.assert_allclose(exact, np.repeat(still, len(times), axis=0), atol=1e-5)
    cache: dict = {}
    for t in times:
        got, found = embedder.embed_at(path, [t], 1.0, [0], cache=cache)
        assert found[0], t
        np.testing.assert_allclose(got[0, 0], still[0, 0], atol=1e-5)
    box = [[0.25, 0.25, 0.75, 0.75]]
    cut, found = embedder.embed_crops(path, [3.05, 5.2, 10.6], box * 3, 1.0)
    assert found.tolist() == [True, True, False]
    np.testing.assert_allclose(cut[1], cut[0], atol=1e-5)
    past, found = embedder.embed_at(path, [10.45, 10.55], 1.0, [0, 0], cache={})
    assert found.tolist() == [True, False]


def test_embed_at_finds_nothing_past_the_stream_or_in_its_damaged_part(planted, embedder):
    from videos import Scenes, make_truncated, make_video

    ref, _, d = planted
    got, found = embedder.embed_at(ref, [-1.0, 3.5, 30.0], 1.0)
    assert found.tolist() == [False, True, False]
    assert np.isnan(got[[0, 2]]).all() and np.isfinite(got[1]).all()
    whole = make_video(d / "whole.mkv", seconds=24.0, fps=4.0, size=SIZE, codec="mjpeg", content=Scenes(3, SIZE))
    cut = make_truncated(whole.path, d / "cut.mkv", fraction=0.5)  # still declares 24 s
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartialDecodeWarning)  # the damage was reported when it was embedded
        got, found = embedder.embed_at(cut, [2.5, 22.5], 1.0)
    assert found.tolist() == [True, False]


def test_query_ends_planted_between_samples_are_refined(planted, tmp_path):
    from vcdfast.index import Index
    from vcdfast.synthetic import QUERY_OPTIONS

    ref, query, _ = planted
    with Index.open(tmp_path / "ix") as ix:
        assert ix.add([ref]).ok
        options = dataclasses.replace(QUERY_OPTIONS, cut_window=None)  # the ends alone: no move onto the cuts
        found = {n: ix.query(query, options=dataclasses.replace(options, refine_steps=n)) for n in (0, 1, 2)}
        emb = ix.embed_query(query, views=QUERY_OPTIONS.views)
        arrays = dataclasses.replace(emb, info=dataclasses.replace(emb.info, path=""))
        without_file = ix.query(arrays, options=dataclasses.replace(options, refine_steps=2))
    (grid,), (one,), (two,) = found[0], found[1], found[2]
    # the samples inside the copy are 6..15 s, so the grid's ends are 5.5 and 15.5 s
    assert (grid.query_start, grid.query_end) == (5.5, 15.5), grid
    for m, bound in ((one, 0.25), (two, 0.125)):
        assert abs(m.query_start - 5.05) <= bound + 0.1 and abs(m.query_end - 15.05) <= bound + 0.1, m
        # the reference ends move with the query ends
        assert m.ref_start - grid.ref_start == pytest.approx(m.query_start - grid.query_start, abs=0.25)
        assert m.ref_end - grid.ref_end == pytest.approx(m.query_end - grid.query_end, abs=0.25)
    assert without_file == found[0]  # no file to probe: the grid's ends
