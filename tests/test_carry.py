"""Carried insets (vcdfast.carry): which samples get a verified box, and the embedder's part
(the boxes embed_video keeps, the crops embed_crops cuts)."""

from __future__ import annotations

import numpy as np
import pytest

import videos as V
from vcdfast.carry import MARGIN, REACH, carried_boxes
from vcdfast.decode import Sampling, iter_frames
from vcdfast.embed import Embedder
from vcdfast.inset import crop_insets, detect_insets, edge_maps

NONE = [np.nan] * 4
BOX = [0.5, 0.5, 0.95, 0.95]  # a quarter-size inset, bottom right


def _carry(insets, inset_sim, full_sim=None, min_sim=0.3):
    insets = np.array(insets, np.float32)
    full_sim = np.zeros(len(insets)) if full_sim is None else np.asarray(full_sim, np.float64)
    return carried_boxes(insets, np.asarray(inset_sim, np.float64), full_sim, min_sim)


def test_a_verified_box_is_lent_within_reach_to_samples_without_one():
    n = 2 * REACH + 4
    insets, sims = [NONE] * n, np.full(n, -np.inf)
    insets[2], sims[2] = BOX, 0.5
    out = _carry(insets, sims)
    lent = np.isfinite(out).all(axis=1)
    assert lent.tolist() == [abs(j - 2) <= REACH and j != 2 for j in range(n)]
    np.testing.assert_array_equal(out[lent], np.tile(np.float32(BOX), (lent.sum(), 1)))


@pytest.mark.parametrize("sim, full", [(0.29, 0.0), (0.5, 0.5 - MARGIN + 0.01), (-np.inf, -np.inf)])
def test_a_box_that_does_not_beat_the_floor_and_the_whole_frame_is_not_verified(sim, full):
    out = _carry([BOX, NONE, NONE], [sim, 0.0, 0.0], [full, 0.0, 0.0])
    assert np.isnan(out).all()


def test_only_larger_differing_boxes_are_lent():
    smaller = [0.6, 0.6, 0.9, 0.9]  # inside BOX: a crop of what BOX shows
    larger = [0.3, 0.3, 0.98, 0.98]
    almost = [0.51, 0.5, 0.95, 0.95]  # IoU >= SAME_IOU: the sample's own box stays
    out = _carry([BOX, smaller, larger, almost, NONE], [0.6, 0.1, 0.1, 0.1, 0.1])
    assert np.isfinite(out).all(axis=1).tolist() == [False, True, False, False, True]


def test_the_best_verified_box_in_reach_is_lent():
    other = [0.0, 0.0, 0.5, 0.5]  # larger than BOX, and verified better
    out = _carry([BOX, NONE, other], [0.4, 0.0, 0.7])
    np.testing.assert_array_equal(out[:2], np.tile(np.float32(other), (2, 1)))
    assert np.isnan(out[2]).all()


@pytest.fixture(scope="module")
def pip_video(tmp_path_factory):
    """A moving picture in a moving background, the inset at BOX for the whole video."""
    size = (320, 240)
    inner, outer = V.Scenes(7, size, scene_seconds=3.0), V.Scenes(8, size, scene_seconds=3.0)
    content = V.picture_in_picture(inner, outer, tuple(BOX))
    return V.make_video(tmp_path_factory.mktemp("carry") / "pip.mp4", seconds=8.0, fps=10, size=size,
                        content=content).path


def test_embed_video_keeps_the_boxes_its_inset_views_were_cut_from(pip_video):
    emb = Embedder("sscd-mobile", views=("full", "inset"))
    got = emb.embed_video(pip_video)
    frames = np.stack([f for f, _ in iter_frames(pip_video, got.sampling, size=emb.decode_size)])
    np.testing.assert_array_equal(got.insets, detect_insets(frames, edges=edge_maps(frames)))
    assert np.isfinite(got.insets).all(axis=1).any()  # the inset was found, so the boxes are real ones
    assert Embedder("sscd-mobile").embed_video(pip_video).insets is None


def test_embed_crops_embeds_the_decoded_sample_cut_to_the_box(pip_video):
    emb = Embedder("sscd-mobile", views=("full", "inset"))
    sampled = list(iter_frames(pip_video, Sampling(), size=emb.decode_size))
    times = np.array([sampled[1][1], sampled[4][1]])
    boxes = np.array([BOX, [0.1, 0.2, 0.6, 0.7]], np.float32)
    got, found = emb.embed_crops(pip_video, times, boxes, step=1.0)
    assert found.all()
    frames = np.stack([sampled[1][0], sampled[4][0]])
    want = Embedder("sscd-mobile").embed_frames(crop_insets(frames, boxes, emb.spec.input_size))[:, 0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    past, found = emb.embed_crops(pip_video, [60.0], boxes[:1], step=1.0)
    assert not found[0] and np.isnan(past).all()
    with pytest.raises(ValueError, match="one finite"):
        emb.embed_crops(pip_video, times, [BOX, NONE], step=1.0)
