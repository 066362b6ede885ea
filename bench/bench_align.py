"""TN and HV alignment: vcdfast against VCSL's own vta.py (or the naive reference), same run.

    PYTHONPATH=python python3 bench/bench_align.py [--vcsl PATH] [--quick] [--batch-refs N]

Maps are seeded "realistic" similarity maps shaped like tests/data's fixtures: spatially
correlated noise (mean ~0.19, sd ~0.12, lag-1 correlation ~0.8) plus one to three planted copies
(similarity ~0.72) at random offsets, at VCSL's frame-count distribution: 44, 187, 738 and 3,496
frames, square and rectangular. The maps of tests/data/tn_realistic_cases.npz (VCSL's own
fixtures at 187 and 738 frames) are timed as well.

Peer: with --vcsl PATH (a VCSL checkout, or its bare git dir: vcsl/vta.py is read from HEAD),
VCSL's own `tn` and `hv` are timed. vta.py imports torch, tslearn, numba, loguru and its yolov5
package at top level although tn/hv need only numpy and networkx, so its source is executed in
a fresh module with those five imports replaced by inert stubs (nothing else is touched; the
stubs are removed from sys.modules afterwards). Without --vcsl the peer is tests/reference.py's
tn_reference / hv_reference (networkx too, but not VCSL's code). Every row also reports whether
vcdfast's boxes equal the peer's on that map.

vcdfast rows: median wall ms per call (and CPU ms per call, which a busy machine inflates less)
over repeats; the peer is run fewer times (it is 2-4 orders of magnitude slower), and VCSL's
hv not at all beyond 2M cells (it builds a Python list entry per cell: minutes and GBs at
3,496 x 3,496). `speedup` is peer / vcdfast in wall time, `speedup_cpu` in CPU time. One
core: the single-pair kernels are single-threaded. Batch rows: pairs/s of vcdfast.align.align_batch
(cosine + TN per pair, 187-frame videos) on 1 and 2 threads, with the kernels' TN defaults and
with vcdfast.query's (which trim each box in the batch).

Output: one JSON line per measurement (cpu model, SIMD level, threads, git sha on each), then a
table whose lines start with '#'.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the peers' NumPy stays on one core too

import numpy as np  # noqa: E402
from benchenv import cpu_model, git_sha

import vcdfast  # noqa: E402
from vcdfast.align import hv, tn  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# The kernels' defaults (TN's are towhee's), without trimming, which the peers do not have.
TOWHEE = {k: v for k, v in vcdfast.align.defaults("tn").items() if not k.startswith("trim_")}
HV_DEFAULT = {k: v for k, v in vcdfast.align.defaults("hv").items() if not k.startswith("trim_")}
SHAPES = [(44, 44), (187, 187), (738, 738), (3496, 3496), (187, 738), (738, 187), (44, 3496), (3496, 187)]
FIXTURE_MAPS = ["median_187", "wide_187x738", "tall_738x187", "square_738"]
HV_PEER_MAX_CELLS = 2_000_000


def smooth(x: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Moving average of `width` along `axis` (same length, edges averaged over fewer cells)."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (width // 2, width - 1 - width // 2)
    c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis)
    c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
    n = x.shape[axis]
    return (np.take(c, np.arange(width, n + width), axis=axis) - np.take(c, np.arange(0, n), axis=axis)) / width


def realistic_map(rows: int, cols: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((rows, cols))
    for axis in (0, 1):
        noise = smooth(smooth(noise, 5, axis), 5, axis)
    sims = 0.19 + 0.12 * (noise - noise.mean()) / noise.std()
    for _ in range(int(rng.integers(1, 4))):
        length = int(rng.integers(max(6, min(rows, cols) // 8), max(7, min(rows, cols) // 3)))
        speed = float(rng.choice([1.0, 1.0, 2.0, 0.5]))
        q0 = int(rng.integers(0, max(1, rows - length)))
        r0 = int(rng.integers(0, max(1, cols - int(length * speed))))
        for i in range(length):
            q, r = q0 + i, r0 + int(i * speed)
            if q < rows and r < cols:
                sims[q, r] = rng.normal(0.72, 0.04)
    return sims.astype(np.float32)


def load_vcsl(path: str):
    """VCSL's tn and hv from vcsl/vta.py, executed with its unused heavy imports stubbed."""
    p = Path(path)
    if (p / "vcsl" / "vta.py").is_file():
        source, origin = (p / "vcsl" / "vta.py").read_text(), str(p / "vcsl" / "vta.py")
    else:  # a bare git dir (e.g. a mirror)
        git_dir = p / ".git" if (p / ".git").exists() else p
        source = subprocess.run(["git", "--git-dir", str(git_dir), "show", "HEAD:vcsl/vta.py"], capture_output=True,
                                text=True, check=True).stdout
        origin = f"{git_dir}@HEAD:vcsl/vta.py"

    def unavailable(*args, **kwargs):
        raise RuntimeError("stubbed out by bench_align.py: not needed for tn/hv")

    def njit(*args, **kwargs):
        return args[0] if args and callable(args[0]) else (lambda fn: fn)

    quiet = types.SimpleNamespace(info=lambda *a, **k: None, exception=lambda *a, **k: None)
    stubs = {
        "torch": types.ModuleType("torch"),
        "tslearn": types.ModuleType("tslearn"),
        "tslearn.metrics": types.SimpleNamespace(dtw_path_from_metric=unavailable),
        "numba": types.SimpleNamespace(njit=njit, prange=range),
        "loguru": types.SimpleNamespace(logger=quiet),
        "_vcsl_peer": types.ModuleType("_vcsl_peer"),
        "_vcsl_peer.yolov5": types.SimpleNamespace(attempt_load=unavailable, letterbox=unavailable,
                                                   non_max_suppression=unavailable, scale_coords=unavailable),
    }
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        module = types.ModuleType("_vcsl_peer.vta")
        module.__package__ = "_vcsl_peer"
        exec(compile(source, origin, "exec"), module.__dict__)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old

    def vcsl_tn(sims, **kw):
        return module.tn(sims, tn_max_step=kw["max_step"], tn_top_k=kw["top_k"], max_path=kw["max_path"],
                         min_sim=kw["min_sim"], min_length=kw["min_length"], max_iou=kw["max_iou"])

    def vcsl_hv(sims, **kw):
        return module.hv(sims.copy(), **kw)  # VCSL's hv zeroes its input in place

    return "VCSL vta.py (" + origin + ")", vcsl_tn, vcsl_hv


def load_reference():
    sys.path.insert(0, str(REPO / "tests"))
    from reference import hv_reference, tn_reference

    return ("tests/reference.py (naive, networkx)", lambda s, **kw: tn_reference(s, **kw)[0].tolist(),
            lambda s, **kw: hv_reference(s, **kw)[0].tolist())


def time_calls(fn, min_seconds: float, max_reps: int):
    """Median wall and mean CPU seconds per call; at least 3 calls, then until min_seconds."""
    walls, cpu0, t_start = [], time.process_time(), time.perf_counter()
    while len(walls) < 3 or (time.perf_counter() - t_start < min_seconds and len(walls) < max_reps):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), (time.process_time() - cpu0) / len(walls), len(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vcsl", help="VCSL checkout (or bare git dir) to time its vta.tn / vta.hv")
    ap.add_argument("--quick", action="store_true", help="skip the 3,496-frame shapes and cut repeats")
    ap.add_argument("--batch-refs", type=int, default=64, help="references per align_batch call")
    ap.add_argument("--seed", type=int, default=2022)
    args = ap.parse_args()

    peer_name, peer_tn, peer_hv = load_vcsl(args.vcsl) if args.vcsl else load_reference()
    common = dict(cpu=cpu_model(), simd=vcdfast.simd_level(), git=git_sha(), numpy=np.__version__,
                  python=platform.python_version())
    rows = []
    shapes = [s for s in SHAPES if not (args.quick and max(s) > 1000)]
    maps = [(f"synthetic seed {args.seed + k}", realistic_map(p, q, args.seed + k)) for k, (p, q) in enumerate(shapes)]
    with np.load(REPO / "tests" / "data" / "tn_realistic_cases.npz") as fixtures:  # VCSL's fixture maps too
        maps += [(f"fixture {name}", fixtures[f"{name}__sims"]) for name in FIXTURE_MAPS]
    for source, sims in maps:
        p, q = sims.shape
        for method, ours, peer, params in (("tn", tn, peer_tn, TOWHEE), ("hv", hv, peer_hv, HV_DEFAULT)):
            wall, cpu, reps = time_calls(lambda: ours(sims, **params), 0.3 if args.quick else 1.0, 2000)
            # VCSL's hv builds a Python list entry per cell: beyond ~2M cells it takes minutes and GBs.
            peer_reps = (0 if method == "hv" and p * q > HV_PEER_MAX_CELLS
                         else 1 if max(p, q) > 1000 or args.quick else 3)
            peer_walls, peer_boxes, peer_cpu0 = [], None, time.process_time()
            for _ in range(peer_reps):
                t0 = time.perf_counter()
                peer_boxes = peer(sims, **params)
                peer_walls.append(time.perf_counter() - t0)
            peer_wall = statistics.median(peer_walls) if peer_walls else None
            peer_cpu = (time.process_time() - peer_cpu0) / peer_reps if peer_reps else None
            equal = None if peer_boxes is None else bool(np.array_equal(
                ours(sims, **params).boxes, np.asarray(peer_boxes, dtype=np.int64).reshape(-1, 4)))
            row = dict(bench="align", method=method, map=source, shape=[p, q], threads=1, params=params,
                       vcdfast_ms=round(wall * 1e3, 4), vcdfast_cpu_ms=round(cpu * 1e3, 4), vcdfast_reps=reps,
                       peer=peer_name, peer_ms=None if peer_wall is None else round(peer_wall * 1e3, 2),
                       peer_cpu_ms=None if peer_cpu is None else round(peer_cpu * 1e3, 2), peer_reps=peer_reps,
                       speedup=None if peer_wall is None else round(peer_wall / wall, 1),
                       speedup_cpu=None if peer_cpu is None else round(peer_cpu / cpu, 1),
                       boxes_equal=equal, **common)
            print(json.dumps(row), flush=True)
            rows.append(row)

    batch_rows = []
    align_batch = getattr(vcdfast.align, "align_batch", None)
    if align_batch is not None:
        rng = np.random.default_rng(args.seed)
        frames, dim = 187, 256

        def video(n):
            x = smooth(rng.standard_normal((n, dim)), 5, 0) + 0.3 * rng.standard_normal((n, dim))
            return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

        query = video(frames)
        refs = [video(frames) for _ in range(args.batch_refs)]
        for ref in refs[::4]:  # a quarter of the references hold a copied segment of the query
            a, b = sorted(rng.integers(0, frames, 2))
            n = min(b - a + 20, frames - a)
            start = int(rng.integers(0, frames - n + 1))
            ref[start:start + n] = query[a:a + n]
        query3, refs3 = query[:, None, :], [r[:, None, :] for r in refs]
        # towhee's TN as the kernels default it, and vcdfast.query's defaults (trimmed in the batch)
        for preset in ("kernel", "query"):
            params = vcdfast.align.defaults("tn", preset=preset)
            for threads in (1, 2):
                wall, cpu, reps = time_calls(
                    lambda: align_batch(query3, refs3, method="tn", params=params, num_threads=threads),
                    0.3 if args.quick else 1.5, 200)
                row = dict(bench="align_batch", method="tn", similarity="cosine", preset=preset, frames=frames,
                           dim=dim, refs=len(refs), threads=threads, pairs_per_s=round(len(refs) / wall, 1),
                           ms_per_call=round(wall * 1e3, 3), reps=reps, **common)
                print(json.dumps(row), flush=True)
                batch_rows.append(row)

    print(f"# {common['cpu']} | SIMD {common['simd']} | git {common['git']} | peer: {peer_name}")
    print(f"# {'method':6} {'shape':>11} {'vcdfast ms':>11} {'(cpu ms)':>9} {'peer ms':>10} {'speedup':>9} "
          f"{'(cpu)':>8} {'equal':>6}  map")
    for r in rows:
        shape = f"{r['shape'][0]}x{r['shape'][1]}"
        peer_ms = "skipped" if r["peer_ms"] is None else f"{r['peer_ms']:.1f}"
        speedup = "-" if r["speedup"] is None else f"{r['speedup']:.0f}x"
        speedup_cpu = "-" if r["speedup_cpu"] is None else f"{r['speedup_cpu']:.0f}x"
        print(f"# {r['method']:6} {shape:>11} {r['vcdfast_ms']:>11.3f} {r['vcdfast_cpu_ms']:>9.3f} "
              f"{peer_ms:>10} {speedup:>9} {speedup_cpu:>8} {str(r['boxes_equal']):>6}  {r['map']}")
    if batch_rows:
        for r in batch_rows:
            print(f"# align_batch tn ({r['preset']} defaults) cosine {r['frames']}x{r['frames']}, {r['refs']} refs, "
                  f"threads={r['threads']}: {r['pairs_per_s']:.0f} pairs/s")
    else:
        print("# align_batch: not available in this build (vcdfast.align.align_batch missing)")


if __name__ == "__main__":
    main()
