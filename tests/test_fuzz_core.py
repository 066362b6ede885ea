"""Fuzzing every entry point of vcdfast._core with hostile arrays and parameters.

Random shapes (empty, one row, long and thin), every NumPy dtype family, layouts the
bindings must refuse or read correctly (Fortran order, negative and odd strides, zero
strides from np.broadcast_to, unaligned buffers, read-only views), NaN/inf, and parameters
at the int64 edges or non-finite. Each call must return a well-formed result or raise
TypeError / ValueError / vcdfast.VcdfastError / MemoryError with a message; nothing else,
no crash, no hang.

A crash would take pytest down with it, so the examples run in a child pytest process
(`test_fuzz_in_subprocess`) under a time limit; before each call the child writes a
description of its inputs to a trace file, so a crash or a hang is reported with the
input that caused it. The examples are the fuzz_* functions; to run them in one process
(tests/test_sanitizers.py does, under AddressSanitizer):
    VCDFAST_FUZZ_INNER=1 pytest tests/test_fuzz_core.py -o "python_functions=test_* fuzz_*"
VCDFAST_FUZZ_EXAMPLES sets the examples per entry point (default 80).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vcdfast
from vcdfast import _core

INNER = os.environ.get("VCDFAST_FUZZ_INNER") == "1"
EXAMPLES = int(os.environ.get("VCDFAST_FUZZ_EXAMPLES", "80"))
TRACE = os.environ.get("VCDFAST_FUZZ_TRACE")
CHILD_TIMEOUT_S = 240  # the child runs ~8 entry points x EXAMPLES examples; a hang is far beyond this

# The examples are functions named fuzz_*: collected only where python_functions includes "fuzz_*"
# (the child below, tests/test_sanitizers.py), never by a plain run, which would run them unguarded.
FUZZ_COLLECT = ["-o", "python_functions=test_* fuzz_*"]
outer = pytest.mark.skipif(INNER, reason="drives child processes itself")
example_settings = settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TYPED = (TypeError, ValueError, vcdfast.VcdfastError, MemoryError)
INT64_MAX = 2**63 - 1
# Map cells beyond this make the slower alignments (TN's graph, DP's table) cost seconds per call.
MAX_MAP_CELLS = 200_000


# --- inputs ---

DTYPES = [np.float32] * 6 + [np.float16, np.float64, np.int32, np.int64, np.uint8, np.bool_, np.complex64, object]
LAYOUTS = ["c"] * 4 + ["fortran", "reversed", "strided", "broadcast", "unaligned", "readonly", "last_strided"]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e38, -1e38, 1e-45]


@st.composite
def arrays(draw, ndim: int, long_axis: int | None = None):
    """An ndarray that is usually (ndim)-dimensional float32, often in a hostile layout."""
    nd = draw(st.sampled_from([ndim] * 8 + [0, 1, ndim + 1]))
    shape = [draw(st.sampled_from([0, 1, 1, 2, 3, 5, 7, 16, 17, 48, 49])) for _ in range(nd)]
    if long_axis is not None and nd == ndim and draw(st.integers(0, 9)) == 0:
        shape = [1] * nd
        shape[long_axis] = 100_000  # huge but cheap: one row of a long map
    dtype = draw(st.sampled_from(DTYPES))
    layout = draw(st.sampled_from(LAYOUTS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = rng.uniform(-1.0, 1.0, size=shape)
    if base.size and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            base.flat[rng.integers(base.size)] = draw(st.sampled_from(SPECIAL))
    with np.errstate(invalid="ignore", over="ignore"):
        a = base.astype(dtype) if dtype is not object else base.astype(object)
    return _layout(a, layout, draw)


def _layout(a: np.ndarray, layout: str, draw) -> np.ndarray:
    if a.ndim == 0 or layout == "c":
        return np.ascontiguousarray(a)
    if layout == "fortran":
        return np.asfortranarray(a)
    axis = draw(st.integers(0, a.ndim - 1))
    if layout == "reversed":
        return np.flip(a, axis)
    if layout in ("strided", "last_strided"):
        axis = a.ndim - 1 if layout == "last_strided" else axis
        wide = np.repeat(a, 2, axis=axis)
        return wide[(slice(None),) * axis + (slice(None, None, 2),)]
    if layout == "broadcast":
        one = a[(slice(None),) * axis + (slice(0, 1),)]
        return np.broadcast_to(one, a.shape)
    if layout == "unaligned" and a.dtype != object:
        buf = bytearray(a.nbytes + 1)
        view = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
        view[...] = a
        return view
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    return a


NOT_ARRAYS = st.sampled_from([None, 0, 1.5, "sims", b"\x00", [[0.5, 0.5]], [[[0.5]]], (0.5,), {}, object()])


def array_arg(ndim: int, long_axis: int | None = None):
    return st.one_of(arrays(ndim, long_axis), arrays(ndim, long_axis), arrays(ndim, long_axis), NOT_ARRAYS)


EDGE_INTS = [0, 1, 2, 3, 5, 10, -1, -2, 2**31 - 1, 2**31, 2**32, INT64_MAX, INT64_MAX - 1, -(2**63), 2**63, 2**100,
             -(2**100)]
INTS = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-5, 60), st.integers(-(2**70), 2**70))
BAD_INTS = st.sampled_from([None, 1.5, float("nan"), "3", True, np.int64(4), np.float32(2.0), [3]])
INT_PARAM = st.one_of(INTS, INTS, INTS, BAD_INTS)
EDGE_FLOATS = [0.0, -0.0, 0.2, 0.3, 0.9, 1.0, 1.3, -1.0, 2.0, float("nan"), float("inf"), -float("inf"), 1e308, -1e308,
               5e-324, 3.4e38, 3.5e38]
FLOATS = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(-2.0, 3.0))
FLOAT_PARAM = st.one_of(FLOATS, FLOATS, FLOATS, st.sampled_from([None, "0.2", 1, INT64_MAX, 2**100, [0.2]]))
THREADS = st.one_of(st.sampled_from([1, 1, 2, 2, 3, 0, -1, 64, 2**31 - 1, 2**31, INT64_MAX, 2**64]),
                    st.sampled_from([None, 1.0, "2", True]))


# --- calling and checking ---


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        flags = "".join(f for f, on in (("C", x.flags.c_contiguous), ("F", x.flags.f_contiguous),
                                        ("A", x.flags.aligned), ("W", x.flags.writeable)) if on)
        finite = bool(np.isfinite(x).all()) if x.dtype.kind in "fc" and x.size else None
        return f"ndarray(dtype={x.dtype}, shape={x.shape}, strides={x.strides}, flags={flags}, finite={finite})"
    if isinstance(x, (list, tuple)) and any(isinstance(e, np.ndarray) for e in x):
        return type(x).__name__ + "[" + ", ".join(_describe(e) for e in x) + "]"
    return repr(x)[:200]


def _trace(name: str, args, kwargs) -> None:
    if TRACE:
        text = name + "(" + ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        with open(TRACE, "w") as f:
            f.write(text + ")\n")


REFUSED = object()


def call(fn, *args, **kwargs):
    """fn(*args, **kwargs), or REFUSED when it raised one of the allowed, typed errors."""
    _trace(fn.__name__, args, kwargs)
    try:
        return fn(*args, **kwargs)
    except TYPED as e:
        assert str(e).strip(), f"{type(e).__name__} raised without a message"
        return REFUSED


def check_segments(result, p: int, q: int) -> None:
    assert isinstance(result, tuple) and len(result) == 2
    boxes, scores = result
    assert boxes.dtype == np.int64 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert scores.dtype == np.float32 and scores.shape == (boxes.shape[0],)
    qs, rs, qe, re = boxes.T
    assert ((0 <= qs) & (qs <= qe) & (qe < p)).all(), f"query frames out of [0, {p}): {boxes}"
    assert ((0 <= rs) & (rs <= re) & (re < q)).all(), f"reference frames out of [0, {q}): {boxes}"


def _map_cells_ok(sims) -> bool:
    return not isinstance(sims, np.ndarray) or sims.size <= MAX_MAP_CELLS or sims.ndim != 2 or 1 in sims.shape


# --- similarity ---


@example_settings
@given(q=array_arg(2, long_axis=1), r=array_arg(2, long_axis=1), threads=THREADS, out_kind=st.integers(0, 4))
def fuzz_cosine(q, r, threads, out_kind):
    out = _out_for(q, r, out_kind)
    result = call(_core.cosine, q, r, num_threads=threads, out=out)
    if result is not REFUSED:
        assert result.dtype == np.float32 and result.shape == (q.shape[0], r.shape[0])
        if out is not None:
            assert result is out


@example_settings
@given(q=array_arg(3, long_axis=2), r=array_arg(3, long_axis=2), threads=THREADS, out_kind=st.integers(0, 4),
       symmetric=st.booleans())
def fuzz_chamfer(q, r, threads, out_kind, symmetric):
    fn = _core.chamfer_symmetric if symmetric else _core.chamfer_asymmetric
    out = _out_for(q, r, out_kind)
    result = call(fn, q, r, num_threads=threads, out=out)
    if result is not REFUSED:
        assert result.dtype == np.float32 and result.shape == (q.shape[0], r.shape[0])


def _out_for(q, r, kind: int):
    """None, a right-sized buffer, a wrong-sized one, a read-only one, or one aliasing q."""
    if kind == 0 or not (isinstance(q, np.ndarray) and isinstance(r, np.ndarray) and q.ndim and r.ndim):
        return None
    rows, cols = q.shape[0], r.shape[0]
    if kind == 1:
        return np.empty((rows, cols), np.float32)
    if kind == 2:
        return np.empty((rows + 1, max(cols - 1, 0)), np.float32)
    if kind == 3:
        out = np.empty((rows, cols), np.float32)
        out.flags.writeable = False
        return out
    if q.dtype == np.float32 and q.flags.writeable and q.ndim == 2 and q.shape[1] >= cols:
        return q[:, :cols]  # overlaps q
    return np.broadcast_to(np.empty((1, cols), np.float32), (rows, cols))


# --- single-pair alignment ---


@example_settings
@given(sims=array_arg(2, long_axis=1), max_step=INT_PARAM, top_k=INT_PARAM, max_path=INT_PARAM, min_sim=FLOAT_PARAM,
       min_length=INT_PARAM, max_iou=FLOAT_PARAM)
def fuzz_tn(sims, max_step, top_k, max_path, min_sim, min_length, max_iou):
    if not _map_cells_ok(sims):
        return
    result = call(_core.tn, sims, max_step=max_step, top_k=top_k, max_path=max_path, min_sim=min_sim,
                  min_length=min_length, max_iou=max_iou)
    if result is not REFUSED:
        check_segments(result, *sims.shape)


@example_settings
@given(sims=array_arg(2, long_axis=1), iou_thresh=FLOAT_PARAM, min_sim=FLOAT_PARAM, max_peaks=INT_PARAM)
def fuzz_hv(sims, iou_thresh, min_sim, max_peaks):
    if not _map_cells_ok(sims):
        return
    result = call(_core.hv, sims, iou_thresh=iou_thresh, min_sim=min_sim, max_peaks=max_peaks)
    if result is not REFUSED:
        check_segments(result, *sims.shape)


@example_settings
@given(sims=array_arg(2, long_axis=1), discontinue=INT_PARAM, min_sim=FLOAT_PARAM, ave_sim=FLOAT_PARAM,
       min_length=INT_PARAM, diagonal_thres=INT_PARAM)
def fuzz_dp(sims, discontinue, min_sim, ave_sim, min_length, diagonal_thres):
    if not _map_cells_ok(sims):
        return
    result = call(_core.dp, sims, discontinue=discontinue, min_sim=min_sim, ave_sim=ave_sim, min_length=min_length,
                  diagonal_thres=diagonal_thres)
    if result is not REFUSED:
        check_segments(result, *sims.shape)


@example_settings
@given(sims=array_arg(2, long_axis=1), discontinue=INT_PARAM, min_sim=FLOAT_PARAM, min_length=INT_PARAM)
def fuzz_dtw(sims, discontinue, min_sim, min_length):
    if not _map_cells_ok(sims):
        return
    result = call(_core.dtw, sims, discontinue=discontinue, min_sim=min_sim, min_length=min_length)
    if result is not REFUSED:
        check_segments(result, *sims.shape)


# --- batch ---

METHOD_PARAMS = {
    "tn": {"max_step": INT_PARAM, "top_k": INT_PARAM, "max_path": INT_PARAM, "min_sim": FLOAT_PARAM,
           "min_length": INT_PARAM, "max_iou": FLOAT_PARAM},
    "hv": {"iou_thresh": FLOAT_PARAM, "min_sim": FLOAT_PARAM, "max_peaks": INT_PARAM},
    "dp": {"discontinue": INT_PARAM, "min_sim": FLOAT_PARAM, "ave_sim": FLOAT_PARAM, "min_length": INT_PARAM,
           "diagonal_thres": INT_PARAM},
    "dtw": {"discontinue": INT_PARAM, "min_sim": FLOAT_PARAM, "min_length": INT_PARAM},
}


@st.composite
def batch_params(draw, method: str):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return None
    if kind == 1:
        return draw(st.sampled_from([[("top_k", 3)], "tn", 3, {"no_such": 1}, {1: 2}]))
    fields = METHOD_PARAMS.get(method, METHOD_PARAMS["tn"])
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
    return {name: draw(fields[name]) for name in chosen}


@st.composite
def refs_arg(draw):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, np.zeros((2, 1, 4), np.float32), "refs", 3, iter([])]))
    refs = draw(st.lists(arrays(3), max_size=6))
    return tuple(refs) if kind == 1 else refs


@st.composite
def valid_frames(draw, dim: int, views: int):
    """Finite float32 (T, views, dim) in a layout the bindings accept: the kernels run on these."""
    t = draw(st.sampled_from([1, 2, 3, 7, 16, 40]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.uniform(-1.0, 1.0, (t, views, dim)).astype(np.float32)
    layout = draw(st.sampled_from(["c", "c", "broadcast", "strided", "readonly"]))
    if layout == "broadcast":
        return np.broadcast_to(a[:1], a.shape)
    if layout == "strided":
        return np.repeat(a, 2, axis=0)[::2]
    return _layout(a, layout, draw)


@st.composite
def valid_batch(draw):
    """(query, refs) that pass validation, so the parameters and thread counts reach the kernels."""
    dim = draw(st.sampled_from([1, 3, 8, 17]))
    views = draw(st.sampled_from([1, 1, 2, 3]))
    query = draw(valid_frames(dim, views))
    refs = draw(st.lists(valid_frames(dim, views), max_size=5))
    return query, refs


@example_settings
@given(query=array_arg(3), refs=refs_arg(), data=st.data(),
       similarity=st.sampled_from(["cosine", "cosine", "chamfer_symmetric", "chamfer_asymmetric", "", "COSINE", "dot"]),
       method=st.sampled_from(["tn", "tn", "hv", "dp", "dtw", "", "TN", "viterbi"]),
       normalize=st.one_of(st.booleans(), st.sampled_from([None, 1, "yes"])),
       norm_bounds=st.one_of(st.tuples(FLOATS, FLOATS), st.sampled_from([None, (0.0,), (0, 1, 2), "ab"])),
       threads=THREADS, cancel=st.sampled_from(["none", "none", "token", "cancelled", "bad"]))
def fuzz_align_batch(query, refs, data, similarity, method, normalize, norm_bounds, threads, cancel):
    if data.draw(st.booleans()):
        query, refs = data.draw(valid_batch())
    params = data.draw(batch_params(method))
    token = {"none": None, "token": _core.CancelToken(), "cancelled": _core.CancelToken(), "bad": object()}[cancel]
    if cancel == "cancelled":
        token.cancel()
    result = call(_core.align_batch, query, refs, similarity=similarity, method=method, params=params,
                  normalize=normalize, norm_bounds=norm_bounds, num_threads=threads, cancel=token)
    if result is not REFUSED:
        assert isinstance(result, list) and len(result) == len(refs)
        for ref, pair in zip(refs, result):
            check_segments(pair, query.shape[0], ref.shape[0])


# --- the small entry points ---


@example_settings
@given(level=st.one_of(st.text(max_size=8), st.sampled_from(["scalar", "avx2", "avx512", "AVX2", " avx2", "sse",
                                                             None, 2, b"avx2"])))
def fuzz_set_simd_level(level):
    before = _core.simd_level()
    try:
        refused = call(_core.set_simd_level, level) is REFUSED
        name = level.decode("utf-8", "replace") if isinstance(level, bytes) else level  # pybind11 takes bytes as str
        assert refused == (name not in _core.simd_levels()), f"level {level!r}"
        assert _core.simd_level() == (before if refused else name)
    finally:
        _core.set_simd_level(before)


def fuzz_introspection_and_cancel_token_reject_arguments():
    for fn in (_core.simd_level, _core.simd_levels, _core.build_info, _core.CancelToken):
        with pytest.raises(TypeError):
            fn(1)
    token = _core.CancelToken()
    token.cancel()
    token.cancel()  # idempotent
    assert token.cancelled
    with pytest.raises(AttributeError):
        token.cancelled = False


# --- Python-level race: SIMD level switched while a threaded batch runs ---


def fuzz_align_batch_while_another_thread_switches_simd_level():
    """The level is process-wide state that kernels read per call; switching it from another
    thread mid-batch must neither crash nor give a pair a result no single level gives."""
    rng = np.random.default_rng(7)
    dim = 64
    query = _unit(rng.standard_normal((40, 1, dim)))
    refs = []
    for k in range(24):
        ref = _unit(rng.standard_normal((30 + k, 1, dim)))
        ref[5:25, 0] = _unit(query[10:30, 0] + 0.3 * rng.standard_normal((20, dim)))  # a planted copy
        refs.append(ref)
    levels = _core.simd_levels()
    before = _core.simd_level()
    per_level = {}
    try:
        for level in levels:
            _core.set_simd_level(level)
            per_level[level] = [_as_key(p) for p in _core.align_batch(query, refs, num_threads=1)]
        stop = threading.Event()

        def switch():
            i = 0
            while not stop.is_set():
                _core.set_simd_level(levels[i % len(levels)])
                i += 1

        switcher = threading.Thread(target=switch)
        switcher.start()
        try:
            runs = [_core.align_batch(query, refs, num_threads=2) for _ in range(20)]
        finally:
            stop.set()
            switcher.join()
    finally:
        _core.set_simd_level(before)
    for run in runs:
        for k, pair in enumerate(run):
            assert any(_as_key(pair) == per_level[level][k] for level in levels), f"pair {k}: {pair}"


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _as_key(pair) -> tuple:
    boxes, scores = pair
    return boxes.tobytes(), scores.tobytes()


# --- crashes found by this file, each reproduced in its own process ---


def _run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    src = Path(vcdfast.__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


@outer
def test_align_batch_huge_num_threads_is_refused_or_clamped():
    """num_threads=2**31-1 with one reference: libgomp was asked for that many threads and aborted
    the process ("libgomp: Out of memory allocating ... bytes"). cosine/chamfer clamp their team
    to the work; align_batch must clamp to len(refs) or raise ValueError."""
    code = ("import numpy as np, vcdfast._core as c\n"
            "q = np.ones((3, 1, 8), np.float32)\n"
            "try:\n    print(len(c.align_batch(q, [q], num_threads=2**31 - 1)))\n"
            "except ValueError as e:\n    print('ValueError', e)\n")
    done = _run_isolated(code)
    assert done.returncode == 0, f"process died (rc {done.returncode}): {done.stderr[-500:]}"


# --- the driver ---


@pytest.mark.slow
@outer
def test_fuzz_in_subprocess(tmp_path):
    """Runs the examples above in a child pytest under a time limit; a crash or hang is
    reported with the last input the child was given."""
    trace = tmp_path / "last_call.txt"
    env = dict(os.environ, VCDFAST_FUZZ_INNER="1", VCDFAST_FUZZ_TRACE=str(trace))
    src = Path(vcdfast.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))
    # the warning filter: Hypothesis's failure report imports a deprecated helper (mypy_extensions)
    cmd = [sys.executable, "-X", "faulthandler", "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
           *FUZZ_COLLECT, "-W", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning",
           "--rootdir", str(Path(__file__).parent.parent)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env,
                              cwd=Path(__file__).parent.parent)
    except subprocess.TimeoutExpired as e:
        last = trace.read_text() if trace.exists() else "(none)"
        pytest.fail(f"fuzz child hung (> {CHILD_TIMEOUT_S} s); last call: {last}\n{(e.stdout or b'')[-2000:]!r}")
    last = trace.read_text() if trace.exists() else "(none)"
    if done.returncode < 0 or done.returncode > 1:
        pytest.fail(f"fuzz child died (rc {done.returncode}); last call: {last}\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    assert done.returncode == 0, f"fuzz child failed; last call: {last}\n{done.stdout[-6000:]}"
