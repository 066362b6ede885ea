"""Frame votes (vcdfast.query.frame_votes) against a naive reference on random shapes. (The
query-view similarity is the C++ query_view_max, tested in test_similarity.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcdfast.query import frame_votes, suppress_overlaps


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


def test_boxes_trimmed_together_are_suppressed():
    """TN kept [3,14,9,28] and [4,23,9,27] (IoU 0.29 < 0.3); trimming made the first
    [4,23,9,28]: now they overlap, and only the better one is reported."""
    boxes = np.array([[4, 23, 9, 28], [4, 23, 9, 27], [20, 40, 30, 50]])
    scores = np.array([0.79, 0.61, 0.5], np.float32)
    kept, kept_scores = suppress_overlaps(boxes, scores, 0.3)
    assert kept.tolist() == [[4, 23, 9, 28], [20, 40, 30, 50]] and kept_scores.tolist() == pytest.approx([0.79, 0.5])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 8), max_iou=st.sampled_from([0.1, 0.3, 0.9]))
def test_suppress_overlaps_matches_the_reference(seed, n, max_iou):
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 20, (n, 2))
    boxes = np.concatenate([lo, lo + rng.integers(0, 10, (n, 2))], axis=1)
    scores = rng.uniform(0, 1, n).astype(np.float32)

    def iou(a, b):
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1) * max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
        area = lambda x: (x[2] - x[0] + 1) * (x[3] - x[1] + 1)  # noqa: E731
        return inter / (area(a) + area(b) - inter)

    def inside(a, b):
        return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]

    keep = []
    for i in sorted(range(n), key=lambda i: (-scores[i], i)):
        if all(iou(boxes[i], boxes[j]) < max_iou and not inside(boxes[i], boxes[j]) for j in keep):
            keep.append(i)
    got, _ = suppress_overlaps(boxes, scores, max_iou)
    assert got.tolist() == boxes[sorted(keep)].tolist()
