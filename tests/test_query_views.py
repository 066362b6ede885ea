"""Query-side stages for views and normalised scores (vcdfast.query.frame_votes,
view_similarity) against naive references on random shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from vcdfast.query import frame_votes, view_similarity


def frame_votes_ref(frames, keys, scores, bias):
    best: dict = {}
    for row in range(keys.shape[0]):
        for key, s in zip(keys[row], scores[row]):
            v = float(s) - float(bias[row])
            if key >= 0 and v > 0:
                best[(frames[row], key)] = max(best.get((frames[row], key), 0.0), v)
    total: dict = {}
    for (_, key), v in best.items():
        total[key] = total.get(key, 0.0) + v
    return total


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), tq=st.integers(1, 12), views=st.integers(1, 4), k=st.integers(1, 6),
       videos=st.integers(1, 5))
def test_frame_votes_match_the_reference(seed, tq, views, k, videos):
    rng = np.random.default_rng(seed)
    n = tq * views
    frames = np.repeat(np.arange(tq), views)
    keys = rng.integers(-1, videos, (n, k)) * 7919  # any int64 keys, -1 * 7919 < 0 is padding
    keys[keys < 0] = -1
    scores = rng.uniform(-0.2, 1.0, (n, k)).astype(np.float32)
    bias = rng.uniform(0, 0.4, n).astype(np.float32)
    got_keys, got_votes = frame_votes(frames, keys, scores, bias)
    want = frame_votes_ref(frames, keys, scores, bias)
    assert sorted(got_keys.tolist()) == sorted(want)
    for key, v in zip(got_keys.tolist(), got_votes.tolist()):
        assert abs(v - want[key]) < 1e-5
    assert np.all(np.diff(got_votes) <= 0)


def test_a_static_shot_gets_one_vote_per_query_frame():
    """Ten near-identical reference frames hit by one query frame count once."""
    keys = np.array([[5] * 10 + [9]])
    scores = np.array([[0.9] * 10 + [0.5]], np.float32)
    got_keys, got_votes = frame_votes(np.array([0]), keys, scores)
    assert got_keys.tolist() == [5, 9] and np.allclose(got_votes, [0.9, 0.5])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), tq=st.integers(1, 9), vq=st.integers(1, 5), tr=st.integers(1, 9),
       d=st.integers(1, 24), with_bias=st.booleans())
def test_view_similarity_matches_the_reference(seed, tq, vq, tr, d, with_bias):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(tq, vq, d)).astype(np.float32)
    r = rng.normal(size=(tr, 1, d)).astype(np.float32)
    bias = rng.uniform(0, 1, (tq, vq)).astype(np.float32) if with_bias else None
    want = np.full((tq, tr), -np.inf)
    for i in range(tq):
        for v in range(vq):
            for j in range(tr):
                s = float(np.dot(q[i, v].astype(np.float64), r[j, 0])) - (float(bias[i, v]) if with_bias else 0.0)
                want[i, j] = max(want[i, j], s)
    np.testing.assert_allclose(view_similarity(q, r, bias), want, rtol=1e-4, atol=1e-4 * d)
