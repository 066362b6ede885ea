"""cosine / chamfer kernels against the float64 references in tests/reference.py, at every SIMD
level this host supports (the `simd_level` fixture), over awkward shapes and layouts."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vcdfast
from reference import (
    chamfer_asymmetric_ref,
    chamfer_products_ref,
    chamfer_symmetric_ref,
    cosine_ref,
)

U = 2.0**-24  # unit roundoff of float32
ETA = 2.0**-149  # smallest float32 subnormal: absolute error of one op under gradual underflow

CHAMFER = {
    "asymmetric": (vcdfast.chamfer_asymmetric, chamfer_asymmetric_ref),
    "symmetric": (vcdfast.chamfer_symmetric, chamfer_symmetric_ref),
}

sweep = settings(
    max_examples=60,
    deadline=None,
    # The fixture only pins the SIMD level; every example may share it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


def cosine_bound(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    # Any summation order, with or without FMA: |fl(<q,r>) - <q,r>| <= gamma_{D+1} sum_k |q_k r_k|
    # (Higham, Accuracy and Stability, eq. 3.5), plus one subnormal per operation.
    d = q.shape[1]
    return gamma(d + 1) * cosine_ref(np.abs(q), np.abs(r)) + (d + 1) * ETA


def chamfer_bound(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    # Each S entry is off by <= gamma_{D+1} A (A = sum_k |q_k r_k|); max is 1-Lipschitz; the two
    # means and the halving add gamma_{V+W+2} of max A; gamma_m + gamma_n + gamma_m gamma_n <= gamma_{m+n}.
    d, v, w = q.shape[2], q.shape[1], r.shape[1]
    a_max = chamfer_products_ref(np.abs(q), np.abs(r)).max(axis=(1, 3))
    return gamma(d + v + w + 4) * a_max + (d + v + w + 4) * ETA


def assert_within(got: np.ndarray, want: np.ndarray, bound: np.ndarray) -> None:
    assert got.dtype == np.float32 and got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), f"error {err[worst]:.3g} > bound {bound[worst]:.3g} at {worst}"


@st.composite
def matrices(draw, rows, dim):
    """(rows, dim) float32 drawn as a view with a row step and padded rows: strided, last axis contiguous."""
    step = draw(st.integers(1, 2))
    pad = draw(st.integers(0, 3))
    base = draw(hnp.arrays(np.float32, (rows * step, dim + pad), elements=st.floats(-4, 4, width=32)))
    return base[::step, :dim]


@st.composite
def frames(draw, n, views, dim):
    """(n, views, dim) float32, sometimes with padded views and frames (non-packed strides)."""
    pad_v = draw(st.integers(0, 1))
    pad_d = draw(st.integers(0, 2))
    base = draw(hnp.arrays(np.float32, (n, views + pad_v, dim + pad_d), elements=st.floats(-4, 4, width=32)))
    return base[:, :views, :dim]


@sweep
@given(data=st.data(), p=st.integers(1, 20), q=st.integers(1, 40), d=st.integers(1, 65), threads=st.integers(1, 3))
def test_cosine_matches_reference(simd_level, data, p, q, d, threads):
    a = data.draw(matrices(p, d), label="q")
    b = data.draw(matrices(q, d), label="r")
    assert_within(vcdfast.cosine(a, b, num_threads=threads), cosine_ref(a, b), cosine_bound(a, b))


@sweep
@given(
    data=st.data(),
    form=st.sampled_from(sorted(CHAMFER)),
    p=st.integers(1, 6),
    v=st.integers(1, 5),
    q=st.integers(1, 10),
    w=st.integers(1, 5),
    d=st.integers(1, 65),
    threads=st.integers(1, 3),
)
def test_chamfer_matches_reference(simd_level, data, form, p, v, q, w, d, threads):
    kernel, ref = CHAMFER[form]
    a = data.draw(frames(p, v, d), label="q")
    b = data.draw(frames(q, w, d), label="r")
    assert_within(kernel(a, b, num_threads=threads), ref(a, b), chamfer_bound(a, b))


# Shapes that cross the blocking constants of cosine/gemm_blocked.inc (k-block 256, row block 192,
# column block 3072, A packed from 512 columns) and chamfer/dispatch.cpp (tiles of up to 576 x 1536
# frame-view rows x columns, frames spread evenly; the old 192 x 512 tiles are kept as cases too).
COSINE_BLOCK_SHAPES = [(193, 17, 7), (5, 3073, 3), (9, 33, 257), (1, 1, 600), (200, 50, 513), (50, 600, 300)]
CHAMFER_BLOCK_SHAPES = [
    (23, 9, 60, 9, 20), (3, 200, 2, 3, 9), (2, 1, 600, 1, 5), (4, 3, 5, 700, 3), (2, 2, 3, 2, 300), (7, 5, 600, 1, 300),
    (70, 9, 200, 9, 20), (3, 600, 2, 800, 3),
]


@pytest.mark.parametrize(("p", "q", "d"), COSINE_BLOCK_SHAPES)
def test_cosine_block_boundaries(simd_level, p, q, d):
    rng = np.random.default_rng(p * 1000 + q + d)
    a = rng.standard_normal((p, d), dtype=np.float32)
    b = rng.standard_normal((q, d), dtype=np.float32)
    got = vcdfast.cosine(a, b)
    assert_within(got, cosine_ref(a, b), cosine_bound(a, b))
    # Each entry runs the same instructions whatever the thread partition: results are bitwise equal.
    assert np.array_equal(got, vcdfast.cosine(a, b, num_threads=2))
    assert np.array_equal(got, vcdfast.cosine(a, b, num_threads=5))


@pytest.mark.parametrize("form", sorted(CHAMFER))
@pytest.mark.parametrize(("p", "v", "q", "w", "d"), CHAMFER_BLOCK_SHAPES)
def test_chamfer_block_boundaries(simd_level, form, p, v, q, w, d):
    kernel, ref = CHAMFER[form]
    rng = np.random.default_rng(p + 10 * v + 100 * q + 1000 * w + d)
    a = rng.standard_normal((p, v, d), dtype=np.float32)
    b = rng.standard_normal((q, w, d), dtype=np.float32)
    got = kernel(a, b)
    assert_within(got, ref(a, b), chamfer_bound(a, b))
    assert np.array_equal(got, kernel(a, b, num_threads=2))
    assert np.array_equal(got, kernel(a, b, num_threads=3))


def test_chamfer_with_one_view_is_cosine(simd_level):
    # One view per frame: max and mean are exact, and the S tiles use the cosine GEMM: bitwise equal.
    rng = np.random.default_rng(7)
    a = rng.standard_normal((31, 40), dtype=np.float32)
    b = rng.standard_normal((45, 40), dtype=np.float32)
    want = vcdfast.cosine(a, b)
    assert np.array_equal(vcdfast.chamfer_asymmetric(a[:, None], b[:, None]), want)
    assert np.array_equal(vcdfast.chamfer_symmetric(a[:, None], b[:, None]), want)


def test_symmetric_chamfer_is_symmetric(simd_level):
    # Swapping q and r swaps the FMA operands (commutative) and the two means: bitwise transpose.
    rng = np.random.default_rng(8)
    a = rng.standard_normal((11, 4, 33), dtype=np.float32)
    b = rng.standard_normal((17, 7, 33), dtype=np.float32)
    assert np.array_equal(vcdfast.chamfer_symmetric(a, b), vcdfast.chamfer_symmetric(b, a).T)


@pytest.mark.parametrize("kind", ["cosine", "asymmetric", "symmetric"])
def test_out_is_filled_in_place(simd_level, kind):
    rng = np.random.default_rng(9)
    if kind == "cosine":
        kernel = vcdfast.cosine
        a, b = rng.standard_normal((13, 20), np.float32), rng.standard_normal((21, 20), np.float32)
    else:
        kernel = CHAMFER[kind][0]
        a, b = rng.standard_normal((13, 3, 20), np.float32), rng.standard_normal((21, 2, 20), np.float32)
    want = kernel(a, b)
    big = np.full((15, 30), -7.0, np.float32)
    out = big[1:14, 4:25]  # strided rows: the kernels must honour the row stride
    assert kernel(a, b, out=out) is out
    assert np.array_equal(out, want)
    untouched = np.ones_like(big, bool)
    untouched[1:14, 4:25] = False
    assert np.all(big[untouched] == -7.0)


def _classes(x: np.ndarray) -> np.ndarray:
    return np.select([np.isnan(x), np.isposinf(x), np.isneginf(x)], [1, 2, 3], 0)


def test_cosine_propagates_nan_and_inf(simd_level):
    # Policy: IEEE propagation as in BLAS. A NaN in q[p] makes row p NaN; inf gives +-inf, or NaN
    # where it meets a zero or an opposite inf. The classes match the float64 reference exactly.
    rng = np.random.default_rng(10)
    a = rng.standard_normal((9, 19), dtype=np.float32)
    b = rng.standard_normal((23, 19), dtype=np.float32)
    a[2, 5] = np.nan
    a[4, 0] = np.inf
    b[7, 3] = -np.inf
    b[11, 0] = 0.0
    got = vcdfast.cosine(a, b)
    assert np.isnan(got[2]).all()
    assert np.array_equal(_classes(got), _classes(cosine_ref(a, b)))
    finite = np.isfinite(got) & np.isfinite(cosine_ref(a, b))
    assert_within(got[finite], cosine_ref(a, b)[finite], cosine_bound(np.nan_to_num(a), np.nan_to_num(b))[finite])


@pytest.mark.parametrize("form", sorted(CHAMFER))
def test_chamfer_propagates_nan_and_inf(simd_level, form):
    # Policy: any NaN among a frame pair's products makes that output NaN (np.max semantics; a bare
    # vmaxps would drop it); infinities follow IEEE through max and mean.
    kernel, ref = CHAMFER[form]
    rng = np.random.default_rng(11)
    a = rng.standard_normal((5, 3, 17), dtype=np.float32)
    b = rng.standard_normal((20, 4, 17), dtype=np.float32)
    a[1, 2, 4] = np.nan  # frame 1, last view
    b[13, 3, 9] = np.nan  # frame 13, last view
    b[9, 1, 2] = -np.inf
    # A NaN at an inner (v, w) only: S[3, 1, 6, w] = -inf for w != 2 and inf * 0 = NaN at w = 2,
    # so neither maximum meets the NaN first.
    a[3, 1, 0] = np.inf
    b[6, :, 0] = -1.0
    b[6, 2, 0] = 0.0
    got = kernel(a, b)
    assert np.isnan(got[1]).all() and np.isnan(got[:, 13]).all() and np.isnan(got[3, 6])
    assert np.array_equal(_classes(got), _classes(ref(a, b)))


def test_concurrent_calls_are_independent(simd_level):
    # The kernels hold no shared mutable state: calls from many Python threads (GIL released)
    # give the same bits as one at a time.
    rng = np.random.default_rng(12)
    cases = [
        (rng.standard_normal((40 + i, 3, 24), np.float32), rng.standard_normal((30 + 2 * i, 2, 24), np.float32))
        for i in range(6)
    ]
    want = [vcdfast.chamfer_symmetric(a, b) for a, b in cases]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda ab: vcdfast.chamfer_symmetric(*ab, num_threads=2), cases * 3))
    for i, g in enumerate(got):
        assert np.array_equal(g, want[i % len(cases)])


def test_huge_thread_counts_are_clamped():
    # Requests above the processor count are clamped (no thread exhaustion, no scratch per phantom thread).
    rng = np.random.default_rng(13)
    a = rng.standard_normal((500, 8), np.float32)
    b = rng.standard_normal((400, 3, 8), np.float32)
    assert np.array_equal(vcdfast.cosine(a, a, num_threads=2**31 - 1), vcdfast.cosine(a, a))
    assert np.array_equal(vcdfast.chamfer_asymmetric(b, b, num_threads=10**6), vcdfast.chamfer_asymmetric(b, b))


def test_thread_count_does_not_leak_into_openmp():
    # num_threads goes through a num_threads clause, never omp_set_num_threads: OpenMP's default
    # team size (here pinned to 3 by OMP_NUM_THREADS) is the same after a 2-thread call.
    code = (
        "import numpy as np, vcdfast\n"
        "q = np.ones((300, 8), np.float32)\n"
        "vcdfast.cosine(q, q, num_threads=2)\n"
        "vcdfast.chamfer_symmetric(q.reshape(100, 3, 8), q.reshape(100, 3, 8), num_threads=2)\n"
        "print(vcdfast.build_info()['openmp_max_threads'])\n"
    )
    python_dir = os.path.dirname(os.path.dirname(vcdfast.__file__))
    env = dict(os.environ, OMP_NUM_THREADS="3", PYTHONPATH=python_dir + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
