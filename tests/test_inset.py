"""Layout detection (vcdfast.inset) on generated videos, encoded and decoded for real: a
picture-in-picture, a letterboxed picture and split screens are found where they are, and the
inset and halves views embed what they show; one picture of real footage is not split. (How
often the inset test fires on real footage without an inset, and whether the view pays, is
measured on real footage by bench/sweep_query.py: generated scenes are full of axis-aligned
block edges that real footage does not have.)"""

from __future__ import annotations

import numpy as np
import pytest

import realdata
from vcdfast.decode import Sampling, iter_frames
from vcdfast.embed import Embedder
from vcdfast.inset import SPLIT_LEFT_RIGHT, SPLIT_NONE, SPLIT_TOP_BOTTOM, detect_insets, detect_splits, edge_maps
from vcdfast.synthetic import Scenes
from videos import make_video, picture_in_picture

SIZE = (320, 240)
TOL = 0.05  # of the frame: 5 cells of the 96 x 96 grid edges are found on; SSCD shrugs off such a crop offset


def _paste(box, inner, background, mirrored: bool = False):
    """content: `background(t)` with `inner` (a Scenes seed, or content of its own) resized into
    box (shares of the frame), mirrored left-right if asked."""
    if isinstance(inner, int):
        inner = Scenes(inner, SIZE, scene_seconds=3.0)  # the whole picture, shrunk into the box
    return picture_in_picture(inner, background, box, mirrored)


def _boxes(tmp_path, content, seconds=8.0):
    video = make_video(tmp_path / "v.mp4", seconds=seconds, fps=10, size=SIZE, content=content)
    frames = np.stack([f for f, _ in iter_frames(video.path, Sampling(), size=(576, 576))])
    return detect_insets(frames)


@pytest.mark.parametrize("box", [(0.45, 0.40, 0.95, 0.90), (0.05, 0.10, 0.60, 0.65)])
def test_picture_in_picture_is_found(tmp_path, box):
    found = _boxes(tmp_path, _paste(box, 2, Scenes(1, SIZE, scene_seconds=3.0)))
    hits = found[np.isfinite(found[:, 0])]
    assert len(hits) >= 0.75 * len(found), found
    assert np.abs(np.median(hits, axis=0) - box).max() < TOL, (np.median(hits, axis=0), box)


def test_letterboxed_picture_is_found(tmp_path):
    black = lambda t: np.zeros((SIZE[1], SIZE[0], 3), np.uint8)  # noqa: E731
    box = (0.0, 0.15, 1.0, 0.85)
    found = _boxes(tmp_path, _paste(box, 3, black))
    assert np.isfinite(found[:, 0]).all(), found
    assert np.abs(np.median(found, axis=0) - box).max() < TOL


def _with_line(content, x: float):
    """content with a still black vertical line at share x of the width, top to bottom: the
    kind of long straight edge a panned photograph keeps in place for seconds."""
    def fn(t):
        frame = content(t).copy()
        c = int(round(x * SIZE[0]))
        frame[:, c - 1:c + 2] = 0
        return frame

    return fn


def test_padded_picture_is_found_past_its_own_straight_lines(tmp_path):
    """A picture in a border of one colour, with a long still line of its own: the padding
    bars frame it (the edge search alone boxed the part of it beside the line)."""
    pad = lambda t: np.full((SIZE[1], SIZE[0], 3), (70, 40, 110), np.uint8)  # noqa: E731
    box = (0.15, 0.10, 0.90, 0.85)
    picture = _with_line(Scenes(4, SIZE, scene_seconds=3.0), 0.4)
    found = _boxes(tmp_path, _paste(box, picture, pad))
    assert np.isfinite(found[:, 0]).all(), found
    assert np.abs(np.median(found, axis=0) - box).max() < TOL, (np.median(found, axis=0), box)


def test_a_still_backdrop_of_many_tones_is_not_padding(tmp_path):
    """Moving content beside a still, smooth backdrop (a grey ramp over the left third): flat
    and still like padding, but not of one tone, so no padding box; the edge search finds no
    picture border there either."""
    scene = Scenes(5, SIZE, scene_seconds=3.0)
    edge = SIZE[0] // 3
    ramp = np.repeat(np.linspace(20, 230, edge, dtype=np.float32)[None, :, None], 3, axis=2).astype(np.uint8)

    def content(t):
        frame = scene(t).copy()
        frame[:, :edge] = ramp
        return frame

    found = _boxes(tmp_path, content)
    assert not np.isfinite(found[:, 0]).any(), found


def test_inset_view_embeds_the_inset(tmp_path):
    """Embedder(views=("full", "inset")).embed_video: the inset view of a picture-in-picture
    frame matches the inset's own content far better than the full view does."""
    box = (0.45, 0.40, 0.95, 0.90)
    w, h = SIZE
    pip = make_video(tmp_path / "pip.mp4", seconds=8.0, fps=10, size=SIZE,
                     content=_paste(box, 2, Scenes(1, SIZE, scene_seconds=3.0)))
    inner = make_video(tmp_path / "inner.mp4", seconds=8.0, fps=10, size=SIZE,
                       content=Scenes(2, SIZE, scene_seconds=3.0))
    emb = Embedder("sscd-mobile", views=("full", "inset"))
    q = emb.embed_video(pip.path)
    r = Embedder("sscd-mobile").embed_video(inner.path)
    assert q.vectors.shape[:2] == (len(r), 2)
    full = np.einsum("td,td->t", q.vectors[:, 0], r.vectors[:, 0])
    inset = np.einsum("td,td->t", q.vectors[:, 1], r.vectors[:, 0])
    assert np.median(inset) > 0.6 and np.median(inset) > np.median(full) + 0.2, (inset, full)


def test_inset_flip_view_embeds_a_mirrored_inset(tmp_path):
    """A flipped copy placed in a picture-in-picture: the inset-flip view is the inset view's own
    crop mirrored, and it matches the unflipped original (better than the inset view does, by
    little here: SSCD is nearly flip-invariant on generated block scenes; what the view is worth
    on real footage is bench/sweep_query.py's to measure)."""
    from vcdfast.views import make_views

    box = (0.45, 0.40, 0.95, 0.90)
    pip = make_video(tmp_path / "pip.mp4", seconds=8.0, fps=10, size=SIZE,
                     content=_paste(box, 2, Scenes(1, SIZE, scene_seconds=3.0), mirrored=True))
    inner = make_video(tmp_path / "inner.mp4", seconds=8.0, fps=10, size=SIZE,
                       content=Scenes(2, SIZE, scene_seconds=3.0))
    q = Embedder("sscd-mobile", views=("inset", "inset-flip")).embed_video(pip.path)
    r = Embedder("sscd-mobile").embed_video(inner.path)
    inset = np.einsum("td,td->t", q.vectors[:, 0], r.vectors[:, 0])
    mirrored = np.einsum("td,td->t", q.vectors[:, 1], r.vectors[:, 0])
    assert np.median(mirrored) > 0.6 and np.median(mirrored) > np.median(inset), (mirrored, inset)
    frames = np.random.default_rng(0).integers(0, 256, (2, 448, 448, 3), np.uint8)
    views = make_views(frames, ("inset", "inset-flip"), (224, 224), np.array([box, box], np.float32)).pixels
    assert np.array_equal(views[:, 1], views[:, 0, :, ::-1])


def test_layout_probes_with_a_cache_look_at_the_samples_around_them(tmp_path):
    """Embedder.embed_at with a cache (a bisection's probes): a layout view looks at the frames
    on screen at the sampling points around each time, decoded once per step. At a sample's
    own time those are embed_video's neighbours, so its descriptors are embed_video's; between
    samples the inset is still found."""
    box = (0.45, 0.40, 0.95, 0.90)
    pip = make_video(tmp_path / "pip.mp4", seconds=8.0, fps=10, size=SIZE,
                     content=_paste(box, 2, Scenes(1, SIZE, scene_seconds=3.0))).path
    inner = make_video(tmp_path / "inner.mp4", seconds=8.0, fps=10, size=SIZE,
                       content=Scenes(2, SIZE, scene_seconds=3.0)).path
    emb = Embedder("sscd-mobile", views=("full", "inset"))
    whole = emb.embed_video(pip)
    cache: dict = {}
    for i in (2, 5):
        got, found = emb.embed_at(pip, whole.timestamps[[i]], 1.0, [1], cache=cache)
        assert found[0]
        np.testing.assert_allclose(got[0, 1], whole.vectors[i, 1], atol=1e-5)
    inset, _ = emb.embed_at(pip, [3.5], 1.0, [1], cache=cache)
    context = cache["context"]
    full, _ = emb.embed_at(pip, [3.5], 1.0, [0], cache=cache)
    assert cache["context"] is context  # the probes of one step decode its context once
    truth, _ = Embedder("sscd-mobile").embed_at(inner, [3.5], 1.0)
    s_inset, s_full = float(inset[0, 1] @ truth[0, 0]), float(full[0, 0] @ truth[0, 0])
    assert s_inset > 0.6 and s_inset > s_full + 0.2, (s_inset, s_full)


def _split(stacked: bool, first: int = 1, second: int = 2):
    """Two pictures, each squeezed whole into one half: top/bottom if stacked, else left/right."""
    top_left = (0.0, 0.0, 1.0, 0.5) if stacked else (0.0, 0.0, 0.5, 1.0)
    other = (0.0, 0.5, 1.0, 1.0) if stacked else (0.5, 0.0, 1.0, 1.0)
    return _paste(other, second, _paste(top_left, first, Scenes(9, SIZE, scene_seconds=3.0)))


@pytest.mark.parametrize("stacked", [True, False])
def test_split_is_found(tmp_path, stacked):
    video = make_video(tmp_path / "v.mp4", seconds=8.0, fps=10, size=SIZE, content=_split(stacked))
    frames = np.stack([f for f, _ in iter_frames(video.path, Sampling(), size=(576, 576))])
    splits = detect_splits(frames)
    assert splits.shape == (len(frames),)
    assert (splits == (SPLIT_TOP_BOTTOM if stacked else SPLIT_LEFT_RIGHT)).mean() >= 0.75, splits
    edges = edge_maps(frames)
    np.testing.assert_array_equal(detect_splits(frames, targets=range(2, 5), edges=edges), splits[2:5])
    np.testing.assert_array_equal(detect_insets(frames, edges=edges), detect_insets(frames))


def test_real_footage_of_one_picture_has_no_split(opencv_doc):
    """vtest.avi (a still camera over a street) is one picture: no frame is split, so its
    halves views cost no model runs. (Generated scenes cannot say this: their block edges
    persist across frames the way a seam does.)"""
    frames = np.stack([f for f, _ in iter_frames(opencv_doc / realdata.OPENCV_DATA / "vtest.avi", Sampling(),
                                                 size=(576, 576))])
    splits = detect_splits(frames)
    assert len(frames) >= 60 and (splits == SPLIT_NONE).mean() >= 0.9, np.bincount(splits, minlength=3)


def test_halves_view_embeds_a_stacked_picture(tmp_path):
    """A query stacked top/bottom: the halves view of its frames matches the top picture's own
    frames about as well as the "2x1" view does, and far better than "1x2" does."""
    stacked = make_video(tmp_path / "stacked.mp4", seconds=8.0, fps=10, size=SIZE, content=_split(True))
    top = make_video(tmp_path / "top.mp4", seconds=8.0, fps=10, size=SIZE, content=Scenes(1, SIZE, scene_seconds=3.0))
    q = Embedder("sscd-mobile", views=("halves", "1x2", "2x1")).embed_video(stacked.path)
    r = Embedder("sscd-mobile").embed_video(top.path)
    sim = {v: np.einsum("td,td->t", q.vectors[:, i], r.vectors[:, 0]) for i, v in enumerate(q.views)}
    assert np.median(sim["halves:0"]) > 0.6, sim
    assert np.median(sim["halves:0"]) > np.median(sim["2x1:0"]) - 0.05, sim
    assert np.median(sim["halves:0"]) > max(np.median(sim["1x2:0"]), np.median(sim["1x2:1"])) + 0.2, sim


def _grey_reference(frames: np.ndarray, size: int) -> np.ndarray:
    """Naive: each cell of a size x size grid (rows and columns split at i * H // size) is the
    mean of its pixels' luma, in float64."""
    n, h, w, _ = frames.shape
    ys, xs = (np.arange(size + 1) * h) // size, (np.arange(size + 1) * w) // size
    luma = frames.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    out = np.empty((n, size, size))
    for i in range(size):
        for j in range(size):
            out[:, i, j] = luma[:, ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("shape", [(576, 576), (96, 192), (480, 640), (350, 500), (100, 97)])
def test_grey_maps_average_their_cells(shape):
    # whole blocks (576 = 6 x 96) take the integer path, other sizes the general one
    from vcdfast.inset import _grey

    frames = np.random.default_rng(sum(shape)).integers(0, 256, (3, *shape, 3), dtype=np.uint8)
    np.testing.assert_allclose(_grey(frames, 96), _grey_reference(frames, 96), rtol=0, atol=1e-3)


def _persistent_reference(e: np.ndarray, window: int, present: int) -> np.ndarray:
    """Naive: per frame and cell, sort the values in the window and take the one that
    `present` of the 2*window+1 frames (fewer at the ends, pro rata) reach."""
    n = len(e)
    out = np.empty_like(e)
    for t in range(n):
        lo, hi = max(0, t - window), min(n, t + window + 1)
        need = max(1, int(np.ceil(present * (hi - lo) / (2 * window + 1))))
        out[t] = np.sort(e[lo:hi], axis=0)[(hi - lo) - need]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_persistent_edges_are_those_most_neighbours_show(seed):
    from vcdfast.inset import _persistent

    rng = np.random.default_rng(seed)
    n, window = int(rng.integers(1, 9)), int(rng.integers(1, 4))
    present = int(rng.integers(1, 2 * window + 2))
    e = rng.random((n, int(rng.integers(1, 12)), int(rng.integers(1, 12)))) < rng.uniform(0.1, 0.9)
    np.testing.assert_array_equal(_persistent(e, window, present), _persistent_reference(e, window, present))


def _longest_run_reference(on: np.ndarray, gap: int = 2) -> np.ndarray:
    """Naive: for d = 1..gap in turn, a cell turns on where the cells d before and d after
    it are on; then walk each row counting its longest stretch of ones."""
    on = on > 0.5
    out = np.zeros(len(on), np.float32)
    for i in range(len(on)):
        row = on[i].tolist()
        for d in range(1, gap + 1):
            row = [x or (0 <= j - d and j + d < len(row) and row[j - d] and row[j + d]) for j, x in enumerate(row)]
        best = cur = 0
        for x in row:
            cur = cur + 1 if x else 0
            best = max(best, cur)
        out[i] = best / len(row)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_longest_runs_bridge_short_gaps(seed):
    from vcdfast.inset import _longest_run

    rng = np.random.default_rng(seed)
    on = (rng.random((int(rng.integers(1, 20)), int(rng.integers(1, 40)))) < rng.uniform(0.05, 0.95)).astype(np.float32)
    gap = int(rng.integers(0, 4))
    np.testing.assert_array_equal(_longest_run(on, gap), _longest_run_reference(on, gap))
    # the two-cell gap closes from the ones two either side of each of its cells; the
    # three-cell gap only in its middle: 1 0 1 1 1 0 1 0 1
    np.testing.assert_array_equal(_longest_run(np.array([[1, 0, 0, 1, 1, 0, 0, 0, 1]]), 2), np.float32(3 / 9))


@pytest.mark.parametrize("layout_frames", [1, 4, 64])
def test_embed_video_gives_the_layout_views_of_the_whole_clip(tmp_path, monkeypatch, layout_frames):
    """However many frames embed_video's pipeline gathers per call, its layout views (and the
    boxes kept for them) are those of the decoded clip embedded as one: each call sees its
    frames' neighbours. The boxes found on these scenes change from frame to frame, so a call
    short of neighbours would find others."""
    from vcdfast.decode import decode

    video = make_video(tmp_path / "pip.mp4", seconds=8.0, fps=10, size=SIZE,
                       content=_paste((0.45, 0.40, 0.95, 0.90), 2, Scenes(1, SIZE, scene_seconds=3.0)))
    emb = Embedder("sscd-mobile", views=("full", "inset", "halves"))
    monkeypatch.setattr(emb, "LAYOUT_FRAMES", layout_frames)
    got = emb.embed_video(video.path, Sampling(fps=2))
    clip = decode(video.path, Sampling(fps=2), size=emb.decode_size)
    np.testing.assert_array_equal(got.timestamps, clip.timestamps)
    insets = detect_insets(clip.frames)
    assert len(np.unique(np.round(insets, 3), axis=0)) >= 4, insets
    np.testing.assert_array_equal(got.insets, insets)
    np.testing.assert_allclose(got.vectors, emb.embed_frames(clip.frames), atol=1e-6)
