"""The query defaults on real footage (opencv-doc, pinned; tree.avi, nearly still, as a third
reference): copies with a flip and a picture-in-picture inside pans over unrelated
photographs are found at the right times, and a query of unrelated photographs matches
nothing. This is where the defaults are held to account in the tests; the generated-video
tests check mechanics with options of their own."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import realdata
from vcdfast.index import Index
from videos import make_video

SIZE, FPS = (320, 240), 10
TOL = 1.5  # seconds: 1 fps sampling
PIP = (0.40, 0.35, 0.95, 0.90)
# (query start, query end, reference, reference start); the rest of the query is photo pans
COPIES = [(5.0, 13.0, "vtest", 30.0), (18.0, 25.0, "Megamind", 2.0)]


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


@pytest.fixture(scope="module")
def real(opencv_doc, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    data = opencv_doc / realdata.OPENCV_DATA
    clips = {name: _frames(data / f"{name}.avi") for name in ("vtest", "Megamind")}
    photos = {n: _pan(data / n, 8.0) for n in ("HappyFish.jpg", "apple.jpg", "stuff.jpg", "graf1.png",
                                                 "box_in_scene.png", "sudoku.png")}
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
        return photos["HappyFish.jpg"](t - 25 + 4)

    def unrelated(t):
        return [photos["graf1.png"], photos["box_in_scene.png"], photos["sudoku.png"]][min(2, int(t // 8))](t % 8)

    q = make_video(root / "query.mp4", seconds=30.0, fps=FPS, size=SIZE, content=query)
    u = make_video(root / "unrelated.mp4", seconds=24.0, fps=FPS, size=SIZE, content=unrelated)
    ix = Index.open(root / "ix")
    ix.add([data / "vtest.avi", data / "Megamind.avi", data / "tree.avi"], progress=False)
    yield {"index": ix, "query": q.path, "unrelated": u.path}
    ix.close()


def test_real_copies_are_found_at_their_times(real):
    matches = real["index"].query(real["query"])
    for q0, q1, ref, r0 in COPIES:
        found = [m for m in matches if m.ref_id == ref]
        assert found, (ref, matches)
        best = max(found, key=lambda m: m.score)
        assert abs(best.query_start - q0) <= TOL and abs(best.query_end - q1) <= TOL, best
        assert abs(best.ref_start - r0) <= TOL and abs(best.ref_end - (r0 + q1 - q0)) <= TOL, best


def test_real_unrelated_query_matches_nothing(real):
    assert real["index"].query(real["unrelated"]) == []
