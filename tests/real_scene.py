"""A real-footage scene that holds the query defaults to account (tests/test_query_real.py)
and vetoes settings in the sweep that chooses them (bench/sweep_query.py --check-real).

opencv-doc (pinned, tests/realdata.py) gives the content: vtest.avi and Megamind.avi are
the copied references, tree.avi (nearly still) a third one. The query copies vtest with a
flip, Megamind as a picture-in-picture and vtest again squeezed into the top half of a
stacked composition (a pan below it), inside pans over unrelated photographs; a second query
of other photographs copies nothing. `check` says what a setting got wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import realdata
from videos import make_video

SIZE, FPS = (320, 240), 10
TOL = 1.5  # seconds: 1 fps sampling
PIP = (0.40, 0.35, 0.95, 0.90)
# (query start, query end, reference, reference start); the rest of the query is photo pans
COPIES = [(5.0, 13.0, "vtest", 30.0), (18.0, 25.0, "Megamind", 2.0), (30.0, 37.0, "vtest", 55.0)]
REFERENCES = ("vtest.avi", "Megamind.avi", "tree.avi")


@dataclass(frozen=True)
class Scene:
    references: list[Path]
    query: Path
    unrelated: Path


def _frames(path):
    import av

    with av.open(str(path)) as c:
        out = [(float(f.time), np.asarray(f.to_image().resize(SIZE, Image.BILINEAR))) for f in c.decode(video=0)]
    times = np.array([t for t, _ in out])
    return times - times[0], [img for _, img in out]


def _at(clip, t):
    times, imgs = clip
    return imgs[int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(imgs) - 1))]


def _pan(photo, seconds):
    img = Image.open(photo).convert("RGB").resize((int(SIZE[0] * 1.5), int(SIZE[1] * 1.5)), Image.BILINEAR)
    arr = np.asarray(img)
    dx, dy = arr.shape[1] - SIZE[0], arr.shape[0] - SIZE[1]

    def fn(t):
        a = min(1.0, max(0.0, t / seconds))
        x, y = int(a * dx), int((1 - a) * dy)
        return arr[y:y + SIZE[1], x:x + SIZE[0]]

    return fn


def build(root: Path) -> Scene:
    """Write the two queries under root (raises realdata.Unavailable without opencv-doc)."""
    data = realdata.package_root("opencv-doc") / realdata.OPENCV_DATA
    clips = {name: _frames(data / f"{name}.avi") for name in ("vtest", "Megamind")}
    photos = {n: _pan(data / n, 8.0) for n in ("HappyFish.jpg", "apple.jpg", "stuff.jpg", "graf1.png",
                                                 "box_in_scene.png", "sudoku.png", "building.jpg")}
    w, h = SIZE
    x0, y0, x1, y1 = (int(v * s) for v, s in zip(PIP, (w, h, w, h)))

    def query(t):
        if t < 5:
            return photos["HappyFish.jpg"](t)
        if t < 13:
            return _at(clips["vtest"], 30.0 + t - 5)[:, ::-1]
        if t < 18:
            return photos["apple.jpg"](t - 13)
        if t < 25:
            frame = photos["stuff.jpg"](t - 18).copy()
            inset = _at(clips["Megamind"], 2.0 + t - 18)
            frame[y0:y1, x0:x1] = np.asarray(Image.fromarray(inset).resize((x1 - x0, y1 - y0), Image.BILINEAR))
            return frame
        if t < 30:
            return photos["HappyFish.jpg"](t - 25 + 4)
        if t < 37:  # stacked: the copy squeezed into the top half, a pan squeezed into the bottom one
            halves = (_at(clips["vtest"], 55.0 + t - 30), photos["building.jpg"](t - 30))
            return np.concatenate([np.asarray(Image.fromarray(a).resize((w, h // 2), Image.BILINEAR)) for a in halves])
        return photos["HappyFish.jpg"](t - 37)

    def unrelated(t):
        return [photos["graf1.png"], photos["box_in_scene.png"], photos["sudoku.png"]][min(2, int(t // 8))](t % 8)

    q = make_video(root / "query.mp4", seconds=38.0, fps=FPS, size=SIZE, content=query)
    u = make_video(root / "unrelated.mp4", seconds=24.0, fps=FPS, size=SIZE, content=unrelated)
    return Scene([data / name for name in REFERENCES], q.path, u.path)


def check(copies_found, unrelated_found) -> list[str]:
    """What the matches of the two queries got wrong (empty: nothing): for each copy, the best
    match on its reference that overlaps it in the query lies within TOL of its times on both
    sides; nothing on the unrelated query."""
    problems = []
    for q0, q1, ref, r0 in COPIES:
        found = [m for m in copies_found if m.ref_id == ref and m.query_start < q1 and m.query_end > q0]
        if not found:
            problems.append(f"{ref} at {q0:g}-{q1:g} s: no match")
            continue
        best = max(found, key=lambda m: m.score)
        if not (abs(best.query_start - q0) <= TOL and abs(best.query_end - q1) <= TOL
                and abs(best.ref_start - r0) <= TOL and abs(best.ref_end - (r0 + q1 - q0)) <= TOL):
            problems.append(f"{ref}: query {best.query_start:.1f}-{best.query_end:.1f} s, reference "
                            f"{best.ref_start:.1f}-{best.ref_end:.1f} s; copied {q0:g}-{q1:g} s from "
                            f"{r0:g}-{r0 + q1 - q0:g} s")
    if unrelated_found:
        problems.append(f"unrelated query: {len(unrelated_found)} matches, best "
                        f"{max(m.score for m in unrelated_found):.3f} on {unrelated_found[0].ref_id}")
    return problems
