"""`vcdfast demo`: make a few videos, index them, query a video that copies two edited
segments, and show the matches next to the truth. Needs no data and no server: the videos
are drawn here and written with PyAV, the index is LevelDB plus its in-process search file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vcdfast.synthetic import QUERY_OPTIONS, Scenes

__all__ = ["DemoResult", "run_demo"]

SIZE = (192, 144)  # width, height
FPS = 4
SHOT_SECONDS = 2.0  # shots shorter than the copies, so a copy's start and end are visible


def footage(seed: int) -> Scenes:
    return Scenes(seed, SIZE, scene_seconds=SHOT_SECONDS)


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


def run_demo(folder=None, *, model: str | None = None, progress: bool | None = None) -> DemoResult:
    """Write three 20 s reference videos and a 24 s query into `folder` (a temp dir by
    default), index the references with `model` (None: a new index's default), query, and
    return the matches with the truth."""
    from vcdfast.index import Index

    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="vcdfast-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    refs = {f"ref{i}": footage(i) for i in (1, 2, 3)}
    paths = [write_video(folder / f"{name}.mp4", content, 20.0) for name, content in refs.items()]
    # the query: 4 s of other footage, ref1 7-15 s cropped and brighter, 4 s other, ref3 5-13 s mirrored
    other = footage(100)
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
        ix.add(paths, progress=progress)  # AddError if any failed
        matches = ix.query(query, options=QUERY_OPTIONS)  # generated scenes: see vcdfast.synthetic
    return DemoResult(folder, paths, query, truth, matches)
