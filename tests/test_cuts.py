"""Hard cuts (vcdfast.cuts): the luma signature, the online finder against a naive reference,
cuts found while decoding real generated videos, and match spans moved onto them."""

from __future__ import annotations

import dataclasses

import av
import numpy as np
import pytest

from vcdfast.cuts import FLOOR, GRID, MARGIN_S, NEIGHBOURS, RATIO, CutFinder, luma_signature, meet_cuts
from vcdfast.decode import Sampling, iter_frames
from vcdfast.query import Match, QueryOptions

SIZE = (160, 120)


def naive_cuts(times, signatures) -> list[float]:
    """The rule, over the whole sequence at once: frame i is a cut when its mean absolute change
    from frame i - 1 reaches FLOOR (of 255) and RATIO times every change within NEIGHBOURS
    frames either side."""
    change = [float(np.abs(signatures[i] - signatures[i - 1]).mean()) / 255.0 for i in range(1, len(signatures))]
    out = []
    for k, c in enumerate(change):
        around = change[max(0, k - NEIGHBOURS):k] + change[k + 1:k + 1 + NEIGHBOURS]
        if c >= FLOOR and c >= RATIO * max(around, default=0.0):
            out.append(times[k + 1])
    return out


@pytest.mark.parametrize("seed", range(30))
def test_the_online_finder_is_the_naive_rule(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    level = rng.uniform(0, 255, GRID).astype(np.float32)
    signatures = []
    for _ in range(n):
        if rng.random() < 0.15:  # a new shot
            level = rng.uniform(0, 255, GRID).astype(np.float32)
        level = np.clip(level + rng.normal(0, rng.choice([0.5, 4.0, 15.0]), GRID), 0, 255).astype(np.float32)
        signatures.append(level.copy())
    times = np.cumsum(rng.uniform(0.01, 0.1, n)).tolist()
    finder = CutFinder()
    for t, s in zip(times, signatures):
        finder.add(t, s)
    assert set(finder.cuts()) <= set(naive_cuts(times, signatures))  # decided early are final
    finder.finish()
    assert list(finder.cuts()) == naive_cuts(times, signatures)


def _block_means(grey: np.ndarray) -> np.ndarray:
    """The 18 x 32 means of 4 x 4 points per block, read at the points' centres, by loops."""
    h, w = grey.shape
    rows, cols = GRID[0] * 4, GRID[1] * 4
    out = np.zeros(GRID, np.float64)
    for i in range(GRID[0]):
        for j in range(GRID[1]):
            out[i, j] = np.mean([grey[int((4 * i + a + 0.5) * h / rows), int((4 * j + b + 0.5) * w / cols)]
                                 for a in range(4) for b in range(4)])
    return out


@pytest.mark.parametrize("fmt,shape", [("gray", (120, 160)), ("yuv420p", (90, 130)), ("yuv420p", (1080, 1920)),
                                       ("nv12", (72, 96))])
def test_the_signature_reads_the_luma_plane(fmt, shape):
    rng = np.random.default_rng(1)
    grey = rng.integers(16, 236, shape, dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(grey, format="gray").reformat(format=fmt)
    luma = np.frombuffer(frame.planes[0], np.uint8).reshape(frame.planes[0].height, -1)[:, :shape[1]]
    got = luma_signature(frame, None)
    assert got.shape == GRID and got.dtype == np.float32
    np.testing.assert_allclose(got, _block_means(luma), atol=1e-3)


def test_other_formats_are_converted_to_grey_first():
    from av.video.reformatter import VideoReformatter

    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 256, (GRID[0], GRID[1], 3), dtype=np.uint8)
    rgb = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)  # flat 8 x 8 blocks on the signature's grid
    got = luma_signature(av.VideoFrame.from_ndarray(rgb, format="rgb24"), VideoReformatter())
    grey = 0.299 * blocks[..., 0] + 0.587 * blocks[..., 1] + 0.114 * blocks[..., 2]
    np.testing.assert_allclose(got, grey, atol=1.5)


@pytest.mark.parametrize("codec,fps", [("h264", 25.0), ("mjpeg", 10.0), ("vp9", 15.0)])
def test_decoding_finds_every_cut_to_the_frame_and_nothing_else(tmp_path, codec, fps):
    from videos import CODECS, Scenes, make_video

    video = make_video(tmp_path / f"shots{CODECS[codec][1]}", seconds=9.0, fps=fps, size=SIZE, codec=codec,
                       content=Scenes(3, SIZE, scene_seconds=2.0))
    stream = iter_frames(video.path, Sampling(), find_cuts=True)
    assert stream.info is None
    list(stream)
    # the frames at 2, 4, 6 and 8 s begin new shots; B-frames left undecoded move one at most a few frames later
    np.testing.assert_allclose(stream.info.cuts, [2.0, 4.0, 6.0, 8.0], atol=3.5 / fps)
    assert iter_frames(video.path, Sampling()).info is None
    unasked = iter_frames(video.path, Sampling())
    list(unasked)
    assert unasked.info.cuts is None


def test_a_pan_and_noise_are_no_cuts(tmp_path):
    from videos import Scenes, make_video

    scenes = Scenes(4, SIZE, scene_seconds=60.0)
    rng = np.random.default_rng(0)

    def noisy(t):
        return np.clip(scenes(t) + rng.normal(0, 12, (SIZE[1], SIZE[0], 3)), 0, 255).astype(np.uint8)

    video = make_video(tmp_path / "pan.mp4", seconds=6.0, fps=25.0, size=SIZE, content=noisy)
    stream = iter_frames(video.path, Sampling(), find_cuts=True)
    list(stream)
    assert stream.info.cuts == ()


def _match(qs, qe, rs, re_, ref="r"):
    return Match("q", ref, qs, qe, rs, re_, 0.5)


LONG = {"r": 100.0}  # the reference's length where it bounds no move


def test_a_match_moves_onto_the_cuts_it_holds():
    m = _match(10.0, 20.0, 30.4, 40.4)  # the copy's true reference span is 30.0-40.0
    query_cuts = [9.0, 12.0, 16.5, 21.0]  # 9 and 21 lie outside the match; 12 and 16.5 are shots of the copy
    ref_cuts = {"r": (5.0, 32.02, 36.48, 50.0)}
    (moved,) = meet_cuts([m], query_cuts, ref_cuts, window=0.75, durations=LONG)
    assert moved.ref_start == pytest.approx(30.0, abs=1e-9) and moved.ref_end == pytest.approx(40.0, abs=1e-9)
    assert (moved.query_start, moved.query_end, moved.score) == (m.query_start, m.query_end, m.score)
    # at 2x the line maps query seconds to two reference seconds: the shift is measured along it
    fast = _match(10.0, 15.0, 30.4, 40.4)
    (moved,) = meet_cuts([fast], [12.0], {"r": (34.0,)}, window=0.75, durations=LONG)
    assert moved.ref_start == pytest.approx(30.0) and moved.ref_end == pytest.approx(40.0)


@pytest.mark.parametrize("span,ref_cut,duration,moved_to", [
    ((96.6, 99.6), 98.9, 100.0, (97.0, 100.0)),  # the cut asks 0.6 s later; the end allows 0.4
    ((96.6, 99.6), 98.9, None, (97.2, 100.2)),   # no known end: the cut's whole move
    ((0.3, 3.3), 1.1, 100.0, (0.0, 3.0)),        # the cut asks 0.9 s earlier; the start allows 0.3
    ((0.3, 3.3), 2.3, 100.0, (0.6, 3.6)),        # a move away from the start is not bounded by it
])
def test_a_move_stops_at_the_reference_s_ends_keeping_the_length(span, ref_cut, duration, moved_to):
    m = _match(10.0, 13.0, *span)
    (moved,) = meet_cuts([m], [11.7], {"r": (ref_cut,)}, window=1.0, durations={"r": duration})
    assert (moved.ref_start, moved.ref_end) == pytest.approx(moved_to, abs=1e-9)


@pytest.mark.parametrize("query_cuts,ref_cuts,why", [
    ([12.0], (33.3,), "the nearest reference cut is past the window"),
    ([12.0, 16.5], (32.0, 37.0), "the two cuts' shifts lie more than AGREE_S from their median"),
    ([10.0 + MARGIN_S / 2], (30.0,), "a cut this near the match's end may be the copy's own edge"),
    ([], (32.0,), "no query cut"),
    ([12.0], (), "no reference cut"),
    (None, (32.0,), "the query's cuts were not looked for"),
    ([12.0], None, "the reference's cuts were not looked for"),
])
def test_a_match_stays_where_its_cuts_say_nothing(query_cuts, ref_cuts, why):
    m = _match(10.0, 20.0, 30.4, 40.4)
    assert meet_cuts([m], query_cuts, {"r": ref_cuts}, window=0.75, durations=LONG) == [m], why


def test_the_query_path_puts_a_copy_on_its_reference_frames_by_the_cuts(tmp_path):
    """A copy of a reference of 2-s shots at 2.12 s from it: the lines between 1-s samples put
    its reference span a quarter sample apart at best (0.12 s off or more); the cuts inside it
    put it to within a frame."""
    from vcdfast.index import Index
    from vcdfast.synthetic import QUERY_OPTIONS
    from videos import Scenes, make_video, retime, splice

    fps = 25.0

    def shots(seed):
        return Scenes(seed, SIZE, scene_seconds=2.0)

    ref = make_video(tmp_path / "ref.mp4", seconds=24.0, fps=fps, size=SIZE, content=shots(1)).path
    query = make_video(tmp_path / "query.mp4", seconds=20.0, fps=fps, size=SIZE,
                       content=splice([(shots(101), 4.88), (retime(shots(1), 7.0), 10.0), (shots(102), 5.12)])).path
    options = dataclasses.replace(QUERY_OPTIONS, refine_steps=4, cut_window=None)
    with Index.open(tmp_path / "ix") as ix:
        assert ix.add([ref]).ok
        (meta,) = ix.catalog.videos()
        np.testing.assert_allclose(meta.cuts, np.arange(2.0, 24.0, 2.0), atol=1.5 / fps)
        (line,) = ix.query(query, options=options)
        (cut,) = ix.query(query, options=dataclasses.replace(options, cut_window=QueryOptions().cut_window))
    assert abs(line.ref_start - line.query_start - 2.12) > 0.1, line
    for m in (line, cut):
        assert abs(m.query_start - 4.88) < 0.1 and abs(m.query_end - 14.88) < 0.1, m
    assert cut.ref_start - cut.query_start == pytest.approx(2.12, abs=1.5 / fps), cut
    assert cut.ref_end - cut.query_end == pytest.approx(2.12, abs=1.5 / fps), cut
