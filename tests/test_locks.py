"""Concurrency within one process: one writer thread and reader threads share an open index.

(Across processes an index is single-process today: LevelDB and milvus-lite each take an
exclusive lock, so a second process, even read-only, cannot open it.)"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from vcdfast.embed import VideoEmbedding
from vcdfast.index import Index

MODEL = "sscd-mobile"


def _emb(i: int, frames: int = 12) -> VideoEmbedding:
    rng = np.random.default_rng(i)
    v = rng.standard_normal((frames, 512), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return VideoEmbedding.from_arrays(v, np.arange(frames, dtype=np.float64), model=MODEL)


def _build(path: Path, n: int) -> None:
    with Index.open(path, model=MODEL) as ix:
        ix.add_embeddings([(f"v{i}", _emb(i), {}) for i in range(n)])


def test_one_writer_thread_and_reader_threads_share_an_index(tmp_path):
    _build(tmp_path / "ix", 1)
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()
    with Index.open(tmp_path / "ix") as ix:
        def write():
            try:
                for i in range(1, 9):
                    ix.add_embedding(f"v{i}", _emb(i))
            except BaseException as e:
                errors.append(e)
            finally:
                stop.set()

        def read():
            try:
                while not stop.is_set():
                    n = len(ix.list())
                    seen.append(n)
                    ix.query(_emb(0), query_id="q")  # searches, loads candidates, aligns
                    assert ix.get("v0").vectors.shape == (12, 1, 512)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not errors, errors
        assert sorted(r.id for r in ix.list()) == [f"v{i}" for i in range(9)]
        assert ix.verify().ok
    assert seen and min(seen) >= 1 and max(seen) <= 9
