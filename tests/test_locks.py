"""Concurrency: one writer thread and reader threads share an open index in one process;
a second process, writer or reader, is refused with IndexLockedError naming the holder
(LevelDB and milvus-lite each take an exclusive lock)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import vcdfast
from vcdfast.embed import VideoEmbedding
from vcdfast.errors import IndexLockedError
from vcdfast.index import HOLDER, Index
from vcdfast.store import MilvusStore

MODEL = "sscd-mobile"


def _emb(i: int, frames: int = 12) -> VideoEmbedding:
    rng = np.random.default_rng(i)
    v = rng.standard_normal((frames, 512), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return VideoEmbedding.from_arrays(v, np.arange(frames, dtype=np.float64), model=MODEL)


def _build(path: Path, n: int) -> None:
    with Index.open(path, model=MODEL, views=("full",)) as ix:
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
                    n = len(ix.videos())
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
        assert sorted(r.id for r in ix.videos()) == [f"v{i}" for i in range(9)]
        assert ix.verify().ok
    assert seen and min(seen) >= 1 and max(seen) <= 9


SRC = Path(vcdfast.__file__).resolve().parent.parent
HOLD = textwrap.dedent("""
    import sys
    from vcdfast.index import Index
    from vcdfast.store import MilvusStore
    if sys.argv[1] == "index":
        held = Index.open(sys.argv[2], read_only=sys.argv[3] == "ro")
    else:
        held = MilvusStore(sys.argv[2], "t", 8)
    print("ready", flush=True)
    sys.stdin.read()  # hold until the test closes our stdin (or kills us)
    held.close()
""")


def _hold(*args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    child = subprocess.Popen([sys.executable, "-c", HOLD, *map(str, args)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.mark.parametrize("holder_mode", ["rw", "ro"])
def test_a_second_process_is_refused_naming_the_holder(tmp_path, holder_mode):
    _build(tmp_path / "ix", 1)
    child = _hold("index", tmp_path / "ix", holder_mode)
    try:
        for read_only in (False, True):
            with pytest.raises(IndexLockedError) as e:
                Index.open(tmp_path / "ix", read_only=read_only)
            message = str(e.value)
            assert str(tmp_path / "ix") in message and f"pid {child.pid} " in message, message
            assert repr(socket.gethostname()) in message and " since 20" in message, message
            assert (", read-only)" in message) == (holder_mode == "ro"), message
    finally:
        assert _release(child) == 0
    assert not (tmp_path / "ix" / HOLDER).exists()  # a clean close removes the record
    with Index.open(tmp_path / "ix", read_only=True) as ix:
        assert len(ix) == 1


def test_a_stale_holder_record_does_not_confuse(tmp_path):
    _build(tmp_path / "ix", 1)
    child = _hold("index", tmp_path / "ix", "rw")
    child.send_signal(signal.SIGKILL)
    _release(child)
    assert str(child.pid) in (tmp_path / "ix" / HOLDER).read_text()  # left behind by the dead holder
    with Index.open(tmp_path / "ix") as ix:  # the locks died with it: the open succeeds
        assert f"pid {os.getpid()} " in _refusal(tmp_path / "ix")  # the record now names us
        assert len(ix) == 1 and ix.verify().ok
    assert not (tmp_path / "ix" / HOLDER).exists()


def _release(child: subprocess.Popen) -> int:
    child.stdin.close()
    rc = child.wait(timeout=60)
    child.stdout.close()
    return rc


def _refusal(path) -> str:
    """The message of opening `path` again from this process (LevelDB refuses a second handle)."""
    with pytest.raises(IndexLockedError) as e:
        Index.open(path)
    assert "this process" in str(e.value)
    return str(e.value)


def test_a_locked_milvus_lite_folder_is_index_locked_error(tmp_path, caplog):
    uri = str(tmp_path / "m.db")
    child = _hold("milvus", uri)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(IndexLockedError, match="open in another process") as e:
            MilvusStore(uri, "t", 8, create=False)
        assert uri in str(e.value)
        assert not [r for r in caplog.records if r.exc_info], "milvus-lite's traceback leaked into the log"
    finally:
        assert _release(child) == 0
