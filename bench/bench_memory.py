"""Resident memory while ingesting long videos: decoding and embedding must stream.

Generates long videos with PyAV (default 2 min, 30 min and 3 h; 160x90, 1 fps, H.264 with
10-minute GOPs, so they are quick to make and small on disk; cached under bench/out/), then
for each length runs, each in a fresh child process:
- embed:  Embedder.embed_video alone (decode thread + queue + ONNX Runtime), no index;
- ingest: Index.add into a fresh index (milvus-lite + LevelDB).
Each reports the child's peak resident set (VmHWM) before and after, its resident set
sampled every 0.25 s during the call (at 10/50/90/100 % of the call's wall time: a leak or
a growing queue rises along the run, a one-off allocation is a step at its start), the
bytes of the result (vectors + timestamps), the wall time and the frames. If the peak does
not depend on the length, the memory is not in what grows with the video. Target: peak RSS
under 1 GiB for a 3-hour video.

    python bench/bench_memory.py [--lengths 2m,30m,3h] [--modes embed,ingest] [--model sscd-mobile]
                                 [--batch-size N]

Output: JSON lines (cpu model, SIMD level, threads, git sha on each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
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


class RssSampler:
    """VmRSS of this process every `period` seconds while in the `with` block."""

    def __init__(self, period: float = 0.25):
        self.period, self.samples, self._stop = period, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.samples.append(proc_status_bytes("VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def along(self) -> dict:
        """RSS (MiB) at 10/50/90/100 % of the sampled time."""
        s = self.samples or [proc_status_bytes("VmRSS")]
        return {f"rss_at_{int(f * 100)}pct_mib": round(s[round(f * (len(s) - 1))] / 2**20, 1)
                for f in (0.1, 0.5, 0.9, 1.0)}


def child(video: str, model: str, mode: str, batch_size: int) -> None:
    """Runs in a fresh process: load the model (warm), then embed or ingest `video`."""
    import numpy as np

    from vcdfast.decode import Sampling
    from vcdfast.embed import Embedder
    from vcdfast.index import Index

    with tempfile.TemporaryDirectory() as d:
        ix = Index.open(Path(d) / "ix", model=model) if mode == "ingest" else None
        emb = ix.embedder if ix is not None else Embedder(model, batch_size=batch_size or None)
        emb.embed_frames(np.zeros((1, 64, 64, 3), np.uint8))  # model loaded before the baseline
        before = proc_status_bytes("VmHWM")
        start = time.perf_counter()
        with RssSampler() as rss:
            if ix is None:
                result = emb.embed_video(video, Sampling())
                frames, duration = len(result), result.info.duration
                result_bytes = result.vectors.nbytes + result.timestamps.nbytes
            else:
                report = ix.add(video, progress=False)
                assert report.ok and report.added, report
        wall = time.perf_counter() - start
        record = {"peak_rss_before_bytes": before, "peak_rss_bytes": proc_status_bytes("VmHWM"), **rss.along(),
                  "wall_s": round(wall, 2), "batch_size": emb.batch_size}
        if ix is None:
            record.update(frames=frames, duration_s=duration, result_mib=round(result_bytes / 2**20, 2))
        else:
            stored = ix.videos()[0]
            record.update(frames=stored.frames, duration_s=stored.duration, verify_ok=ix.verify().ok)
            ix.close()
        print(json.dumps(record))


def parse_length(text: str) -> float:
    """'2m', '30m', '3h', '90s' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if not text or text[-1] not in units:
        raise argparse.ArgumentTypeError(f"length {text!r}: give a number and s, m or h (e.g. 30m)")
    return float(text[:-1]) * units[text[-1]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="2m,30m,3h", help="video lengths, comma-separated (s, m or h)")
    ap.add_argument("--modes", default="embed,ingest", help="embed (Embedder.embed_video) and/or ingest (Index.add)")
    ap.add_argument("--fps", type=float, default=1.0, help="frame rate of the generated video")
    ap.add_argument("--size", default="160x90")
    ap.add_argument("--model", default="sscd-mobile")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="Embedder batch size in embed mode (default: the Embedder's; ingest uses the Index's)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--child", nargs=4, metavar=("VIDEO", "MODEL", "MODE", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        video, model, mode, batch = args.child
        child(video, model, mode, int(batch))
        return

    import vcdfast

    common = {"bench": "memory", "cpu": cpu_model(), "simd_level": vcdfast.simd_level(), "cores": os.cpu_count(),
              "git_sha": git_sha(), "model": args.model}
    size = tuple(int(x) for x in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    for length in args.lengths.split(","):
        seconds = parse_length(length)
        video = args.out / f"long_{seconds:g}s_{args.size}_{args.fps:g}fps.mp4"
        if not video.exists():
            start = time.perf_counter()
            make_long_video(video, seconds, args.fps, size)
            print(json.dumps({**common, "stage": "generate", "video": str(video), "seconds": seconds,
                              "bytes": video.stat().st_size, "wall_s": round(time.perf_counter() - start, 2)}),
                  flush=True)
        for mode in args.modes.split(","):
            done = subprocess.run([sys.executable, __file__, "--child", str(video), args.model, mode,
                                   str(args.batch_size or 0)], capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{mode} of {video} failed:\n{done.stderr[-4000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps({**common, "stage": mode, "length": length, "video": str(video), **result,
                              "peak_rss_mib": round(result["peak_rss_bytes"] / 2**20, 1),
                              "target_bytes": TARGET_BYTES, "under_target": result["peak_rss_bytes"] < TARGET_BYTES}),
                  flush=True)


if __name__ == "__main__":
    main()
