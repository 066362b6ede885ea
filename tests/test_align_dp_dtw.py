"""DP and DTW alignment: C++ kernels against VCSL's own outputs, against the naive references
in tests/reference.py, on planted copies, and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import dp_reference, dtw_reference
from vcdfast.align import dp, dtw

DATA = Path(__file__).parent / "data"
METHODS = {"dp": (dp, dp_reference), "dtw": (dtw, dtw_reference)}


def _vcsl_cases():
    golden = np.load(DATA / "dp_dtw_vcsl_cases.npz")
    align_cases = np.load(DATA / "align_cases.npz")
    meta = json.loads(str(golden["meta_json"]))
    for case in meta["cases"]:
        if "sims_key" in case:
            sims = golden[case["sims_key"]]
        else:
            sims = align_cases[case["align_cases_key"]].astype(np.float32)
        for name, params in meta["params"].items():
            yield case["name"], name, sims, params, golden[f"{case['name']}__{name}__boxes"]


VCSL_CASES = list(_vcsl_cases())


def test_vcsl_fixture_is_not_trivial():
    # The golden set must exercise both outcomes: maps with boxes and maps without.
    with_boxes = sum(len(boxes) > 0 for *_, boxes in VCSL_CASES)
    assert len(VCSL_CASES) >= 500 and 200 <= with_boxes <= len(VCSL_CASES) - 50


@pytest.mark.parametrize("case", VCSL_CASES, ids=[f"{c[0]}-{c[1]}" for c in VCSL_CASES])
def test_boxes_equal_vcsl(case):
    _, params_name, sims, params, expected = case
    kernel = dp if params_name.startswith("dp") else dtw
    np.testing.assert_array_equal(kernel(sims, **params).boxes, expected)


def _maps(max_side=24):
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))

    def build(shape_seed_kind):
        (rows, cols), seed, kind = shape_seed_kind
        rng = np.random.default_rng(seed)
        if kind == "uniform":
            return rng.uniform(-1, 1, (rows, cols)).astype(np.float32)
        if kind == "ties":  # few distinct values: exercises every first-max / first-min rule
            return (rng.integers(-2, 5, (rows, cols)) / 4).astype(np.float32)
        sims = rng.normal(0, 0.2, (rows, cols)).astype(np.float32)  # planted diagonal
        length = min(rows, cols)
        start = int(rng.integers(0, max(1, cols - length + 1)))
        sims[np.arange(length), start + np.arange(length)] = rng.uniform(0.6, 1.0, length)
        return sims

    return st.tuples(shapes, st.integers(0, 2**32 - 1), st.sampled_from(["uniform", "ties", "planted"])).map(build)


dp_params = st.fixed_dictionaries(
    {
        "discontinue": st.integers(0, 5),
        "min_sim": st.sampled_from([0.0, 0.5, 1.0, 1.2]),
        "ave_sim": st.sampled_from([0.3, 1.0, 1.3, 1.6]),
        "min_length": st.integers(0, 6),
        "diagonal_thres": st.integers(0, 12),
    }
)
dtw_params = st.fixed_dictionaries(
    {"discontinue": st.integers(0, 5), "min_sim": st.sampled_from([-1.0, 0.0, 0.2, 0.5]),
     "min_length": st.integers(0, 6)}
)


# Scores are compared exactly: kernel and reference both sum float64 values in path order and
# round the mean to float32 once.
@settings(max_examples=150, deadline=None)
@given(sims=_maps(), params=dp_params)
def test_dp_equals_reference(sims, params):
    boxes, scores = dp(sims, **params)
    ref_boxes, ref_scores = dp_reference(sims, **params)
    np.testing.assert_array_equal(boxes, ref_boxes)
    np.testing.assert_array_equal(scores, ref_scores)


@settings(max_examples=150, deadline=None)
@given(sims=_maps(40), params=dtw_params)
def test_dtw_equals_reference(sims, params):
    boxes, scores = dtw(sims, **params)
    ref_boxes, ref_scores = dtw_reference(sims, **params)
    np.testing.assert_array_equal(boxes, ref_boxes)
    np.testing.assert_array_equal(scores, ref_scores)


@settings(max_examples=60, deadline=None)
@given(sims=_maps(), low=st.floats(-1, 2), high=st.floats(-1, 2))
def test_raising_the_mean_threshold_only_removes_boxes(sims, low, high):
    low, high = sorted((low, high))
    for loose, tight in [
        (dp(sims, ave_sim=low), dp(sims, ave_sim=high)),
        (dtw(sims, min_sim=low), dtw(sims, min_sim=high)),
    ]:
        kept = [tuple(b) for b in loose.boxes]
        for box in tight.boxes:
            assert tuple(box) in kept
            kept = kept[kept.index(tuple(box)) + 1 :]  # same order, a subsequence


def test_strided_rows_equal_contiguous_copy():
    rng = np.random.default_rng(5)
    wide = rng.uniform(-1, 1, (30, 50)).astype(np.float32)
    view = wide[:, 5:35]  # rows 50 floats apart, last axis contiguous: accepted without a copy
    for kernel, _ in METHODS.values():
        a, b = kernel(view, min_length=2), kernel(np.ascontiguousarray(view), min_length=2)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.scores, b.scores)


def _iou(box, truth):
    q = max(0, min(box[2], truth[2]) - max(box[0], truth[0]) + 1)
    r = max(0, min(box[3], truth[3]) - max(box[1], truth[1]) + 1)
    area = lambda b: (b[2] - b[0] + 1) * (b[3] - b[1] + 1)  # noqa: E731
    return q * r / (area(box) + area(truth) - q * r)


@pytest.mark.parametrize("seed", range(20))
def test_dp_recovers_planted_copies(seed):
    # Two copies, separated by more than `discontinue` frames on both axes, in a background
    # that VCSL's function-default thresholds call unmatched (sims + 1 < 1). DP may extend a
    # copy by up to `discontinue` = 3 frames at each end: IoU >= (20 / 26)^2 > 0.5 for L >= 20.
    rng = np.random.default_rng(seed)
    sims = rng.normal(-0.9, 0.05, (100, 110)).astype(np.float32)
    lengths = rng.integers(20, 30, 2)
    q0 = int(rng.integers(0, 10))
    q1 = q0 + int(lengths[0]) + int(rng.integers(10, 30))
    r_first = int(rng.integers(0, 2))  # which copy comes first in the reference
    r_starts = [int(rng.integers(0, 10)), 0]
    r_starts[1] = r_starts[0] + int(lengths[r_first]) + int(rng.integers(10, 40))
    if r_first:
        r_starts.reverse()
    truths = []
    for q, r, length in zip((q0, q1), r_starts, lengths):
        sims[q + np.arange(length), r + np.arange(length)] = rng.uniform(0.7, 0.95, length)
        truths.append((q, r, q + length - 1, r + length - 1))
    found = dp(sims, min_sim=1.0, ave_sim=1.3)
    for truth in truths:
        assert max(_iou(b, truth) for b in found.boxes) >= 0.5, (truth, found.boxes)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("transpose", [False, True])
def test_dtw_recovers_a_clip(seed, transpose):
    # DTW aligns whole sequences, so its use case is a query that is a clip of the reference
    # (or the reverse): the path runs flat along the padding, which cut_path removes, and
    # follows the copy. Where the copy meets the flat runs the path may wander a few frames
    # (noise 0.1); 300 seeded trials gave IoU >= 0.56, so 0.5 is required.
    rng = np.random.default_rng(seed)
    length = int(rng.integers(20, 60))
    before, after = rng.integers(10, 50, 2)
    sims = rng.normal(0, 0.1, (length, length + before + after)).astype(np.float32)
    sims[np.arange(length), before + np.arange(length)] = rng.uniform(0.6, 0.95, length)
    truth = (0, int(before), length - 1, int(before) + length - 1)
    if transpose:
        sims, truth = np.ascontiguousarray(sims.T), (truth[1], truth[0], truth[3], truth[2])
    found = dtw(sims)
    assert len(found.boxes) >= 1
    assert max(_iou(b, truth) for b in found.boxes) >= 0.5, (truth, found.boxes)


def test_one_frame_maps_give_no_boxes():
    for shape in [(1, 1), (1, 30), (30, 1)]:
        sims = np.ones(shape, dtype=np.float32)
        for kernel, _ in METHODS.values():
            assert kernel(sims, min_length=0).boxes.shape == (0, 4)


def test_result_types():
    sims = np.random.default_rng(0).uniform(-1, 1, (20, 20)).astype(np.float32)
    for kernel, _ in METHODS.values():
        boxes, scores = kernel(sims, min_length=1)
        assert boxes.dtype == np.int64 and boxes.ndim == 2 and boxes.shape[1] == 4
        assert scores.dtype == np.float32 and scores.shape == (len(boxes),)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dp", "dtw"])
class TestBadInput:
    def test_wrong_dtype(self, method):
        with pytest.raises(TypeError, match="float32.*ascontiguousarray"):
            METHODS[method][0](np.zeros((4, 4)))

    def test_not_an_array(self, method):
        with pytest.raises(TypeError, match="numpy.ndarray"):
            METHODS[method][0]([[0.0, 1.0]])

    def test_non_contiguous_last_axis(self, method):
        sims = np.zeros((6, 8), dtype=np.float32)
        with pytest.raises(ValueError, match="contiguous last axis"):
            METHODS[method][0](sims.T)
        with pytest.raises(ValueError, match="contiguous last axis"):
            METHODS[method][0](sims[:, ::2])

    @pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
    def test_empty(self, method, shape):
        with pytest.raises(ValueError, match="empty"):
            METHODS[method][0](np.zeros(shape, dtype=np.float32))

    def test_wrong_ndim(self, method):
        with pytest.raises(ValueError, match="2 dimensions"):
            METHODS[method][0](np.zeros((2, 3, 4), dtype=np.float32))

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite(self, method, bad):
        sims = np.zeros((5, 5), dtype=np.float32)
        sims[2, 3] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            METHODS[method][0](sims)

    def test_negative_params(self, method):
        sims = np.zeros((5, 5), dtype=np.float32)
        names = ["discontinue", "min_length"] + (["diagonal_thres"] if method == "dp" else [])
        for name in names:
            with pytest.raises(ValueError, match=f"{name} must be >= 0"):
                METHODS[method][0](sims, **{name: -1})

    def test_non_finite_threshold(self, method):
        sims = np.zeros((5, 5), dtype=np.float32)
        with pytest.raises(ValueError, match="min_sim must be finite"):
            METHODS[method][0](sims, min_sim=float("nan"))
