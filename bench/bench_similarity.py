"""Similarity kernels against NumPy, measured in the same run on identical seeded inputs.

    PYTHONPATH=python python3 bench/bench_similarity.py [--threads 1,2] [--quick]

cosine: vcdfast.cosine(q, r) vs NumPy `q @ r.T` (its BLAS: OpenBLAS in the NumPy wheel).
chamfer: vcdfast.chamfer_symmetric vs the NumPy tensordot formulation VCSL's chamfer_sim_cpu uses
(S = tensordot over D, then max/mean over the view axes). Also timed: that tensordot alone and
OpenBLAS SGEMM of the flattened (P*V, D) x (Q*W, D)^T product, which bound what any exact float32
kernel doing the same multiply-adds can save (the table's "gemm share" = tensordot / whole).

Each thread count runs in its own child process with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS /
MKL_NUM_THREADS set before NumPy is imported, so BLAS uses as many threads as we do. Timings are
medians over three rounds; in each round every contender runs a block of calls after a 0.25 s
pause. Alternating single calls would time the thread pools, not the kernels: after a call,
OpenBLAS's workers spin for ~2^28 cycles and libgomp's for its spin count, and on a 2-core machine
the other library's next call then shares its cores with them (2 threads, 187 x 187: both fell
from 100+ to 1-4 GFLOP/s when alternated). The pause lets both pools go idle. Prints one JSON line per case (CPU model,
SIMD level, threads, git sha, BLAS) and a table at the end. Peak memory: tracemalloc for NumPy
(it reports its buffers there) and the peak-RSS growth of the call (VmHWM after resetting it via
/proc/self/clear_refs) for both, with glibc's mmap threshold pinned so freed heap is not reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchenv import cpu_model, git_sha

REPO = Path(__file__).resolve().parent.parent


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_rss_growth(fn) -> int | None:
    """Bytes by which the process's peak RSS grows during fn() (None where Linux's reset is unavailable)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
        fn()
        return (_status_kib("VmHWM") - before) * 1024
    except OSError:
        return None


def child(threads: int, quick: bool) -> None:
    import tracemalloc

    import numpy as np

    import vcdfast

    def median_times(fns, reps, rounds=3, settle_s=0.25):
        # Blocks of calls per contender, after a pause that lets the other's spinning threads sleep
        # (see the module docstring); rounds keep slow drifts in machine load fair to both.
        times = [[] for _ in fns]
        block = -(-reps // rounds)
        for _ in range(rounds):
            for i, fn in enumerate(fns):
                time.sleep(settle_s)
                for _ in range(block):
                    t0 = time.perf_counter()
                    fn()
                    times[i].append(time.perf_counter() - t0)
        return [float(np.median(t)) for t in times]

    def unit_rows(rng, shape):
        x = rng.standard_normal(shape).astype(np.float32)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    def chamfer_numpy(q, r):
        s = np.tensordot(q, r.T, axes=1)  # (P, V, W, Q), as VCSL's chamfer_sim_cpu builds it
        return (s.max(axis=2).mean(axis=1) + s.max(axis=1).mean(axis=1)) / 2

    blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
    meta = {"cpu": cpu_model(), "simd_level": vcdfast.simd_level(), "threads": threads, "git_sha": git_sha(),
            "numpy": np.__version__, "blas": f"{blas.get('name')} {blas.get('version')}",
            "cpus": os.cpu_count(), "loadavg_1min": os.getloadavg()[0]}
    rng = np.random.default_rng(0)
    frames = [187, 738] if quick else [187, 738, 3496]
    for n in frames:
        for d in (256, 512):
            q, r = unit_rows(rng, (n, d)), unit_rows(rng, (n, d))
            out = np.empty((n, n), np.float32)
            ours = lambda: vcdfast.cosine(q, r, num_threads=threads, out=out)  # noqa: E731
            peer = lambda: q @ r.T  # noqa: E731
            ours(), peer()  # warm up: page in, spin up thread pools
            reps = 42 if n < 500 else 15 if n < 1000 else 6  # multiples of the 3 rounds
            t_ours, t_peer = median_times([ours, peer], reps)
            flop = 2.0 * n * n * d
            err = float(np.abs(ours() - peer()).max())
            print(json.dumps({"bench": "cosine", "P": n, "Q": n, "D": d, **meta, "reps": reps,
                              "vcdfast_s": t_ours, "numpy_s": t_peer, "speedup": t_peer / t_ours,
                              "vcdfast_gflops": flop / t_ours / 1e9, "numpy_gflops": flop / t_peer / 1e9,
                              "max_abs_err": err}), flush=True)

    # Binding overhead: a 1 x 1 call (production calls are latency-critical), per-call microseconds.
    q1, r1 = unit_rows(rng, (1, 256)), unit_rows(rng, (1, 256))
    calls = 2000

    def loop(fn):
        return lambda: [fn() for _ in range(calls)]

    t_ours, t_peer = median_times([loop(lambda: vcdfast.cosine(q1, r1)), loop(lambda: q1 @ r1.T)], 9)
    print(json.dumps({"bench": "cosine_1x1_call", "P": 1, "Q": 1, "D": 256, **meta, "reps": 9,
                      "vcdfast_us": t_ours / calls * 1e6, "numpy_us": t_peer / calls * 1e6,
                      "speedup": t_peer / t_ours}), flush=True)

    cases = [(187, 512), (187, 3840)] if quick else [(187, 512), (738, 512), (187, 3840), (400, 3840)]
    views = 9
    for n, d in cases:
        q, r = unit_rows(rng, (n, views, d)), unit_rows(rng, (n, views, d))
        ours = lambda: vcdfast.chamfer_symmetric(q, r, num_threads=threads)  # noqa: E731
        peer = lambda: chamfer_numpy(q, r)  # noqa: E731
        ours_rss = peak_rss_growth(ours)
        peer_rss = peak_rss_growth(peer)
        tracemalloc.start()
        peer()
        peer_traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # Where NumPy's time goes: its tensordot alone (the GEMM plus the copy that transposes r), and
        # OpenBLAS SGEMM of the same product on contiguous operands (no reduction, no copy).
        q2, r2 = q.reshape(n * views, d), r.reshape(n * views, d)
        gemm_only = lambda: np.tensordot(q, r.T, axes=1)  # noqa: E731
        sgemm = lambda: q2 @ r2.T  # noqa: E731
        reps = 9 if n * n * d < 2e8 else 3
        t_ours, t_peer, t_tensordot, t_sgemm = median_times([ours, peer, gemm_only, sgemm], reps)
        flop = 2.0 * n * views * n * views * d
        err = float(np.abs(ours() - peer()).max())
        print(json.dumps({"bench": "chamfer_symmetric", "P": n, "Q": n, "V": views, "W": views, "D": d, **meta,
                          "reps": reps, "vcdfast_s": t_ours, "numpy_s": t_peer, "speedup": t_peer / t_ours,
                          "numpy_tensordot_s": t_tensordot, "numpy_sgemm_s": t_sgemm,
                          "vcdfast_gflops": flop / t_ours / 1e9, "numpy_gflops": flop / t_peer / 1e9,
                          "numpy_sgemm_gflops": flop / t_sgemm / 1e9,
                          "max_abs_err": err, "output_bytes": n * n * 4, "vcdfast_peak_rss_growth": ours_rss,
                          "numpy_peak_rss_growth": peer_rss, "numpy_peak_tracemalloc": peer_traced}), flush=True)


def mib(x) -> str:
    return "-" if x is None else f"{x / 2**20:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: 1,2)")
    ap.add_argument("--quick", action="store_true", help="smaller cases only")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.quick)
        return

    rows = []
    for t in (int(x) for x in args.threads.split(",")):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t),
                   # Large blocks come from (and go back to) mmap, so peak-RSS growth sees every buffer
                   # instead of heap memory freed by an earlier case.
                   MALLOC_MMAP_THRESHOLD_="131072")
        cmd = [sys.executable, __file__, "--child", str(t)] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        for line in proc.stdout.splitlines():
            print(line, flush=True)
            rows.append(json.loads(line))

    print()
    print(f"{'kernel':<18}{'shape':<24}{'thr':>4}{'simd':>7}{'ours GF/s':>11}{'numpy GF/s':>12}{'speedup':>9}"
          f"{'max|err|':>10}{'peak MiB ours/numpy(rss, traced)':>36}{'numpy: gemm share, sgemm GF/s':>32}")
    for r in rows:
        if r["bench"] == "cosine_1x1_call":
            print(f"{'cosine 1x1 call':<18}{'D=256':<24}{r['threads']:>4}{r['simd_level']:>7}"
                  f"{r['vcdfast_us']:>9.2f}us{r['numpy_us']:>10.2f}us{r['speedup']:>9.2f}")
            continue
        if r["bench"] == "cosine":
            shape, mem, split = f"{r['P']}x{r['Q']} D={r['D']}", "", ""
        else:
            shape = f"{r['P']}x{r['V']} . {r['Q']}x{r['W']} D={r['D']}"
            mem = (f"{mib(r['vcdfast_peak_rss_growth'])} / {mib(r['numpy_peak_rss_growth'])}, "
                   f"{mib(r['numpy_peak_tracemalloc'])}")
            split = f"{r['numpy_tensordot_s'] / r['numpy_s']:.2f}, {r['numpy_sgemm_gflops']:.1f}"
        print(f"{r['bench']:<18}{shape:<24}{r['threads']:>4}{r['simd_level']:>7}{r['vcdfast_gflops']:>11.1f}"
              f"{r['numpy_gflops']:>12.1f}{r['speedup']:>9.2f}{r['max_abs_err']:>10.1e}{mem:>36}{split:>32}")


if __name__ == "__main__":
    main()
