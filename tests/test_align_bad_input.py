"""Bad input to vcdfast.align.tn / hv: typed errors with a hint, never a crash; and the inputs
that look odd but are valid (huge integers, strided rows) do what VCSL does."""

from __future__ import annotations

import numpy as np
import pytest

from vcdfast.align import hv, tn

ALIGNERS = {"tn": tn, "hv": hv}


def good_map(rows: int = 30, cols: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    sims = rng.uniform(0.0, 0.3, (rows, cols)).astype(np.float32)
    q = np.arange(5, 25)
    sims[q, q + 8] = 0.9
    return sims


@pytest.mark.parametrize("name", ALIGNERS)
@pytest.mark.parametrize(
    "sims",
    [
        good_map().astype(np.float64),
        good_map().astype(np.float16),
        (good_map() * 100).astype(np.int32),
        good_map().tolist(),
        None,
    ],
    ids=["float64", "float16", "int32", "list", "None"],
)
def test_wrong_type_is_type_error_with_hint(name, sims):
    with pytest.raises(TypeError, match=r"sims must be .*np\.ascontiguousarray"):
        ALIGNERS[name](sims)


@pytest.mark.parametrize("name", ALIGNERS)
@pytest.mark.parametrize(
    ("sims", "pattern"),
    [
        (good_map()[:, ::2], "contiguous last axis"),
        (np.asfortranarray(good_map()), "contiguous last axis"),
        (good_map()[::-1], "non-negative strides"),
        (good_map().ravel(), "2 dimensions"),
        (good_map()[None], "2 dimensions"),
        (np.zeros((0, 5), np.float32), "empty"),
        (np.zeros((5, 0), np.float32), "empty"),
    ],
    ids=["strided-last-axis", "fortran", "negative-stride", "1d", "3d", "no-rows", "no-cols"],
)
def test_bad_layout_or_shape_is_value_error(name, sims, pattern):
    with pytest.raises(ValueError, match=pattern):
        ALIGNERS[name](sims)


@pytest.mark.parametrize("name", ALIGNERS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (29, 39), (17, 3), (5, 12)])
def test_non_finite_is_value_error_with_hint(name, value, where):
    sims = good_map()
    sims[where] = value
    with pytest.raises(ValueError, match=r"NaN or infinity.*np\.nan_to_num"):
        ALIGNERS[name](sims)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_is_value_error_with_large_top_k(value):
    """top_k > 32 ranks rows by a partial sort, which checks the row before comparing."""
    sims = good_map()
    sims[7, 20] = value
    with pytest.raises(ValueError, match="NaN or infinity"):
        tn(sims, top_k=40)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(max_step=0), "max_step must be >= 1"),
        (dict(max_step=-3), "max_step must be >= 1"),
        (dict(top_k=0), "top_k must be >= 1"),
        (dict(top_k=-(2**70)), "top_k must be >= 1"),
        (dict(max_path=-1), "max_path must be >= 0"),
        (dict(min_length=-1), "min_length must be >= 0"),
        (dict(min_sim=-0.1), "min_sim must be finite and >= 0"),
        (dict(min_sim=float("nan")), "min_sim must be finite"),
        (dict(min_sim=float("inf")), "min_sim must be finite"),
        (dict(max_iou=0.0), "max_iou must be finite and > 0"),
        (dict(max_iou=-0.5), "max_iou must be finite and > 0"),
        (dict(max_iou=float("nan")), "max_iou must be finite"),
    ],
)
def test_tn_bad_parameters_are_value_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        tn(good_map(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(iou_thresh=-0.1), "iou_thresh must be finite and >= 0"),
        (dict(iou_thresh=float("nan")), "iou_thresh must be finite"),
        (dict(min_sim=-0.2), "min_sim must be finite and >= 0"),
        (dict(min_sim=float("-inf")), "min_sim must be finite"),
        (dict(max_peaks=0), "max_peaks must be >= 1"),
        (dict(max_peaks=-1), "max_peaks must be >= 1"),
    ],
)
def test_hv_bad_parameters_are_value_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        hv(good_map(), **kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("tn", dict(top_k=2.5)),
        ("tn", dict(max_step="10")),
        ("tn", dict(min_sim="0.2")),
        ("hv", dict(max_peaks=1.0)),
        ("hv", dict(iou_thresh=None)),
    ],
)
def test_wrong_parameter_types_are_type_errors(name, kwargs):
    with pytest.raises(TypeError):
        ALIGNERS[name](good_map(), **kwargs)


@pytest.mark.parametrize("name", ALIGNERS)
def test_parameters_are_keyword_only(name):
    with pytest.raises(TypeError):
        ALIGNERS[name](good_map(), 10)


@pytest.mark.parametrize("top_k", [40, 41, 10**6, 2**63, 2**80])
def test_huge_top_k_is_clamped_to_the_reference_length(top_k):
    """VCSL uses min(top_k, Q); integers beyond int64 saturate, which changes nothing since
    every integer parameter is only compared with frame counts."""
    sims = good_map()
    want = tn(sims, top_k=sims.shape[1])
    got = tn(sims, top_k=top_k)
    np.testing.assert_array_equal(got.boxes, want.boxes)
    np.testing.assert_array_equal(got.scores, want.scores)


def test_huge_step_path_and_peaks_are_valid():
    """max_path is a cap: the loop stops once no path with a positive edge is left (at most one
    pass per edge), so an astronomically large value terminates; max_step and max_peaks beyond
    the map's size behave as the size itself."""
    sims = good_map()
    assert len(tn(sims, max_path=2**80).boxes) >= 1
    whole = sims.shape[0] + sims.shape[1]
    np.testing.assert_array_equal(tn(sims, max_step=2**80).boxes, tn(sims, max_step=whole).boxes)
    np.testing.assert_array_equal(hv(sims, max_peaks=2**80).boxes, hv(sims, max_peaks=sum(sims.shape)).boxes)


def test_numpy_integer_parameters_are_accepted():
    sims = good_map()
    np.testing.assert_array_equal(tn(sims, top_k=np.int64(3), max_step=np.int32(10)).boxes, tn(sims, top_k=3).boxes)


@pytest.mark.parametrize("name", ALIGNERS)
def test_input_is_not_modified(name):
    """VCSL's hv zeroes the caller's map in place; vcdfast reads it only."""
    sims = good_map()
    before = sims.copy()
    ALIGNERS[name](sims)
    np.testing.assert_array_equal(sims, before)
