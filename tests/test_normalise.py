"""Score normalisation (vcdfast.normalise) against a naive reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcdfast.normalise import Background, BackgroundSpec, query_bias, spread
from vcdfast.query import QueryOptions


def _unit(rng, *shape):
    x = rng.normal(size=shape).astype(np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), videos=st.integers(0, 12), per_video=st.integers(1, 4),
       extra=st.integers(1, 5), beta=st.sampled_from([0.0, 0.5, 1.0, 1.2, 3.0]),
       margin=st.sampled_from([None, 0.0, 0.1, 0.3]), views=st.integers(1, 3))
def test_bias_is_beta_times_the_kth_neighbour(seed, videos, per_video, extra, beta, margin, views):
    """... capped at the k-th neighbour plus the margin; a background frame with several views
    scores its best one."""
    rng = np.random.default_rng(seed)
    spec = BackgroundSpec(per_video=per_video, k=per_video + extra, limit=64, beta=beta, margin=margin)
    mats = [_unit(rng, int(rng.integers(0, 30)), views, 16) for _ in range(videos)]
    bg = Background.sample(mats, spec)
    frames = min(spec.k - 1, max(per_video, int(np.ceil(2 * spec.k / max(1, videos)))))  # few videos: more each
    want_rows = [m[spread(len(m), frames)] for m in mats if len(m)]
    want = np.concatenate(want_rows)[:64] if want_rows else np.zeros((0, views, 16), np.float32)
    np.testing.assert_array_equal(bg.vectors.reshape(-1, 16), want.reshape(-1, 16))  # no video at all: (0, 0)
    assert len(bg) == len(want)
    x = _unit(rng, 3, 2, 16)
    b = bg.bias(x)
    assert b.shape == (3, 2) and b.dtype == np.float32
    if len(want) < spec.k or beta == 0:
        assert not b.any()
    else:
        best = np.einsum("xd,nwd->xnw", x.reshape(-1, 16).astype(np.float64), want).max(axis=2)
        s = np.sort(best, axis=1)[:, -spec.k]
        expected = [beta * v if margin is None else min(beta * v, v + margin) for v in s]
        np.testing.assert_allclose(b.ravel(), expected, rtol=1e-5, atol=1e-6)


def test_a_copy_cannot_raise_its_own_bias():
    """k > per_video: the indexed original of a query frame puts at most per_video frames in
    the background, so the bias stays at most the (k - per_video)-th best of the other videos."""
    rng = np.random.default_rng(0)
    original = _unit(rng, 40, 1, 32)
    others = [_unit(rng, 40, 1, 32) for _ in range(10)]
    spec = BackgroundSpec(per_video=4, k=8, beta=1.0)
    bg = Background.sample([original, *others], spec)
    q = original[spread(40, 4), 0]  # the very frames the background took from the original
    rest = np.concatenate([m[spread(40, 4), 0] for m in others])
    bound = np.sort(q @ rest.T, axis=1)[:, -(spec.k - spec.per_video)]
    assert (bg.bias(q) <= bound + 1e-6).all()
    assert (bg.bias(q) < 0.5).all()  # a frame's similarity to itself (1.0) never sets its bias


def test_a_small_catalogue_still_normalises():
    """Three videos with the default spec (k 16): 11 frames each, so the bias is the 16th
    neighbour among 33, not 0 for want of background."""
    rng = np.random.default_rng(1)
    mats = [_unit(rng, 40, 1, 32) for _ in range(3)]
    bg = Background.sample(mats)
    assert len(bg) == 33
    assert (bg.bias(_unit(rng, 5, 1, 32)) != 0).all()
    assert len(Background.sample(mats[:1])) == 15 and not Background.sample(mats[:1]).bias(mats[0][:3]).any()


def test_spread_covers_the_video():
    assert spread(3, 4).tolist() == [0, 1, 2]
    assert spread(100, 4).tolist() == [0, 33, 66, 99]


@pytest.mark.parametrize("kw", [{"per_video": 0}, {"per_video": 8, "k": 8}, {"k": 5000}, {"beta": -1.0},
                                {"beta": float("nan")}, {"margin": -0.1}, {"margin": float("inf")}])
def test_bad_spec_is_refused(kw):
    with pytest.raises(ValueError):
        BackgroundSpec(**kw)


def test_query_bias_puts_the_part_margin_on_halves_and_quarters_only():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((4, 4, 8)).astype(np.float32)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    views = ("full", "inset", "1x2:0", "1x2:1")
    assert query_bias(None, q, views, 0.0) is None and query_bias(None, q[:, :2], views[:2], 0.3) is None
    np.testing.assert_array_equal(query_bias(None, q, views, 0.25), np.tile([0, 0, 0.25, 0.25], (4, 1)))
    bg = Background(rng.standard_normal((64, 8)).astype(np.float32), BackgroundSpec(per_video=2, k=4, beta=1.0))
    np.testing.assert_allclose(query_bias(bg, q, views, 0.25) - bg.bias(q), np.tile([0, 0, 0.25, 0.25], (4, 1)),
                               atol=1e-6)
    np.testing.assert_array_equal(query_bias(None, q, ("full", "flip", "halves:0", "halves:1"), 0.25),
                                  np.tile([0, 0, 0.25, 0.25], (4, 1)))  # the split-screen halves are parts too
    with pytest.raises(ValueError, match="3 view names for descriptors with 4 views"):
        query_bias(bg, q, views[:3], 0.25)
    with pytest.raises(ValueError, match="part_margin must be finite and >= 0"):
        QueryOptions(part_margin=-0.1)
