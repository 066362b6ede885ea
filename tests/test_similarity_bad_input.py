"""Every similarity entry point refuses bad input with a typed error that names the fix:
TypeError for dtype / non-arrays, ValueError for layout, shape and values. Nothing converts silently."""

from __future__ import annotations

import numpy as np
import pytest

import vcdfast
from vcdfast import _core

# (function, ndim of its inputs); the public wrappers and the extension functions behind them.
ENTRY_POINTS = [
    pytest.param(vcdfast.cosine, 2, id="cosine"),
    pytest.param(vcdfast.chamfer_asymmetric, 3, id="chamfer_asymmetric"),
    pytest.param(vcdfast.chamfer_symmetric, 3, id="chamfer_symmetric"),
    pytest.param(_core.cosine, 2, id="_core.cosine"),
    pytest.param(_core.chamfer_asymmetric, 3, id="_core.chamfer_asymmetric"),
    pytest.param(_core.chamfer_symmetric, 3, id="_core.chamfer_symmetric"),
]


def good(ndim: int, rows: int = 4, dim: int = 8) -> np.ndarray:
    shape = (rows, dim) if ndim == 2 else (rows, 3, dim)
    return np.random.default_rng(rows + dim).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.complex64, np.dtype(">f4")])
def test_wrong_dtype_is_type_error(fn, ndim, dtype):
    bad = good(ndim).astype(dtype)
    with pytest.raises(TypeError, match=r"q must be float32.*np\.ascontiguousarray"):
        fn(bad, good(ndim))
    with pytest.raises(TypeError, match=r"r must be float32"):
        fn(good(ndim), bad)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_lists_are_type_error(fn, ndim):
    with pytest.raises(TypeError, match=r"q must be a numpy\.ndarray, got list"):
        fn(good(ndim).tolist(), good(ndim))
    with pytest.raises(TypeError, match=r"r must be a numpy\.ndarray, got tuple"):
        fn(good(ndim), tuple(good(ndim).tolist()))


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_non_contiguous_last_axis(fn, ndim):
    wide = good(ndim, dim=16)
    with pytest.raises(ValueError, match=r"q must have a contiguous last axis.*ascontiguousarray"):
        fn(wide[..., ::2], good(ndim))
    with pytest.raises(ValueError, match=r"r must have a contiguous last axis"):
        fn(good(ndim), np.asfortranarray(good(ndim)) if ndim == 2 else good(ndim, dim=16)[..., ::2])


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_negative_strides(fn, ndim):
    with pytest.raises(ValueError, match=r"q must have .*non-negative strides"):
        fn(good(ndim)[::-1], good(ndim))
    with pytest.raises(ValueError, match=r"r must have .*non-negative strides"):
        fn(good(ndim), good(ndim)[..., ::-1])


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_strided_rows_are_accepted(fn, ndim):
    # The contract allows any non-negative row stride (only the last axis must be contiguous).
    q = good(ndim, rows=8)
    assert fn(q[::2], good(ndim)).shape == (4, 4)


@pytest.mark.parametrize(
    ("fn", "ndim", "axis"),
    [pytest.param(*e.values, axis, id=f"{e.id}-axis{axis}") for e in ENTRY_POINTS for axis in range(e.values[1])],
)
def test_empty_axis(fn, ndim, axis):
    shape = list(good(ndim).shape)
    shape[axis] = 0
    empty = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=r"q is empty .*every axis needs at least one element"):
        fn(empty, good(ndim, dim=shape[-1] or 8))
    with pytest.raises(ValueError, match=r"r is empty"):
        fn(good(ndim, dim=shape[-1] or 8), empty)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_mismatched_dim(fn, ndim):
    with pytest.raises(ValueError, match=r"same embedding dim, got 8 and 9"):
        fn(good(ndim, dim=8), good(ndim, dim=9))


@pytest.mark.parametrize(
    ("fn", "ndim", "wrong"),
    [pytest.param(*e.values, w, id=f"{e.id}-ndim{w}") for e in ENTRY_POINTS for w in (1, 2, 3, 4) if w != e.values[1]],
)
def test_wrong_ndim(fn, ndim, wrong):
    bad = np.zeros((2,) * (wrong - 1) + (8,), np.float32)
    with pytest.raises(ValueError, match=rf"q must have {ndim} dimensions, got shape"):
        fn(bad, good(ndim))
    with pytest.raises(ValueError, match=rf"r must have {ndim} dimensions"):
        fn(good(ndim), bad)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
@pytest.mark.parametrize("threads", [0, -1, -(2**31)])
def test_num_threads_below_one(fn, ndim, threads):
    with pytest.raises(ValueError, match=rf"num_threads must be >= 1, got {threads}"):
        fn(good(ndim), good(ndim), num_threads=threads)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_num_threads_is_keyword_only_int(fn, ndim):
    with pytest.raises(TypeError):
        fn(good(ndim), good(ndim), 2)
    with pytest.raises(TypeError):
        fn(good(ndim), good(ndim), num_threads=1.5)
    with pytest.raises(TypeError):
        fn(q=good(ndim), r=good(ndim))  # arrays are positional-only


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_bad_out(fn, ndim):
    q, r = good(ndim, rows=4), good(ndim, rows=5)
    with pytest.raises(ValueError, match=r"out must have shape \(4, 5\), got \(5, 4\); allocate"):
        fn(q, r, out=np.empty((5, 4), np.float32))
    with pytest.raises(ValueError, match=r"out must have 2 dimensions"):
        fn(q, r, out=np.empty((4, 5, 1), np.float32))
    with pytest.raises(TypeError, match=r"out must be float32"):
        fn(q, r, out=np.empty((4, 5), np.float64))
    with pytest.raises(TypeError, match=r"out must be a numpy\.ndarray"):
        fn(q, r, out=[[0.0] * 5] * 4)
    read_only = np.empty((4, 5), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=r"out is read-only"):
        fn(q, r, out=read_only)
    with pytest.raises(ValueError, match=r"out must have a contiguous last axis"):
        fn(q, r, out=np.empty((4, 10), np.float32)[:, ::2])
    with pytest.raises(ValueError, match=r"non-negative strides"):
        fn(q, r, out=np.empty((4, 5), np.float32)[::-1])
    aliased = np.lib.stride_tricks.as_strided(np.empty(5, np.float32), (4, 5), (0, 4), writeable=True)
    with pytest.raises(ValueError, match=r"out rows overlap each other"):
        fn(q, r, out=aliased)


@pytest.mark.parametrize(("fn", "ndim"), ENTRY_POINTS)
def test_out_overlapping_an_input(fn, ndim):
    # Writing the result over an input while other threads still read it would be garbage.
    buf = np.zeros(4096, np.float32)
    if ndim == 2:
        q = buf[:64].reshape(8, 8)
        r = good(2, rows=8)
        out = buf[32:96].reshape(8, 8)  # shares q's second half
    else:
        q = buf[:96].reshape(4, 3, 8)
        r = good(3, rows=4)
        out = buf[80:96].reshape(4, 4)
    with pytest.raises(ValueError, match=r"out overlaps an input array"):
        fn(q, r, out=out)
    with pytest.raises(ValueError, match=r"out overlaps an input array"):
        fn(r, q, out=out)
    fn(q, r, out=buf[1024:1024 + out.size].reshape(out.shape))  # disjoint parts of one buffer are fine


def test_nan_is_not_an_error():
    # Documented policy: similarity propagates NaN/inf instead of scanning inputs for them.
    q = np.full((2, 4), np.nan, np.float32)
    assert np.isnan(vcdfast.cosine(q, q.copy())).all()


def test_equivalent_float32_dtype_objects_are_accepted_everywhere():
    """An unpickled (or otherwise rebuilt) float32 array carries its own dtype object; the
    binding must compare dtypes by equivalence, not identity (it once said "must be float32,
    got float32")."""
    import pickle

    import vcdfast.align

    def rebuilt(a):
        b = pickle.loads(pickle.dumps(a))
        assert b.dtype is not np.dtype(np.float32)  # the case under test
        return b

    rng = np.random.default_rng(7)
    q2 = rebuilt(rng.standard_normal((6, 8), dtype=np.float32))
    q3 = rebuilt(rng.standard_normal((6, 2, 8), dtype=np.float32))
    assert vcdfast.cosine(q2, q2).shape == (6, 6)
    assert vcdfast.chamfer_symmetric(q3, q3).shape == (6, 6)
    sims = rebuilt(np.eye(12, dtype=np.float32))
    for method in (vcdfast.align.tn, vcdfast.align.hv, vcdfast.align.dp, vcdfast.align.dtw):
        method(sims)
    assert len(vcdfast.align.align_batch(rebuilt(q3[:, :1]), [rebuilt(q3[:, :1])])) == 1
