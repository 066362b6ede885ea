"""Frame votes (vcdfast.query.frame_votes) against a naive reference on random shapes. (The
query-view similarity is the C++ query_view_max, tested in test_similarity.py.)"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from vcdfast.query import frame_votes


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
