"""Resident memory while ingesting one long video: decoding and embedding must stream.

Generates a long video with PyAV (default 3 hours, 160x90, 1 fps, H.264 with 10-minute
GOPs, so it is quick to make and small on disk; cached under bench/out/), then ingests it
into a fresh index (milvus-lite + LevelDB) in a child process and reports that process's
peak resident set (VmHWM) before and after `Index.add`, the wall time, the frames stored
and the video's duration. Target: peak RSS under 1 GiB for a 3-hour video.

    python bench/bench_memory.py [--hours 3] [--fps 1] [--size 160x90] [--model sscd-mobile]

Output: JSON lines (cpu model, SIMD level, threads, git sha on each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from benchenv import cpu_model, git_sha

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "python"))  # the source tree's vcdfast when not installed
TARGET_BYTES = 1 << 30


def proc_status_bytes(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def make_long_video(path: Path, seconds: float, fps: float, size: tuple[int, int]) -> None:
    """A moving gradient with a drifting block: cheap to draw, not trivially compressible."""
    import av
    import numpy as np

    w, h = size
    gx = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    gy = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        rate = Fraction(fps).limit_denominator(1000)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        stream.codec_context.gop_size = int(600 * fps)  # 10-minute GOPs
        for i in range(int(seconds * fps)):
            img = np.empty((h, w, 3), np.uint8)
            img[..., 0] = (gx + i) % 256
            img[..., 1] = (gy + 3 * i) % 256
            img[..., 2] = (gx + gy + 7 * i) % 256
            x, y = (5 * i) % (w - 16), (3 * i) % (h - 16)
            img[y:y + 16, x:x + 16] = 255 - img[y:y + 16, x:x + 16]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)


def child(video: str, model: str) -> None:
    """Runs in a fresh process: open an index, warm the model, then ingest `video`."""
    import numpy as np

    from vcdfast.index import Index

    with tempfile.TemporaryDirectory() as d, Index.open(Path(d) / "ix", model=model) as ix:
        ix.embedder.embed_frames(np.zeros((1, 64, 64, 3), np.uint8))  # model loaded before the baseline
        before = proc_status_bytes("VmHWM")
        start = time.perf_counter()
        report = ix.add(video, progress=False)
        wall = time.perf_counter() - start
        assert report.ok and report.added, report
        record = ix.list()[0]
        check = ix.verify()
        print(json.dumps({"peak_rss_before_add_bytes": before, "peak_rss_bytes": proc_status_bytes("VmHWM"),
                          "ingest_wall_s": round(wall, 2), "frames": record.frames, "duration_s": record.duration,
                          "verify_ok": check.ok, "threads": getattr(ix.embedder, "num_threads", None)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--fps", type=float, default=1.0, help="frame rate of the generated video")
    ap.add_argument("--size", default="160x90")
    ap.add_argument("--model", default="sscd-mobile")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--child", nargs=2, metavar=("VIDEO", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    import vcdfast

    common = {"bench": "memory", "cpu": cpu_model(), "simd_level": vcdfast.simd_level(), "cores": os.cpu_count(),
              "git_sha": git_sha(), "model": args.model}
    size = tuple(int(x) for x in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    video = args.out / f"long_{args.hours:g}h_{args.size}_{args.fps:g}fps.mp4"
    if not video.exists():
        start = time.perf_counter()
        make_long_video(video, args.hours * 3600, args.fps, size)
        print(json.dumps({**common, "stage": "generate", "video": str(video), "seconds": args.hours * 3600,
                          "bytes": video.stat().st_size, "wall_s": round(time.perf_counter() - start, 2)}),
              flush=True)
    done = subprocess.run([sys.executable, __file__, "--child", str(video), args.model], capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"ingest failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({**common, "stage": "ingest", "video": str(video), **result,
                      "peak_rss_mib": round(result["peak_rss_bytes"] / 2**20, 1),
                      "target_bytes": TARGET_BYTES, "under_target": result["peak_rss_bytes"] < TARGET_BYTES}))


if __name__ == "__main__":
    main()
