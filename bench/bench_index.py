"""Index benchmark: ingest rate into milvus-lite and LevelDB, and query latency after
embedding (search, candidate selection, matrix load, alignment) at several catalogue sizes.

Synthetic embeddings of VCSL-like length (187 descriptors per video, the VCSL median at
1 fps): each video is a sequence of shots, a shot being a random unit vector plus per-frame
noise, so neighbouring frames are alike and videos are not. Each query is 60 descriptors
copied (with noise) from an indexed video. Prints one JSON line per measurement.

    PYTHONPATH=python python3 bench/bench_index.py --videos 1000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time

import numpy as np

import vcdfast
from vcdfast.embed import VideoEmbedding
from vcdfast.index import Index
from vcdfast.query import AlignMethod, align_pairs, intervals, vote
from vcdfast.store import IndexType

T, D, QUERY_FRAMES, MODEL = 187, 512, 60, "sscd-mobile"


def env() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    import milvus_lite
    import pymilvus

    return {"cpu": cpu, "simd": vcdfast.simd_level(), "threads": os.cpu_count(), "git": sha,
            "pymilvus": pymilvus.__version__, "milvus_lite": milvus_lite.__version__}


def emit(**kw) -> None:
    print(json.dumps(kw), flush=True)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_video(rng: np.random.Generator) -> np.ndarray:
    shots = np.repeat(rng.standard_normal((T // 6 + 1, D)), 6, axis=0)[:T]
    return unit(shots + 0.5 * rng.standard_normal((T, D)))


def embedding(vectors: np.ndarray) -> VideoEmbedding:
    return VideoEmbedding.from_arrays(vectors, np.arange(len(vectors), dtype=np.float64), model=MODEL,
                                      duration=float(len(vectors)))


class Timer:
    """Accumulates the wall time of calls to a wrapped method."""

    def __init__(self, obj, name: str):
        self.total = 0.0
        fn = getattr(obj, name)

        def wrapped(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.total += time.perf_counter() - t

        setattr(obj, name, wrapped)


def build(ix: Index, n_videos: int, start: int, seed: int, batch: int, budget_s: float) -> int:
    """Add videos start..n_videos-1; returns how many the index holds when done or out of time."""
    rng = np.random.default_rng([seed, start])
    leveldb = Timer(ix.matrices, "put")
    milvus_insert = Timer(ix.vectors, "insert")
    milvus_flush = Timer(ix.vectors, "flush")
    t0 = time.perf_counter()
    done = start
    while done < n_videos and time.perf_counter() - t0 < budget_s:
        n = min(batch, n_videos - done)
        ix.add_embeddings([(f"v{done + i}", embedding(synthetic_video(rng)), {}) for i in range(n)])
        done += n
    wall = time.perf_counter() - t0
    rows = (done - start) * T
    emit(stage="ingest", videos_total=done, videos_added=done - start, rows=rows, wall_s=round(wall, 2),
         rows_per_s_total=round(rows / wall, 1) if wall else None,
         leveldb_rows_per_s=round(rows / leveldb.total, 1) if leveldb.total else None,
         leveldb_mb_per_s=round(rows * D * 4 / 2**20 / leveldb.total, 1) if leveldb.total else None,
         milvus_insert_rows_per_s=round(rows / milvus_insert.total, 1) if milvus_insert.total else None,
         milvus_flush_s=round(milvus_flush.total, 2), disk_bytes=ix.stats()["disk_bytes"])
    return done


def query_latency(ix: Index, n_videos: int, n_queries: int, top_k: int, candidates: int, seed: int) -> None:
    """Per-stage and total latency of a 60-frame query copied from an indexed video."""
    rng = np.random.default_rng([seed, 99])
    stages = {"search": [], "select": [], "load": [], "align": [], "total": []}
    hits = 0
    for _ in range(n_queries):
        src = int(rng.integers(n_videos))
        ref = ix.get(f"v{src}").vectors
        s = int(rng.integers(0, T - QUERY_FRAMES))
        q = unit(ref[s:s + QUERY_FRAMES, 0] + 0.3 / np.sqrt(D) * rng.standard_normal((QUERY_FRAMES, D)))[:, None, :]
        t0 = time.perf_counter()
        keys, scores = ix.vectors.search_frames(q[:, 0], top_k)
        t1 = time.perf_counter()
        cands = []
        for key, total in zip(*vote(keys, scores)):
            meta = ix.matrices.meta(int(key))
            if meta is not None and meta["state"] == "committed":
                cands.append((int(key), meta))
                if len(cands) == candidates:
                    break
        t2 = time.perf_counter()
        refs = [ix.matrices.matrix(k) for k, _ in cands]
        t3 = time.perf_counter()
        found = align_pairs(q, [v for v, _ in refs], method=AlignMethod.TN)
        t4 = time.perf_counter()
        for (_, meta), (_, ts), (boxes, _) in zip(cands, refs, found):
            intervals(ts, meta["last_end"])
            hits += meta["id"] == f"v{src}" and len(boxes) > 0
        t5 = time.perf_counter()
        for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t0)):
            stages[name].append(dt * 1000)
    public = []
    for _ in range(min(5, n_queries)):
        ref = ix.get(f"v{int(rng.integers(n_videos))}").vectors
        q = embedding(unit(ref[:QUERY_FRAMES, 0] + 0.3 / np.sqrt(D) * rng.standard_normal((QUERY_FRAMES, D))))
        t = time.perf_counter()
        ix.query(q, top_k=top_k, candidates=candidates)
        public.append((time.perf_counter() - t) * 1000)
    out = {name: {"p50_ms": round(float(np.percentile(v, 50)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1)}
           for name, v in stages.items()}
    dominant = max(("search", "select", "load", "align"), key=lambda n: out[n]["p50_ms"])
    emit(stage="query", videos=n_videos, rows=n_videos * T, query_frames=QUERY_FRAMES, top_k=top_k,
         candidates=candidates, queries=n_queries, latency=out, dominant=dominant,
         index_query_p50_ms=round(float(np.median(public)), 1), source_found=f"{hits}/{n_queries}",
         target="p50 < 100 ms at 10k videos", meets_target=out["total"]["p50_ms"] < 100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--top-k", type=int, default=64)
    ap.add_argument("--candidates", type=int, default=5)
    ap.add_argument("--batch", type=int, default=200, help="videos per add_embeddings call")
    ap.add_argument("--index-type", choices=[t.value for t in IndexType], default=IndexType.HNSW.value)
    ap.add_argument("--uri", default=None, help="a Milvus server URI instead of milvus-lite")
    ap.add_argument("--milvus-server", action="store_true",
                    help="start the `milvus` package's embedded Milvus server (C++) and use it instead of milvus-lite")
    ap.add_argument("--dir", default=None, help="where to build the index (default: a temp dir, removed)")
    ap.add_argument("--budget-s", type=float, default=3600.0, help="ingest time allowed per scale")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    root = args.dir or tempfile.mkdtemp(prefix="bench_index_")
    os.makedirs(root, exist_ok=True)
    server = None
    if args.milvus_server:
        import milvus

        server = milvus.MilvusServer()
        server.set_base_dir(os.path.join(root, "milvus-server"))
        server.start()
        args.uri = f"http://127.0.0.1:{server.listen_port}"
    emit(stage="env", **env(), index_type=args.index_type, uri=args.uri or "milvus-lite file",
         store="milvus server " + milvus.__version__ if server else "milvus-lite", T=T, D=D)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    disk = shutil.disk_usage(root).free

    def open_index() -> Index:
        return Index.open(os.path.join(root, "ix"), model=MODEL, uri=args.uri, index_type=args.index_type)

    try:
        have = 0
        for n in sorted(args.videos):
            vec_bytes = n * T * D * 4
            # milvus-lite keeps the vectors in memory (NumPy), LevelDB and Milvus each keep a copy on disk
            if vec_bytes > 0.6 * mem or 2.2 * vec_bytes > disk:
                emit(stage="skip", videos=n, rows=n * T, vector_gib=round(vec_bytes / 2**30, 1),
                     memory_gib=round(mem / 2**30, 1), free_disk_gib=round(disk / 2**30, 1),
                     reason="vectors exceed 60% of memory or disk (x2.2 for both stores)")
                continue
            with open_index() as ix:
                have = build(ix, n, len(ix), args.seed, args.batch, args.budget_s)
                t = time.perf_counter()
            # Queries are timed on a settled index: closing waits for milvus-lite's background
            # compaction and per-segment index builds; a server builds in its own processes.
            with open_index() as ix:
                closed = time.perf_counter()
                waited = ix.vectors.wait_indexed()
                emit(stage="settle", videos=have, close_and_reopen_s=round(closed - t, 2), index_build_wait_s=round(waited, 2))
                if have < n:
                    emit(stage="skip", videos=n, reason=f"ingest budget {args.budget_s} s ran out at {have} videos")
                query_latency(ix, have, args.queries, args.top_k, args.candidates, args.seed)
            if have < n:
                break
    finally:
        if server is not None:
            server.server_proc.kill()  # a clean stop takes minutes; the data is thrown away
            server.server_proc.wait()
            server.stop()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
