"""Crash consistency: an ingest killed with SIGKILL at random moments, again and again.

A child process ingests a batch of 60 synthetic videos of 200-236 frames (real LevelDB + the
embedded faiss file, which the writer saves whenever it falls half behind LevelDB and retrains
as it grows past 4,096 rows), one add_embedding call each, skipping ids already indexed. The
test kills it with SIGKILL (its whole process group) at a random moment inside an add (timed
from the adds it has seen), now and then after letting one video through, 30 times; every
restart must open the index, roll back or catch up what was unfinished and find it clean
(verify()). A final run completes the batch: exactly the 60 videos, each with exactly its
rows (no duplicates from a re-add after a kill) and its exact vectors.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import vcdfast

pytestmark = pytest.mark.slow

VIDEOS = 60  # with 20-36 frames each, adds were so quick that the batch finished in 25 kills
KILLS = 30
MODEL = "sscd-mobile"
SRC = Path(vcdfast.__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from test_crash_consistency import MODEL, VIDEOS, video
    from vcdfast.embed import VideoEmbedding
    from vcdfast.index import Index

    with Index.open(sys.argv[1], model=MODEL, views=("full",)) as ix:
        check = ix.verify()
        print(json.dumps({"ready": True, "ok": check.ok, "problems": check.problems[:5], "videos": len(ix),
                          "repaired": ix.repaired}), flush=True)
        for i in range(VIDEOS):
            vid = f"v{i:02d}"
            if vid in ix:
                continue
            v = video(i)
            print(json.dumps({"adding": vid}), flush=True)
            ix.add_embedding(vid, VideoEmbedding.from_arrays(v, np.arange(len(v), dtype=np.float64), model=MODEL))
            print(json.dumps({"added": vid}), flush=True)
    print(json.dumps({"done": True}), flush=True)
""")


def video(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    v = rng.standard_normal((200 + i % 37, 512), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def start(index_dir: Path, log: Path) -> subprocess.Popen:
    path = [str(SRC), str(Path(__file__).parent), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(index_dir)], stdout=subprocess.PIPE, stderr=err,
                                text=True, env=env, start_new_session=True)


def read_ready(child: subprocess.Popen, log: Path) -> dict:
    line = child.stdout.readline()
    assert line, f"the child exited (rc {child.wait()}) before opening the index:\n{log.read_text()[-3000:]}"
    state = json.loads(line)
    assert state["ok"], f"index not clean after a kill: {state['problems']}"
    return state


def test_sigkill_during_ingest_loses_nothing_and_duplicates_nothing(tmp_path):
    rng = random.Random(1234)
    index_dir = tmp_path / "ix"
    add_seconds: list[float] = []  # observed add durations; the kill lands at a random point inside one
    kills = 0
    while kills < KILLS:
        child = start(index_dir, tmp_path / f"run{kills}.err")
        try:
            state = read_ready(child, tmp_path / f"run{kills}.err")
            if state["videos"] == VIDEOS:
                break  # the batch finished between kills; the loop has nothing left to interrupt
            let_through = rng.choice([0, 0, 0, 1]) if add_seconds else 1  # measure an add first
            started = None
            for line in child.stdout:
                event = json.loads(line)
                if "adding" in event:
                    started = time.monotonic()
                    if let_through == 0:
                        break
                elif "added" in event and started is not None:
                    add_seconds.append(time.monotonic() - started)
                    let_through -= 1
            # Within the add (before the fastest one seen would end), so the batch cannot outrun
            # the kills however fast or loaded the host is.
            time.sleep(rng.uniform(0.0, 0.9) * min(add_seconds))
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)  # the child and anything it started
            child.wait()
            child.stdout.close()
        kills += 1
    assert kills >= KILLS, f"only {kills} kills before the batch completed; lengthen the batch"

    child = start(index_dir, tmp_path / "final.err")
    read_ready(child, tmp_path / "final.err")
    out, _ = child.communicate(timeout=600)
    assert child.returncode == 0 and json.loads(out.strip().splitlines()[-1]) == {"done": True}

    from vcdfast.index import Index

    with Index.open(index_dir, read_only=True) as ix:
        check = ix.verify()
        assert check.ok, check.problems
        assert sorted(r.id for r in ix.videos()) == [f"v{i:02d}" for i in range(VIDEOS)]
        assert check.rows == sum(len(video(i)) for i in range(VIDEOS))
        for i in range(VIDEOS):
            assert np.array_equal(ix.get(f"v{i:02d}").vectors[:, 0], video(i).astype(np.float16).astype(np.float32))
