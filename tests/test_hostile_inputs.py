"""Hostile input files against a real index: each bad file gets an error naming it, within a
time limit; the rest of the batch is indexed; the index holds exactly the good files.

The corpus is generated here: empty, truncated, random bytes with a video extension, text,
audio only, 1x1 pixels, a header claiming 16000x16000 pixels (MJPEG frames whose SOF0
dimensions were rewritten), a container claiming a 114-year duration (Matroska Duration
rewritten), a folder named like a video, an endless stream (a FIFO whose writer never
stops) and an unreadable file. Ingest runs in a child process so that a hang fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import vcdfast
from videos import make_audio, make_not_a_video, make_truncated, make_video, make_zero_bytes

MODEL = "sscd-mobile"
# Generous for 2 busy cores: model load + milvus-lite start + 4 short good videos take ~20 s.
BATCH_LIMIT_S = 180
PER_BAD_FILE_LIMIT_S = 10  # a bad file is refused after reading a few KB; seconds mean a hang or a huge allocation
ENDLESS_LIMIT_S = 30  # twice the batch of one good video; the feature would stop the stream well before

SRC = Path(vcdfast.__file__).resolve().parent.parent


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(SRC), str(Path(__file__).parent), os.environ.get("PYTHONPATH")])))


# --- the corpus ---


def huge_dimensions(path: Path) -> Path:
    """A real MJPEG-in-Matroska file whose JPEG headers (SOF0) claim 16000x16000 pixels: within
    FFmpeg's size limit, so the decoder allocates for it and then finds the data far too short."""
    make_video(path.with_suffix(".src.mkv"), seconds=3, fps=1, size=(16, 16), codec="mjpeg")
    data = bytearray(path.with_suffix(".src.mkv").read_bytes())
    sof = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xC0]
    assert len(sof) == 3, "expected one SOF0 marker per frame"
    for i in sof:
        struct.pack_into(">HH", data, i + 5, 16000, 16000)  # FFC0, length(2), precision(1), height, width
    path.with_suffix(".src.mkv").unlink()
    path.write_bytes(bytes(data))
    return path


def huge_duration(path: Path) -> Path:
    """A 3 s Matroska file whose Segment Duration (element 0x4489, float64 ms) claims 3.6e12 ms."""
    make_video(path.with_suffix(".src.mkv"), seconds=3, fps=2, size=(32, 32), codec="mjpeg")
    data = bytearray(path.with_suffix(".src.mkv").read_bytes())
    i = data.find(b"\x44\x89\x88")  # ID, then size 8 (EBML vint 0x88)
    assert i > 0 and struct.unpack_from(">d", data, i + 3)[0] == pytest.approx(3000.0), "Duration element not found"
    struct.pack_into(">d", data, i + 3, 3.6e12)
    path.with_suffix(".src.mkv").unlink()
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    good = [make_video(d / f"good{k}.mp4", seconds=3, fps=5, seed=k).path for k in range(3)]
    good.append(make_video(d / "one_pixel.mkv", seconds=2, fps=2, size=(1, 1), codec="mjpeg").path)
    bad = {
        "empty": make_zero_bytes(d / "empty.mp4"),
        "truncated": make_truncated(good[0], d / "truncated.mp4", 0.5),
        "random bytes": d / "random.mkv",
        "text": make_not_a_video(d / "text.mp4"),
        "audio only": make_audio(d / "audio_only.mp4"),
        "16000x16000 header": huge_dimensions(d / "huge_dims.mkv"),
        "114-year duration": huge_duration(d / "huge_duration.mkv"),
        "folder named like a video": d / "folder.mp4",
    }
    bad["random bytes"].write_bytes(np.random.default_rng(5).integers(0, 256, 1 << 16, np.uint8).tobytes())
    bad["folder named like a video"].mkdir()
    return good, bad


# --- the batch ---

INGEST = textwrap.dedent("""
    import json, sys, time
    from vcdfast.index import Index
    index_dir, paths = sys.argv[1], sys.argv[2:]
    done = []
    start = time.monotonic()
    with Index.open(index_dir, model=%r) as ix:
        ready = time.monotonic()
        # strict: every bad file is refused, the 114-year claim too (by default its 3 decodable
        # seconds would be kept with a warning, as test_decode checks)
        report = ix.add(paths, on_error="report", strict=True, progress=False,
                        on_progress=lambda p: done.append((p, time.monotonic())))
    times, prev = {}, ready
    for p, t in done:
        times[p], prev = t - prev, t
    print(json.dumps({"added": report.added, "failed": report.failed, "replaced": report.replaced,
                      "skipped": report.skipped, "seconds": times}))
""") % MODEL


def test_bad_files_are_named_the_batch_goes_on_and_the_index_holds_only_good_files(tmp_path, corpus):
    good, bad = corpus
    paths = [str(p) for pair in zip(good, list(bad.values())[: len(good)]) for p in pair]
    paths += [str(p) for p in list(bad.values())[len(good):]]  # interleaved: a failure mid-batch
    done = subprocess.run([sys.executable, "-c", INGEST, str(tmp_path / "ix"), *paths], capture_output=True,
                          text=True, timeout=BATCH_LIMIT_S, env=_env())
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert sorted(report["added"]) == sorted(Path(p).stem for p in good), report
    assert set(report["failed"]) == {str(p) for p in bad.values()}, report["failed"]
    for what, path in bad.items():
        message = report["failed"][str(path)]
        assert str(path) in message, f"{what}: the error does not name the file: {message}"
        assert report["seconds"][str(path)] < PER_BAD_FILE_LIMIT_S, f"{what} took {report['seconds'][str(path)]} s"
    assert "truncated" in report["failed"][str(bad["114-year duration"])]  # the claim is checked against the stream

    from vcdfast.index import Index

    with Index.open(tmp_path / "ix", read_only=True) as ix:
        check = ix.verify()
        assert check.ok, check.problems
        assert len(ix) == len(good) and sorted(r.id for r in ix.videos()) == sorted(Path(p).stem for p in good)
        frames = {r.id: r.frames for r in ix.videos()}
    assert frames["one_pixel"] == 2 and all(frames[f"good{k}"] == 3 for k in range(3))  # 1 fps sampling


def test_cli_writes_a_per_file_error_report_and_exits_1(tmp_path, corpus):
    good, bad = corpus
    errors = tmp_path / "errors.json"
    inputs = [str(good[0]), str(bad["empty"]), str(bad["random bytes"]), str(tmp_path / "missing.mp4")]
    done = subprocess.run([sys.executable, "-c", "import sys; from vcdfast.cli import main; sys.exit(main())",
                           "index", "--index", str(tmp_path / "ix"), "--model", MODEL, "-q", "--format", "json",
                           "--errors", str(errors), *inputs],
                          capture_output=True, text=True, timeout=BATCH_LIMIT_S, env=_env())
    assert done.returncode == 1, (done.stdout, done.stderr[-3000:])
    rows = json.loads(done.stdout)
    assert rows == [{"id": "good0", "status": "added"}]
    failed = {item["path"]: item["error"] for item in json.loads(errors.read_text())}
    assert set(failed) == set(inputs[1:]), failed
    for path, message in failed.items():
        assert Path(path).name in message, message


# --- an endless stream ---

WRITER = textwrap.dedent("""
    import sys, av, numpy as np
    with av.open(sys.argv[1], "w", format="mpegts") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        i = 0
        while True:  # never ends: a live feed
            img = np.full((48, 64, 3), i % 256, np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
            i += 1
""")


@pytest.mark.slow
def test_endless_stream_is_refused_within_a_time_limit(tmp_path, corpus):
    good, _ = corpus
    fifo = tmp_path / "live.ts"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(fifo)], env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        done = subprocess.run([sys.executable, "-c", INGEST, str(tmp_path / "ix"), str(good[0]), str(fifo)],
                              capture_output=True, text=True, timeout=ENDLESS_LIMIT_S, env=_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"ingest of an endless stream did not finish within {ENDLESS_LIMIT_S} s")
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["added"] == ["good0"] and str(fifo) in report["failed"][str(fifo)]
    assert "FIFO" in report["failed"][str(fifo)], report["failed"]


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_non_regular_files_are_refused_up_front(tmp_path, kind):
    from vcdfast.decode import decode
    from vcdfast.errors import VideoDecodeError

    path = {"fifo": tmp_path / "live.ts", "folder": tmp_path / "folder.mp4", "device": Path("/dev/zero")}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it for reading would block forever
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(VideoDecodeError, match="not a regular file") as e:
        decode(path)
    assert str(path) in str(e.value)


# --- decode guards: media duration, wall clock, frame size ---


@pytest.fixture(scope="module")
def five_seconds(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("guards") / "five.mp4", seconds=5, fps=5, size=(64, 48)).path


def test_max_duration_stops_a_long_stream(five_seconds):
    from vcdfast.decode import decode
    from vcdfast.errors import VideoDecodeError

    with pytest.raises(VideoDecodeError, match="max_duration = 2 s") as e:
        decode(five_seconds, max_duration=2.0)
    assert str(five_seconds) in str(e.value)
    assert 2.0 < e.value.decoded_until <= 2.0 + 1 / 5 + 1e-6  # stopped at the first frame past the limit (5 fps)
    assert len(decode(five_seconds, max_duration=5.0).timestamps) == 5  # frames at 0..4 s are within 5 s


def test_timeout_stops_decoding(five_seconds):
    from vcdfast.decode import decode
    from vcdfast.embed import Embedder
    from vcdfast.errors import VideoDecodeError

    # opening the file and decoding the first frame take far more than a microsecond
    with pytest.raises(VideoDecodeError, match="timeout") as e:
        decode(five_seconds, timeout=1e-6)
    assert str(five_seconds) in str(e.value)
    with pytest.raises(VideoDecodeError, match="timeout"):
        Embedder(MODEL).embed_video(five_seconds, timeout=1e-6)
    assert len(decode(five_seconds, timeout=600).timestamps) == 5


def test_frame_size_cap_refuses_before_decoding(five_seconds):
    from vcdfast.decode import decode
    from vcdfast.errors import VideoDecodeError

    with pytest.raises(VideoDecodeError, match="64x48") as e:
        decode(five_seconds, max_pixels=64 * 48 - 1)
    assert str(five_seconds) in str(e.value) and e.value.decoded_until is None  # no frame decoded
    assert len(decode(five_seconds, max_pixels=64 * 48).timestamps) == 5


# --- unreadable ---


def test_unreadable_file_is_named(tmp_path, corpus):
    good, _ = corpus
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(good[0].read_bytes())
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("this user reads mode-000 files (root): a permission error cannot be produced here")
        from vcdfast.index import Index

        with Index.open(tmp_path / "ix", model=MODEL) as ix:
            report = ix.add([str(locked), str(good[0])], on_error="report", progress=False)
            assert report.added == ["good0"] and str(locked) in report.failed[str(locked)]
            assert "ermission" in report.failed[str(locked)], report.failed
            assert ix.verify().ok and len(ix) == 1
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
