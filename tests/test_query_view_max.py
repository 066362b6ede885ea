"""query_view_max: query-side views (P, V, D) against (Q, W, D) references, the max over the
query's views and the reference's, with an optional per-(frame, view) query bias; against the float64 reference in
tests/reference.py at every SIMD level, and inside the batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vcdfast
from reference import chamfer_products_ref, query_view_max_ref
from vcdfast import _core
from vcdfast.align import align_batch

U = 2.0**-24  # unit roundoff of float32
ETA = 2.0**-149  # smallest float32 subnormal

sweep = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


def bound(q, r, bias):
    # chamfer's bound (tests/test_similarity.py) with |S - b| in place of |S|: each S entry is off
    # by <= gamma_{D+1} A, the float32 subtraction adds u |S - b| <= u (A + |b|) and maxima are
    # 1-Lipschitz (chamfer's form of the bound, which also covers a mean over W).
    d, v, w = q.shape[2], q.shape[1], r.shape[1]
    a_max = chamfer_products_ref(np.abs(q), np.abs(r)).max(axis=(1, 3))
    b_max = 0.0 if bias is None else np.abs(bias.astype(np.float64)).max(axis=1)[:, None]
    return gamma(d + v + w + 5) * (a_max + b_max) + (d + v + w + 5) * ETA


@st.composite
def frames(draw, n, views, dim):
    """(n, views, dim) float32, sometimes with padded views and frames (non-packed strides)."""
    pad_v, pad_d = draw(st.integers(0, 1)), draw(st.integers(0, 2))
    base = draw(hnp.arrays(np.float32, (n, views + pad_v, dim + pad_d), elements=st.floats(-4, 4, width=32)))
    return base[:, :views, :dim]


@sweep
@given(
    data=st.data(),
    p=st.integers(1, 6),
    v=st.integers(1, 5),
    q=st.integers(1, 20),
    w=st.integers(1, 3),
    d=st.integers(1, 40),
    with_bias=st.booleans(),
    threads=st.integers(1, 3),
)
def test_matches_the_reference(simd_level, data, p, v, q, w, d, with_bias, threads):
    a = data.draw(frames(p, v, d), label="q")
    b = data.draw(frames(q, w, d), label="r")
    bias = None
    if with_bias:  # strided rows too: a column slice of a wider array
        wide = data.draw(hnp.arrays(np.float32, (p, v + 1), elements=st.floats(-2, 2, width=32)), label="bias")
        bias = wide[:, :v]
    got = vcdfast.query_view_max(a, b, bias=bias, num_threads=threads)
    want = query_view_max_ref(a, b, bias)
    err = np.abs(got.astype(np.float64) - want)
    assert got.dtype == np.float32 and got.shape == (p, q)
    assert np.all(err <= bound(a, b, bias))


@pytest.mark.parametrize("shape", [(3, 4, 50, 16), (2, 600, 3, 5), (40, 3, 700, 9), (5, 2, 1600, 3)])
def test_one_reference_view_without_bias_is_the_transposed_asymmetric_chamfer(simd_level, shape):
    # the same products and the same reduction order, so equal bit for bit; the shapes cross
    # chamfer's tiles (576 x 1536 frame-view rows x columns)
    p, v, q, d = shape
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal((p, v, d)).astype(np.float32)
    b = rng.standard_normal((q, 1, d)).astype(np.float32)
    np.testing.assert_array_equal(vcdfast.query_view_max(a, b), vcdfast.chamfer_asymmetric(b, a).T)
    for threads in (2, 3):
        np.testing.assert_array_equal(vcdfast.query_view_max(a, b, num_threads=threads), vcdfast.query_view_max(a, b))


@pytest.mark.parametrize("shape", [(3, 4, 50, 2, 16), (2, 5, 30, 3, 5), (7, 2, 7, 600, 3), (30, 3, 900, 2, 9)])
def test_several_reference_views_score_their_best(simd_level, shape):
    # maxima are exact, so the map equals the max of the one-view maps bit for bit, with a bias
    # too; the shapes cross chamfer's tiles (W = 600: one reference frame's views fill a tile)
    p, v, q, w, d = shape
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal((p, v, d)).astype(np.float32)
    b = rng.standard_normal((q, w, d)).astype(np.float32)
    bias = rng.uniform(-1, 1, (p, v)).astype(np.float32)
    for with_bias in (None, bias):
        one_view = [vcdfast.query_view_max(a, np.ascontiguousarray(b[:, k:k + 1]), bias=with_bias) for k in range(w)]
        np.testing.assert_array_equal(vcdfast.query_view_max(a, b, bias=with_bias), np.maximum.reduce(one_view))
        np.testing.assert_array_equal(vcdfast.query_view_max(a, b, bias=with_bias, num_threads=2),
                                      vcdfast.query_view_max(a, b, bias=with_bias))


def test_bias_across_tiles_and_threads(simd_level):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 4, 12)).astype(np.float32)  # 1200 query rows: three tiles of frames
    b = rng.standard_normal((50, 1, 12)).astype(np.float32)
    bias = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    got = vcdfast.query_view_max(a, b, bias=bias)
    err = np.abs(got.astype(np.float64) - query_view_max_ref(a, b, bias))
    assert np.all(err <= bound(a, b, bias))
    np.testing.assert_array_equal(vcdfast.query_view_max(a, b, bias=bias, num_threads=2), got)


def test_nan_in_a_view_or_a_bias_propagates():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 2, 4)).astype(np.float32)
    b = rng.standard_normal((5, 1, 4)).astype(np.float32)
    bias = np.zeros((3, 2), np.float32)
    bias[1, 1] = np.nan
    got = vcdfast.query_view_max(a, b, bias=bias)
    assert np.isnan(got[1]).all() and not np.isnan(got[[0, 2]]).any()
    two = rng.standard_normal((5, 2, 4)).astype(np.float32)
    two[3, 1, 0] = np.nan  # a NaN in a reference frame's second view, not its first
    got = vcdfast.query_view_max(a, two)
    assert np.isnan(got[:, 3]).all() and not np.isnan(np.delete(got, 3, axis=1)).any()


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_batch_equals_per_pair_with_and_without_bias():
    rng = np.random.default_rng(2)
    query = _unit(rng.standard_normal((40, 3, 24)))  # three query views, one view per reference frame
    refs = []
    for length in [30, 1, 45, 12]:
        ref = _unit(rng.standard_normal((length, 1, 24)))
        if length >= 12:  # a copy of one query view: the max over views finds it
            n = min(length, 12)
            ref[:n, 0] = _unit(query[10 : 10 + n, 1] + 0.2 * rng.standard_normal((n, 24)))
        refs.append(ref)
    bias = rng.uniform(0.0, 0.1, (40, 3)).astype(np.float32)
    params = {"min_length": 2, "min_sim": 0.2}
    for b in (None, bias):
        expected = [_core.tn(vcdfast.query_view_max(query, r, bias=b), **params) for r in refs]
        assert sum(len(e[0]) for e in expected) > 0, "the case must produce boxes to compare"
        for threads in (1, 2):
            got = align_batch(query, refs, similarity="query_view_max", params=params, bias=b, num_threads=threads)
            for (boxes, scores), (exp_boxes, exp_scores) in zip(got, expected):
                np.testing.assert_array_equal(boxes, exp_boxes)
                np.testing.assert_array_equal(scores, exp_scores)


def test_bad_bias_raises():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((4, 2, 8)).astype(np.float32)
    r = rng.standard_normal((6, 1, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"bias must have shape \(4, 2\)"):
        vcdfast.query_view_max(q, r, bias=np.zeros((4, 3), np.float32))
    with pytest.raises(TypeError, match="bias must be float32"):
        vcdfast.query_view_max(q, r, bias=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="bias must have 2 dimensions"):
        vcdfast.query_view_max(q, r, bias=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="bias needs similarity='query_view_max'"):
        align_batch(q, [r], similarity="chamfer_symmetric", bias=np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="bias contains NaN"):
        align_batch(q, [r], similarity="query_view_max", bias=np.full((4, 2), np.nan, np.float32))
