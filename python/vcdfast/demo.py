"""`vcdfast demo`: make a few videos, index them, query a video that copies two edited
segments, and show the matches next to the truth. Needs no data and no server: the videos
are drawn here and written with PyAV, the index is a milvus-lite file plus LevelDB.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["DemoResult", "run_demo"]

SIZE = (192, 144)  # width, height
FPS = 4
SHOT_SECONDS = 2.0


def _still(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One shot's picture: coloured gratings under hard-edged rectangles and discs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for _ in range(3):
        angle, freq, phase = rng.uniform(0, math.pi), rng.uniform(0.02, 0.15), rng.uniform(0, 2 * math.pi)
        wave = 0.5 + 0.5 * np.sin(freq * (xx * math.cos(angle) + yy * math.sin(angle)) + phase)
        img += wave[..., None] * rng.uniform(0, 1, 3)
    img /= img.max()
    for _ in range(int(rng.integers(4, 9))):
        colour = rng.uniform(0, 1, 3)
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        if rng.random() < 0.5:
            x1, y1 = x0 + rng.uniform(0.1, 0.4) * w, y0 + rng.uniform(0.1, 0.4) * h
            img[int(y0):int(y1), int(x0):int(x1)] = colour
        else:
            r = rng.uniform(0.05, 0.2) * min(w, h)
            img[(xx - x0) ** 2 + (yy - y0) ** 2 < r * r] = colour
    return (img * 255).astype(np.uint8)


class Footage:
    """A video's content t -> (H, W, 3) uint8: shots of SHOT_SECONDS, each a still that pans
    slowly, distinct per (seed, shot)."""

    def __init__(self, seed: int):
        self.seed = seed
        self._stills: dict[int, np.ndarray] = {}

    def __call__(self, t: float) -> np.ndarray:
        k = int(t // SHOT_SECONDS)
        w, h = SIZE
        if k not in self._stills:
            self._stills[k] = _still(np.random.default_rng([self.seed, k]), h + 16, w + 16)
        dx = int(8 * (t - k * SHOT_SECONDS) / SHOT_SECONDS)
        return self._stills[k][8:8 + h, dx:dx + w]


def _crop_resize(img: np.ndarray, margin: float) -> np.ndarray:
    from PIL import Image

    h, w = img.shape[:2]
    dy, dx = int(h * margin), int(w * margin)
    return np.asarray(Image.fromarray(img[dy:h - dy, dx:w - dx]).resize((w, h), Image.BILINEAR))


def write_video(path: Path, content, seconds: float) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(int(round(seconds * FPS))):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(content(i / FPS)), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@dataclass
class DemoResult:
    folder: Path
    references: list[Path]
    query: Path
    truth: list[tuple[str, float, float, float, float]]  # ref_id, query start/end, ref start/end
    matches: list


def run_demo(folder=None, *, model: str = "sscd-mobile", progress: bool | None = None) -> DemoResult:
    """Write three 20 s reference videos and a 24 s query into `folder` (a temp dir by
    default), index the references, query, and return the matches with the truth."""
    from vcdfast.index import Index

    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="vcdfast-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    refs = {f"ref{i}": Footage(i) for i in (1, 2, 3)}
    paths = [write_video(folder / f"{name}.mp4", content, 20.0) for name, content in refs.items()]
    # the query: 4 s of other footage, ref1 7-15 s cropped and brighter, 4 s other, ref3 5-13 s mirrored
    other = Footage(100)
    parts = [
        (4.0, lambda t: other(t)),
        (8.0, lambda t: np.clip(_crop_resize(refs["ref1"](7.0 + t), 0.1) * 1.2, 0, 255).astype(np.uint8)),
        (4.0, lambda t: other(20.0 + t)),
        (8.0, lambda t: np.ascontiguousarray(refs["ref3"](5.0 + t)[:, ::-1])),
    ]
    starts = np.cumsum([0.0] + [d for d, _ in parts])

    def query_content(t: float) -> np.ndarray:
        i = min(int(np.searchsorted(starts, t, side="right")) - 1, len(parts) - 1)
        return parts[i][1](t - starts[i])

    query = write_video(folder / "query.mp4", query_content, float(starts[-1]))
    truth = [("ref1", 4.0, 12.0, 7.0, 15.0), ("ref3", 16.0, 24.0, 5.0, 13.0)]
    with Index.open(folder / "index", model=model) as ix:
        report = ix.add(paths, progress=progress)
        if not report.ok:
            raise RuntimeError(f"demo indexing failed: {report.failed}")
        matches = ix.query(query)
    return DemoResult(folder, paths, query, truth, matches)
