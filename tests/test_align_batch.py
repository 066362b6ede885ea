"""align_batch: one query against many references, similarity + alignment fused per pair,
pairs in parallel with the GIL released."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import vcdfast
from vcdfast import _core
from vcdfast.align import CancelToken, align_batch

SINGLE_PAIR = {"tn": _core.tn, "hv": _core.hv, "dp": _core.dp, "dtw": _core.dtw}
SIMILARITY = {
    "cosine": lambda q, r: vcdfast.cosine(q[:, 0], r[:, 0]),
    "chamfer_symmetric": vcdfast.chamfer_symmetric,
    "chamfer_asymmetric": vcdfast.chamfer_asymmetric,
}
# Parameters that let every method find something in the small maps below.
PARAMS = {
    "tn": {"min_length": 2, "min_sim": 0.2},
    "hv": {"min_sim": 0.3},
    "dp": {"min_length": 2, "min_sim": 1.0, "ave_sim": 1.3, "diagonal_thres": 5},
    "dtw": {"min_length": 2},
}


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _videos(views, seed=0, dim=24):
    """A query and references of different lengths (1-frame ones included); several
    references copy a stretch of the query with noise, so every method finds boxes."""
    rng = np.random.default_rng(seed)
    query = _unit(rng.standard_normal((40, views, dim)))
    refs = []
    for k, length in enumerate([25, 1, 60, 13, 1, 33, 7, 48, 2, 30]):
        ref = _unit(rng.standard_normal((length, views, dim)))
        if k % 2 == 0 and length >= 10:
            start, copied = int(rng.integers(0, length - 8)), min(length, 20) - 4
            src = int(rng.integers(0, 40 - copied))
            n = min(copied, length - start)
            ref[start : start + n] = _unit(query[src : src + n] + 0.3 * rng.standard_normal((n, views, dim)))
        refs.append(ref)
    return query, refs


def _per_pair(query, refs, similarity, method, params, normalize=False, bounds=(0.0, 0.3)):
    out = []
    for ref in refs:
        sims = SIMILARITY[similarity](query, ref)
        if normalize:  # VCSL's sim_norm, in float32
            lo, hi = np.float32(bounds[0]), np.float32(bounds[1])
            sims = np.clip(sims, lo, hi) / (hi - lo)
        out.append(SINGLE_PAIR[method](sims, **params))
    return out


@pytest.mark.parametrize("method", ["tn", "hv", "dp", "dtw"])
@pytest.mark.parametrize("similarity", ["cosine", "chamfer_symmetric", "chamfer_asymmetric"])
def test_batch_equals_per_pair(similarity, method):
    query, refs = _videos(views=1 if similarity == "cosine" else 3, seed=len(method) + len(similarity))
    expected = _per_pair(query, refs, similarity, method, PARAMS[method])
    assert sum(len(b) for b, _ in expected) > 0, "the case must produce boxes to compare"
    for threads in (1, 2):
        got = align_batch(query, refs, similarity=similarity, method=method, params=PARAMS[method], num_threads=threads)
        assert len(got) == len(refs)
        for (boxes, scores), (exp_boxes, exp_scores) in zip(got, expected):
            np.testing.assert_array_equal(boxes, exp_boxes)
            np.testing.assert_array_equal(scores, exp_scores)


@pytest.mark.parametrize("method", ["tn", "dp", "dtw"])
def test_normalized_chamfer_equals_per_pair(method):
    query, refs = _videos(views=4, seed=3)
    params = dict(PARAMS[method])
    if method == "dp":
        params.update(min_sim=1.2, ave_sim=1.5)  # the map is now in [0, 1]
    for bounds in [(0.0, 0.3), (0.05, 0.6)]:
        expected = _per_pair(query, refs, "chamfer_symmetric", method, params, normalize=True, bounds=bounds)
        got = align_batch(query, refs, similarity="chamfer_symmetric", method=method, params=params,
                          normalize=True, norm_bounds=bounds)
        for (boxes, scores), (exp_boxes, exp_scores) in zip(got, expected):
            np.testing.assert_array_equal(boxes, exp_boxes)
            np.testing.assert_array_equal(scores, exp_scores)


@pytest.mark.parametrize("similarity", ["chamfer_symmetric", "chamfer_asymmetric"])
def test_chamfer_references_may_have_other_view_counts(similarity):
    query, refs = _videos(views=3)
    refs = [np.ascontiguousarray(r[:, : 1 + k % 3]) for k, r in enumerate(refs)]  # 1, 2 or 3 views
    expected = _per_pair(query, refs, similarity, "dtw", PARAMS["dtw"])
    assert sum(len(b) for b, _ in expected) > 0, "the case must produce boxes to compare"
    got = align_batch(query, refs, similarity=similarity, method="dtw", params=PARAMS["dtw"], num_threads=2)
    for (boxes, scores), (exp_boxes, exp_scores) in zip(got, expected):
        np.testing.assert_array_equal(boxes, exp_boxes)
        np.testing.assert_array_equal(scores, exp_scores)


def test_default_method_is_tn_with_default_params():
    query, refs = _videos(views=1, seed=7)
    got = align_batch(query, refs)
    expected = _per_pair(query, refs, "cosine", "tn", {})
    for (boxes, _), (exp_boxes, _) in zip(got, expected):
        np.testing.assert_array_equal(boxes, exp_boxes)


def test_threads_give_identical_results_on_many_references():
    rng = np.random.default_rng(11)
    query = _unit(rng.standard_normal((50, 1, 16)))
    refs = [_unit(rng.standard_normal((int(n), 1, 16))) for n in rng.integers(1, 80, 40)]
    for method in ["dp", "dtw", "tn", "hv"]:
        one = align_batch(query, refs, method=method, params=PARAMS[method], num_threads=1)
        two = align_batch(query, refs, method=method, params=PARAMS[method], num_threads=2)
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a.boxes, b.boxes)
            np.testing.assert_array_equal(a.scores, b.scores)


def test_no_references():
    query, _ = _videos(views=1)
    assert align_batch(query, [], method="dp") == []


def test_references_may_be_strided_views_and_any_sequence():
    query, refs = _videos(views=2)
    wide = [np.concatenate([r, r], axis=2)[:, :, : r.shape[2]] for r in refs]  # strided frames and views
    got = align_batch(query, iter(wide), similarity="chamfer_symmetric", method="dtw", params=PARAMS["dtw"])
    expected = align_batch(query, refs, similarity="chamfer_symmetric", method="dtw", params=PARAMS["dtw"])
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.boxes, b.boxes)


# --- invalid references and parameters ----------------------------------------------------------


def _with_bad_middle(refs, bad):
    refs = list(refs)
    refs[5] = bad
    return refs


@pytest.mark.parametrize(
    "make_bad, error, match",
    [
        (lambda r: np.where(np.arange(r.size).reshape(r.shape) == 7, np.nan, r).astype(np.float32), ValueError,
         r"refs\[5\] contains NaN"),
        (lambda r: np.full_like(r, np.inf), ValueError, r"refs\[5\] contains NaN or infinity"),
        (lambda r: r[:, :, :-1].copy(), ValueError, r"refs\[5\] has embedding dim 23, the query has 24"),
        (lambda r: r[:0], ValueError, r"refs\[5\] is empty"),
        (lambda r: r[:, 0], ValueError, r"refs\[5\] must have 3 dimensions"),
        (lambda r: np.repeat(r, 2, axis=1), ValueError, r"refs\[5\] has 2 views per frame; similarity='cosine'"),
        (lambda r: r.astype(np.float64), TypeError, r"refs\[5\] must be float32"),
        (lambda r: np.repeat(r, 2, axis=2)[:, :, ::2], ValueError, r"refs\[5\] must have a contiguous"),
        (lambda r: r.tolist(), TypeError, r"refs\[5\] must be a numpy.ndarray"),
    ],
)
def test_invalid_reference_in_the_middle_is_named(make_bad, error, match):
    query, refs = _videos(views=1)
    with pytest.raises(error, match=match):
        align_batch(query, _with_bad_middle(refs, make_bad(refs[5])), method="dtw", num_threads=2)


def test_invalid_query():
    query, refs = _videos(views=3)
    with pytest.raises(ValueError, match="query has 3 views per frame"):
        align_batch(query, refs, similarity="cosine")
    with pytest.raises(ValueError, match="query contains NaN"):
        align_batch(np.full_like(query, np.nan), refs, similarity="chamfer_symmetric")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "spd"}, ValueError, "method must be one of 'tn', 'hv', 'dp', 'dtw'"),
        ({"similarity": "dot"}, ValueError, "similarity must be one of"),
        ({"method": "dp", "params": {"max_iou": 0.3}}, TypeError, "unknown dp parameter 'max_iou'; valid: discontinue"),
        ({"method": "tn", "params": {"top_k": 2.5}}, TypeError, "tn parameter 'top_k' must be an int"),
        ({"method": "dtw", "params": {"min_sim": "high"}}, TypeError, "must be a real number"),
        ({"method": "hv", "params": {"min_sim": float("nan")}}, ValueError, "must be finite"),
        ({"method": "dp", "params": [("min_length", 2)]}, TypeError, "params must be a dict"),
        ({"normalize": True, "norm_bounds": (0.3, 0.3)}, ValueError, "lower < upper"),
        ({"num_threads": 0}, ValueError, "num_threads must be >= 1"),
        ({"cancel": threading.Event()}, TypeError, "cancel must be a vcdfast.CancelToken"),
    ],
)
def test_invalid_options(kwargs, error, match):
    query, refs = _videos(views=1)
    with pytest.raises(error, match=match):
        align_batch(query, refs, **kwargs)


@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_exception_inside_parallel_region_reaches_python(threads):
    # The binding does not check method parameters; the kernel throws std::invalid_argument in
    # an OpenMP worker, the batch captures it and rethrows it after the region.
    query, refs = _videos(views=1)
    with pytest.raises(ValueError, match="dp: discontinue must be >= 0"):
        align_batch(query, refs, method="dp", params={"discontinue": -1}, num_threads=threads)
    with pytest.raises(ValueError, match="dtw: min_length must be >= 0"):
        align_batch(query, refs, method="dtw", params={"min_length": -2}, num_threads=threads)


# --- threads: GIL and cancellation ---------------------------------------------------------------


def _long_batch(n_refs=200, length=400):
    rng = np.random.default_rng(2)
    query = _unit(rng.standard_normal((length, 1, 8)))
    refs = [_unit(rng.standard_normal((length, 1, 8))) for _ in range(n_refs)]
    return query, refs


def _python_work():
    total = 0
    for i in range(500_000):  # pure-Python work of a few tens of ms, needs the GIL throughout
        total += i
    return total


def _batch_outlasting(seconds):
    # Machines differ by several times in speed, so the batch is sized by timing it here, not guessed.
    n_refs = 50
    while True:
        query, refs = _long_batch(n_refs=n_refs)
        t = time.perf_counter()
        align_batch(query, refs, method="dtw")
        if time.perf_counter() - t > seconds or n_refs >= 50_000:
            return query, refs
        n_refs *= 2


def test_gil_is_released_during_the_batch():
    # The main thread runs pure-Python work while a worker thread is inside a batch that takes
    # several times longer. Were the GIL held for the call, that work could only finish after
    # the call returned.
    t = time.perf_counter()
    _python_work()
    work_seconds = time.perf_counter() - t
    query, refs = _batch_outlasting(max(0.3, 5 * work_seconds))
    started, times = threading.Event(), {}

    def worker():
        started.set()
        align_batch(query, refs, method="dtw")
        times["call_done"] = time.perf_counter()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    _python_work()
    times["work_done"] = time.perf_counter()
    thread.join()
    assert times["work_done"] < times["call_done"], "the batch held the GIL"


def test_cancel_before_start():
    query, refs = _videos(views=1)
    token = CancelToken()
    token.cancel()
    assert token.cancelled
    with pytest.raises(vcdfast.CancelledError):
        align_batch(query, refs, method="dp", cancel=token)


def test_cancel_from_another_thread_stops_the_batch():
    query, refs = _long_batch(n_refs=1000)  # seconds of work; cancelled after 50 ms
    token, outcome = CancelToken(), {}

    def worker():
        t = time.perf_counter()
        try:
            align_batch(query, refs, method="dtw", num_threads=2, cancel=token)
            outcome["result"] = "finished"
        except vcdfast.CancelledError:
            outcome["result"] = "cancelled"
        outcome["seconds"] = time.perf_counter() - t

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.05)
    token.cancel()
    thread.join()
    assert outcome["result"] == "cancelled"
