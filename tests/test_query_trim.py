"""Trimming of alignment boxes to their heaviest chain (C++: cpp/align/chains.cpp, run by
every method and inside the batch) against the naive reference in tests/reference.py, the
failure it exists to fix, and the query path computing each similarity map once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vcdfast
from reference import chain_extent_ref, trim_ref
from vcdfast import _core
from vcdfast.align import align_batch, chain_extent, defaults, tn, trim
from vcdfast.query import RAW_COSINE_PARAMS, AlignMethod, Similarity, align_pairs, similarity_map


@st.composite
def maps(draw, max_side=24):
    tq, tr = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sim = rng.uniform(-0.2, 1.0, (tq, tr)).astype(np.float32)
    if draw(st.booleans()):  # coarse values: many exact ties
        sim = (np.round(sim * 4) / 4).astype(np.float32)
    return sim


@settings(max_examples=300, deadline=None)
@given(maps(), st.sampled_from([0.25, 0.5, 0.6, 0.9]), st.integers(1, 6))
def test_chain_extent_equals_the_naive_reference(sim, trim_sim, trim_gap):
    assert chain_extent(sim, trim_sim, trim_gap) == chain_extent_ref(sim, trim_sim, trim_gap)


@settings(max_examples=150, deadline=None)
@given(maps(max_side=40), st.sampled_from([0.3, 0.5, 0.6]), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_trim_equals_the_naive_reference_on_random_boxes(sim, trim_sim, trim_gap, seed):
    rng = np.random.default_rng(seed)
    tq, tr = sim.shape
    q = np.sort(rng.integers(0, tq, (6, 2)), axis=1)
    r = np.sort(rng.integers(0, tr, (6, 2)), axis=1)
    boxes = np.stack([q[:, 0], r[:, 0], q[:, 1], r[:, 1]], axis=1).astype(np.int64)
    got = trim(sim, boxes, trim_sim=trim_sim, trim_gap=trim_gap)
    want_boxes, want_scores = trim_ref(sim, boxes, trim_sim, trim_gap)
    np.testing.assert_array_equal(got.boxes, want_boxes)
    np.testing.assert_array_equal(got.scores, want_scores)
    # a row-strided map (a view into a wider one) gives the same
    wide = np.concatenate([sim, sim], axis=1)[:, :tr]
    np.testing.assert_array_equal(trim(wide, boxes, trim_sim=trim_sim, trim_gap=trim_gap).boxes, want_boxes)


def test_a_chance_match_off_the_copy_is_not_part_of_the_box():
    # a copy on the diagonal q 4..11 <-> r 6..13, plus a chance match of 0.65 at (14, 19): five
    # reference frames past the copy's end, and a repeated shot at (0, 0)
    sim = np.full((16, 20), 0.3, np.float32)
    for k in range(8):
        sim[4 + k, 6 + k] = 0.9
    sim[14, 19] = sim[0, 0] = 0.65
    assert chain_extent(sim, 0.6, 3) == (4, 6, 11, 13, pytest.approx(0.9))
    # steps as long as TN's (max_step 7 and more) join both chance matches to the copy
    assert chain_extent(sim, 0.6, 8)[:4] == (0, 0, 14, 19)
    assert chain_extent(sim, 0.6, 8)[4] == pytest.approx((8 * 0.9 + 2 * 0.65) / 10)


def test_chain_steps_down_rows_and_right_along_columns_only():
    sim = np.zeros((6, 6), np.float32)
    sim[[0, 1, 2], [5, 4, 3]] = 0.9  # anti-diagonal: time running backwards is not a copy
    assert chain_extent(sim, 0.5, 2)[:4] == (0, 5, 0, 5)
    sim[:] = 0
    sim[[0, 2, 4], [1, 1, 1]] = 0.9  # a frozen reference frame: columns may repeat
    assert chain_extent(sim, 0.5, 2)[:4] == (0, 1, 4, 1)


def test_nothing_above_the_threshold_is_none_and_bad_parameters_raise():
    assert chain_extent(np.full((3, 3), 0.4, np.float32), 0.5, 3) is None
    with pytest.raises(ValueError, match="trim_sim must be finite and > 0"):
        chain_extent(np.ones((2, 2), np.float32), 0.0, 3)
    with pytest.raises(ValueError, match="trim_gap must be >= 1"):
        chain_extent(np.ones((2, 2), np.float32), 0.5, 0)
    with pytest.raises(ValueError, match="trim needs trim_sim"):
        trim(np.ones((2, 2), np.float32), np.zeros((1, 4), np.int64))
    with pytest.raises(ValueError, match=r"box 0 \[0, 0, 2, 1\] is not inside the 2 x 2 map"):
        trim(np.ones((2, 2), np.float32), np.array([[0, 0, 2, 1]], np.int64), trim_sim=0.5)
    with pytest.raises(TypeError, match="int64"):
        trim(np.ones((2, 2), np.float32), np.zeros((1, 4)), trim_sim=0.5)
    with pytest.raises(TypeError, match="unknown tn parameter 'trim'; valid: .*trim_sim, trim_gap"):
        tn(np.ones((2, 2), np.float32), trim=0.5)


def test_every_method_trims_its_own_boxes_on_the_same_map():
    rng = np.random.default_rng(4)
    sim = rng.uniform(0, 0.4, (40, 50)).astype(np.float32)
    sim[np.arange(5, 30), np.arange(10, 35)] = 0.9
    for name in ("tn", "hv", "dp", "dtw"):
        kernel = getattr(vcdfast.align, name)
        plain = kernel(sim)
        assert len(plain.boxes), name
        want = trim_ref(sim, plain.boxes, 0.6, 2)
        got = kernel(sim, trim_sim=0.6, trim_gap=2)
        np.testing.assert_array_equal(got.boxes, want[0])
        np.testing.assert_array_equal(got.scores, want[1])


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _copies(views=1, seed=3):
    rng = np.random.default_rng(seed)
    query = _unit(rng.standard_normal((60, views, 32)))
    refs = []
    for length in (50, 70, 9, 40):
        ref = _unit(rng.standard_normal((length, views, 32)))
        n = min(length, 20)
        ref[length - n :] = _unit(query[20 : 20 + n] + 0.2 * rng.standard_normal((n, views, 32)))
        refs.append(ref)
    return query, refs


def test_the_query_path_computes_each_map_once_and_trims_it_in_the_batch():
    query, refs = _copies()
    before = _core.similarity_maps_computed()
    found, maps = align_pairs(query, refs, return_maps=True)
    assert _core.similarity_maps_computed() - before == len(refs)
    assert sum(len(b) for b, _ in found) > 0, "the case must produce boxes"
    before = _core.similarity_maps_computed()
    assert [b.tolist() for b, _ in align_pairs(query, refs)] == [b.tolist() for b, _ in found]
    assert _core.similarity_maps_computed() - before == len(refs)
    # the batch's trim equals trimming the untrimmed boxes of the same map
    query_defaults = defaults("tn", preset="query")
    untrimmed = dict(query_defaults, trim_sim=None)
    for ref, sim, (boxes, scores) in zip(refs, maps, found):
        np.testing.assert_array_equal(sim, similarity_map(query, ref, Similarity.COSINE))
        plain = tn(sim, **untrimmed)
        want = trim_ref(sim, plain.boxes, query_defaults["trim_sim"], query_defaults["trim_gap"])
        np.testing.assert_array_equal(boxes, want[0])
        np.testing.assert_array_equal(scores, want[1])


def test_compare_computes_its_map_once_and_returns_it():
    from types import SimpleNamespace

    from vcdfast.pairwise import compare

    query, refs = _copies()
    model = SimpleNamespace(identity=lambda: {"name": "stand-in"})

    def embedding(x):
        return SimpleNamespace(model=model, vectors=x, intervals=lambda: np.stack([np.arange(len(x)),
                                                                                   np.arange(1, len(x) + 1)], 1))

    before = _core.similarity_maps_computed()
    matches, sim = compare(embedding(query), embedding(refs[0]))
    assert _core.similarity_maps_computed() - before == 1
    np.testing.assert_array_equal(sim, similarity_map(query, refs[0], Similarity.COSINE))
    (boxes, scores), = align_pairs(query, refs[:1], params=RAW_COSINE_PARAMS)  # compare's: two files, raw cosine
    assert [m.frames for m in matches] == [tuple(b) for b in boxes[np.argsort(-scores, kind="stable")].tolist()]


def test_trimmed_boxes_lie_in_the_untrimmed_ones_and_score_their_chain():
    query, refs = _copies(views=3, seed=8)
    params = {"trim_sim": None}
    untrimmed = align_pairs(query, refs, params=params, similarity=Similarity.CHAMFER_SYMMETRIC)
    found, maps = align_pairs(query, refs, similarity=Similarity.CHAMFER_SYMMETRIC, return_maps=True)
    trim_sim = defaults("tn", preset="query")["trim_sim"]  # the query default the boxes were cut at
    for (ub, _), (tb, ts), sim in zip(untrimmed, found, maps):
        assert len(tb) <= len(ub)
        for (q0, r0, q1, r1), s in zip(tb.tolist(), ts.tolist()):
            assert any(a <= q0 and b <= r0 and q1 <= c and r1 <= d for a, b, c, d in ub.tolist())
            assert trim_sim <= s <= float(sim[q0 : q1 + 1, r0 : r1 + 1].max()) + 1e-6


def test_trim_parameters_pass_through_the_batch():
    query, refs = _copies()
    off = align_batch(query, refs, params={"min_length": 2})
    on = align_batch(query, refs, params={"min_length": 2, "trim_sim": 0.6, "trim_gap": 2})
    for ref, plain, trimmed in zip(refs, off, on):
        sim = similarity_map(query, ref, Similarity.COSINE)
        want = trim_ref(sim, plain.boxes, 0.6, 2) if len(plain.boxes) else (np.zeros((0, 4)), np.zeros(0))
        np.testing.assert_array_equal(trimmed.boxes, want[0])
        np.testing.assert_array_equal(trimmed.scores, want[1])
    with pytest.raises(ValueError, match="trim_gap must be >= 1"):
        align_batch(query, refs, params={"trim_sim": 0.6, "trim_gap": 0})
    assert AlignMethod.TN.value == "tn"
