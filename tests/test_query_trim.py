"""Box trimming after alignment (vcdfast.query.chain_extent / trim_boxes) against the naive
reference in tests/reference.py, and the failure it exists to fix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import chain_extent_ref
from vcdfast.query import Similarity, chain_extent, trim_boxes


@st.composite
def maps(draw):
    tq, tr = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sim = rng.uniform(-0.2, 1.0, (tq, tr)).astype(np.float32)
    if draw(st.booleans()):  # coarse values: many exact ties
        sim = (np.round(sim * 4) / 4).astype(np.float32)
    return sim


@settings(max_examples=300, deadline=None)
@given(maps(), st.sampled_from([0.25, 0.5, 0.6, 0.9]), st.integers(1, 6))
def test_chain_extent_equals_the_naive_reference(sim, min_sim, max_gap):
    assert chain_extent(sim, min_sim, max_gap) == chain_extent_ref(sim, min_sim, max_gap)


def test_a_chance_match_off_the_copy_is_not_part_of_the_box():
    # a copy on the diagonal q 4..11 <-> r 6..13, plus a chance match of 0.65 at (14, 19): five
    # reference frames past the copy's end, and a repeated shot at (0, 0)
    sim = np.full((16, 20), 0.3, np.float32)
    for k in range(8):
        sim[4 + k, 6 + k] = 0.9
    sim[14, 19] = sim[0, 0] = 0.65
    assert chain_extent(sim, 0.6, max_gap=3) == (4, 6, 11, 13)
    # steps as long as TN's (max_step 7 and more) join both chance matches to the copy
    assert chain_extent(sim, 0.6, max_gap=8) == (0, 0, 14, 19)


def test_chain_steps_down_rows_and_right_along_columns_only():
    sim = np.zeros((6, 6), np.float32)
    sim[[0, 1, 2], [5, 4, 3]] = 0.9  # anti-diagonal: time running backwards is not a copy
    assert chain_extent(sim, 0.5, max_gap=2) == (0, 5, 0, 5)
    sim[:] = 0
    sim[[0, 2, 4], [1, 1, 1]] = 0.9  # a frozen reference frame: columns may repeat
    assert chain_extent(sim, 0.5, max_gap=2) == (0, 1, 4, 1)


def test_nothing_above_the_threshold_is_none_and_bad_parameters_raise():
    assert chain_extent(np.full((3, 3), 0.4, np.float32), 0.5, 3) is None
    with pytest.raises(ValueError, match="min_sim"):
        chain_extent(np.ones((2, 2), np.float32), 0.0, 3)
    with pytest.raises(ValueError, match="max_gap"):
        chain_extent(np.ones((2, 2), np.float32), 0.5, 0)


def test_trim_boxes_offsets_each_box_and_drops_empty_ones():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((30, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    q = base[None].transpose(1, 0, 2)  # (30, 1, 16): a query that is its own reference
    far = rng.standard_normal((30, 1, 16)).astype(np.float32)
    far /= np.linalg.norm(far, axis=-1, keepdims=True)
    boxes = np.array([[2, 0, 20, 25], [5, 5, 9, 9]], np.int64)
    scores = np.array([0.8, 0.7], np.float32)
    got_b, got_s = trim_boxes(q, q, boxes, scores, 0.95, Similarity.COSINE, max_gap=3)
    # the identity diagonal inside each box
    assert got_b.tolist() == [[2, 2, 20, 20], [5, 5, 9, 9]] and got_s.tolist() == pytest.approx([0.8, 0.7])
    got_b, got_s = trim_boxes(q, far, boxes, scores, 0.95, Similarity.COSINE)
    assert got_b.shape == (0, 4) and got_s.shape == (0,)
