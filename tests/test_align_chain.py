"""The chain method (C++: cpp/align/chains.cpp `align_chain`; the query default) against the
naive reference in tests/reference.py, and the failures of TN it exists to fix: a reference
that repeats the copied shot, and several copies of one reference in one query."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import chains_ref
from vcdfast.align import align_batch, chain, defaults, tn


@st.composite
def maps(draw, max_side=30):
    tq, tr = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sim = rng.uniform(-0.3, 0.5, (tq, tr)).astype(np.float32)
    for _ in range(draw(st.integers(0, 4))):  # planted diagonals, some crossing each other
        q0, r0, n = rng.integers(0, tq), rng.integers(0, tr), rng.integers(1, 12)
        k = np.arange(min(n, tq - q0, tr - r0))
        sim[q0 + k, r0 + k] = rng.uniform(0.4, 1.0)
    if draw(st.booleans()):  # coarse values: many exact ties
        sim = (np.round(sim * 4) / 4).astype(np.float32)
    return sim


@settings(max_examples=300, deadline=None)
@given(maps(), st.sampled_from([0.1, 0.15, 0.3, 0.6]), st.integers(1, 4), st.integers(1, 4), st.integers(1, 40),
       st.sampled_from([0.0, 0.05, 0.25, 1.0]))
def test_chain_equals_the_naive_reference(sim, min_sim, max_step, min_frames, max_chains, stall_cost):
    got = chain(sim, min_sim=min_sim, max_step=max_step, min_frames=min_frames, max_chains=max_chains,
                stall_cost=stall_cost)
    want_boxes, want_scores = chains_ref(sim, min_sim, max_step, min_frames, max_chains, stall_cost)
    np.testing.assert_array_equal(got.boxes, want_boxes)
    np.testing.assert_array_equal(got.scores, want_scores)
    # each query frame lies in at most one box
    rows = np.concatenate([np.arange(b[0], b[2] + 1) for b in got.boxes]) if len(got.boxes) else np.array([])
    assert len(rows) == len(set(rows.tolist()))


def test_a_chain_never_steps_across_claimed_rows():
    """Hypothesis's find: with max_step 4, the second chain stepped from row 0 to row 4 over
    the first chain's rows 1-3, and its box held them too. Now it cannot cross them."""
    sim = np.array([[0.27833858, -0.13234894, 0.6388941, -0.04325176],
                    [-0.06977527, 0.42786285, 0.42909062, 0.6388941],
                    [-0.2761844, 0.35840407, 0.91686296, 0.09067433],
                    [0.1069615, -0.0936102, -0.17119758, 0.91686296],
                    [0.18026747, 0.97629434, 0.24645934, 0.46541128]], np.float32)
    got = chain(sim, min_sim=0.3, max_step=4, min_frames=1, max_chains=2, stall_cost=1.0)
    rows = np.concatenate([np.arange(b[0], b[2] + 1) for b in got.boxes])
    assert len(rows) == len(set(rows.tolist())), got.boxes
    want_boxes, want_scores = chains_ref(sim, 0.3, 4, 1, 2, 1.0)
    np.testing.assert_array_equal(got.boxes, want_boxes)


@settings(max_examples=50, deadline=None)
@given(maps(max_side=40), st.integers(0, 2**32 - 1))
def test_the_batch_aligns_as_the_single_pair_function(sim, seed):
    # the map as the cosine of unit vectors: build query/reference frames whose cosine map the
    # batch computes, then compare with chain() on that same map
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(sim.shape[0], 1, 16)).astype(np.float32)
    r = rng.normal(size=(sim.shape[1], 1, 16)).astype(np.float32)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    r /= np.linalg.norm(r, axis=-1, keepdims=True)
    [(boxes, scores)], [m] = align_batch(q, [r], method="chain", params={"min_sim": 0.2}, return_maps=True)
    want = chain(m, min_sim=0.2)
    np.testing.assert_array_equal(boxes, want.boxes)
    np.testing.assert_array_equal(scores, want.scores)


def repeated_shot_map():
    """A 30-frame query holding two copies of one 40-frame reference: q 2..11 <- r 5..14 and
    q 20..24 <- r 30..34; the reference repeats the shot r 5..14 at r 18..27 (a little
    weaker, as a re-encode would be)."""
    sim = np.full((30, 40), -0.1, np.float32)
    for k in range(10):
        sim[2 + k, 5 + k] = 0.8
        sim[2 + k, 18 + k] = 0.75
    for k in range(5):
        sim[20 + k, 30 + k] = 0.7
    return sim


def test_a_repeated_shot_gives_one_box_and_every_copy_gets_its_own():
    boxes, scores = chain(repeated_shot_map())
    assert boxes.tolist() == [[2, 5, 11, 14], [20, 30, 24, 34]]
    np.testing.assert_allclose(scores, [0.8, 0.7], rtol=1e-6)


def test_a_still_shot_gives_a_diagonal_box():
    # a still shot's frames are identical, so its block of the map is exactly flat: every path
    # weighs the same, and a chain down one column would be one reference frame wide
    sim = np.full((37, 40), -0.2, np.float32)
    sim[23:26, 0:9] = 0.7  # the query's 3-frame still against a 9-frame still in the reference
    sim[23:26, 23:31] = 0.7  # ... shown again later
    boxes, scores = chain(sim)
    assert boxes.tolist() == [[23, 0, 25, 2]]
    np.testing.assert_allclose(scores, [0.7], rtol=1e-6)
    assert chains_ref(sim, **{k: defaults("chain")[k] for k in ("min_sim", "max_step", "min_frames", "max_chains",
                                                                 "stall_cost")})[0].tolist() == [[23, 0, 25, 2]]


def test_a_stall_cost_keeps_a_nearly_flat_still_diagonal():
    # a still photo copied from a slow pan: the query's frames match every frame of the showing
    # almost equally, one reference column a little better (heldout2 Q005 of bench/make_dataset.py).
    # Without a cost the heaviest chain runs down that column, is one reference frame wide,
    # is dropped by min_frames and claims the rows: the copy is lost.
    sim = np.full((12, 20), -0.1, np.float32)
    sim[4:8, 6:14] = np.linspace(0.46, 0.54, 8, dtype=np.float32)  # brighter to the right
    assert chain(sim, stall_cost=0.0).boxes.tolist() == []
    boxes, scores = chain(sim, stall_cost=0.05)
    assert boxes.tolist() == [[4, 10, 7, 13]]
    np.testing.assert_allclose(scores, [sim[4:8, 10:14].diagonal().mean()], rtol=1e-6)  # the cells' mean, no cost


def test_tn_reports_the_repeated_shot_as_another_copy():
    # what the chain method fixes: TN with its query preset (trimmed) boxes the repeat as well
    boxes, _ = tn(repeated_shot_map(), **defaults("tn", preset="query"))
    assert boxes.tolist() == [[2, 5, 11, 14], [2, 18, 11, 27], [20, 30, 24, 34]]


def test_short_chains_are_dropped_but_claim_their_rows():
    sim = np.full((10, 10), -0.1, np.float32)
    sim[4, 7] = 0.9  # one frame: below min_frames 2, but heavier than the chain below
    sim[3, 2], sim[4, 3], sim[5, 4] = 0.25, 0.25, 0.25
    boxes, _ = chain(sim, max_step=1, min_frames=2)
    assert boxes.tolist() == []  # the lone cell claimed row 4, which broke the weaker chain
    boxes, _ = chain(sim, max_step=1, min_frames=1)
    assert boxes.tolist() == [[4, 7, 4, 7], [3, 2, 3, 2], [5, 4, 5, 4]]


def test_defaults_come_from_the_table_and_bad_input_is_refused():
    assert set(defaults("chain")) == {"min_sim", "max_step", "min_frames", "max_chains", "stall_cost", "trim_sim",
                                       "trim_gap"}
    sim = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match="chain: min_sim must be finite and > 0"):
        chain(sim, min_sim=0.0)
    with pytest.raises(ValueError, match="chain: max_step must be >= 1"):
        chain(sim, max_step=0)
    with pytest.raises(TypeError, match="unknown chain parameter 'min_length'"):
        chain(sim, min_length=2)
    sim[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"chain: the similarity map contains NaN or infinity \(row 1\)"):
        chain(sim)
