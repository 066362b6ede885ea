"""Synthetic footage for the demo and the tests: scenes that SSCD tells apart.

`Scenes(seed)` is a content callable t -> (H, W, 3) uint8: a sequence of scenes (mixed
textures - 1/f colour noise, cells, interference, blocks, rings - with hard-edged shapes, a
slow pan and moving discs), distinct per seed and per scene, that survives re-encoding,
resizing, cropping and flipping as natural footage does. Simpler pictures (a grating and a
few shapes) score 0.6-0.75 with each other under SSCD, enough to stretch matches into
unrelated shots.
"""

from __future__ import annotations

import math

import numpy as np

from vcdfast.query import RAW_COSINE_PARAMS, AlignMethod, QueryOptions

__all__ = ["QUERY_OPTIONS", "Scenes", "scene_image"]


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Colour 1/f^2 noise: the amplitude spectrum of natural images, structure at every scale."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = 1.0
    amp = f ** -2.0
    amp[0, 0] = 0.0
    planes = []
    for _ in range(3):
        plane = np.fft.irfft2(amp * np.exp(1j * rng.uniform(0.0, 2.0 * np.pi, size=amp.shape)), s=(h, w))
        planes.append(plane / (plane.std() + 1e-12))
    img = np.stack(planes, axis=-1) @ rng.normal(0.0, 1.0, size=(3, 3))
    lo, hi = img.min(axis=(0, 1)), img.max(axis=(0, 1))
    return ((img - lo) / (hi - lo + 1e-12)).astype(np.float32)


def _cells(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Voronoi cells in random colours, darkened towards their edges."""
    n = int(rng.integers(6, 24))
    centres = rng.uniform(0, 1, (n, 2)) * [h, w]
    colours = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    shade = 1.0 - 0.8 * np.sqrt(d.min(-1)) / max(h, w)
    return colours[d.argmin(-1)] * np.clip(shade, 0.2, 1.0)[..., None]


def _plasma(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Sums of random plane waves per channel, squashed: smooth interference patterns."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        v = sum(np.sin(2 * np.pi * (k[0] * xx + k[1] * yy) + ph)
                for k, ph in zip(rng.uniform(1, 8, (4, 2)), rng.uniform(0, 2 * np.pi, 4)))
        img[..., c] = 0.5 + 0.5 * np.tanh(v * rng.uniform(0.3, 1.5))
    return img


def _blocks(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Overlapping axis-aligned rectangles on a flat ground."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(0, 1, 3)
    for _ in range(int(rng.integers(10, 40))):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        img[y0:y0 + int(rng.integers(h // 20 + 1, h // 2 + 2)), x0:x0 + int(rng.integers(w // 20 + 1, w // 2 + 2))] = \
            rng.uniform(0, 1, 3)
    return img


def _rings(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Concentric ring patches of random period and extent."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(0, 0.5, 3)
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        period = rng.uniform(0.06, 0.2) * max(h, w)
        mask = (np.sin(2 * np.pi * r / period) > 0) & (r < rng.uniform(0.2, 0.7) * max(h, w))
        img[mask] = rng.uniform(0, 1, 3)
    return img


_TEXTURES = (_noise, _cells, _plasma, _blocks, _rings)


def _draw_shapes(rng: np.random.Generator, img: np.ndarray, count: int) -> None:
    """Hard-edged rectangles, discs and striped discs in random colours, in place."""
    h, w, _ = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        colour = rng.uniform(0.0, 1.0, 3).astype(np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.2) * min(h, w)
        kind = rng.integers(0, 3)
        if kind == 0:
            mask = (np.abs(xx - cx) < r * rng.uniform(0.5, 2.0)) & (np.abs(yy - cy) < r)
        elif kind == 1:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        else:
            angle = rng.uniform(0, np.pi)
            period = rng.uniform(0.05, 0.12) * min(h, w)
            u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2 < (1.5 * r) ** 2) & (np.sin(2 * np.pi * u / period) > 0)
        img[mask] = colour


def scene_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One still, float32 in [0, 1]: a texture ground with 2-4 patches of other textures and
    a few hard shapes. Mixing five texture families keeps unrelated stills apart for SSCD
    (measured: mean cosine 0.27 over 435 pairs) while edits of one still stay close."""
    base = min(1.0, 320.0 / max(h, w))  # textures are drawn at <= 320 px, then upscaled
    th, tw = max(8, int(h * base)), max(8, int(w * base))
    img = _TEXTURES[rng.integers(len(_TEXTURES))](rng, th, tw)
    yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
    for _ in range(int(rng.integers(2, 5))):
        tex = _TEXTURES[rng.integers(len(_TEXTURES))](rng, th, tw)
        cy, cx = rng.uniform(0, th), rng.uniform(0, tw)
        ry, rx = rng.uniform(0.15, 0.5) * th, rng.uniform(0.15, 0.5) * tw
        if rng.random() < 0.5:
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        else:
            mask = (np.abs(yy - cy) < ry) & (np.abs(xx - cx) < rx)
        img[mask] = tex[mask]
    if (th, tw) != (h, w):
        from PIL import Image

        img = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c], np.float32))  # mode "F"
                                   .resize((w, h), Image.BILINEAR)) for c in range(3)], axis=-1)
    _draw_shapes(rng, img, count=int(rng.integers(2, 6)))
    return np.clip(img, 0.0, 1.0)


class Scenes:
    """Content callable t -> (H, W, 3) uint8: scene k covers [k*scene_seconds, (k+1)*scene_seconds).

    Each scene is drawn from (seed, k): a `scene_image` panned slowly plus three discs moving
    across it, so consecutive frames differ a little, scenes differ a lot and two seeds share
    nothing. Scenes are cached, so generating a video costs one still per scene.
    """

    def __init__(self, seed: int = 0, size: tuple[int, int] = (160, 120), scene_seconds: float = 4.0):
        self.seed = int(seed)
        self.size = (int(size[0]), int(size[1]))
        self.scene_seconds = float(scene_seconds)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}

    def _scene(self, k: int):
        if k not in self._cache:
            if len(self._cache) > 2:
                self._cache.pop(next(iter(self._cache)))
            w, h = self.size
            rng = np.random.default_rng([self.seed, k, 0x5CE7E])
            margin = max(4, int(0.08 * max(w, h)))
            canvas = (scene_image(rng, h + 2 * margin, w + 2 * margin) * 255.0 + 0.5).astype(np.uint8)
            # movers: x0, y0 (px), vx, vy (px/s), radius (px), colour (0-255)
            movers = np.column_stack([
                rng.uniform(0, w, 3), rng.uniform(0, h, 3),
                rng.uniform(-0.15, 0.15, 3) * w, rng.uniform(-0.15, 0.15, 3) * h,
                rng.uniform(0.04, 0.09, 3) * min(w, h), rng.uniform(0, 255, (3, 3)),
            ])
            pan = rng.uniform(-1.0, 1.0, 2) * margin / self.scene_seconds  # px/s, stays inside the margin
            self._cache[k] = (canvas, movers, pan, margin)
        return self._cache[k]

    def __call__(self, t: float) -> np.ndarray:
        k = int(math.floor(t / self.scene_seconds))
        canvas, movers, pan, margin = self._scene(k)
        w, h = self.size
        local = t - k * self.scene_seconds
        ox = int(np.clip(margin + pan[0] * local, 0, 2 * margin))
        oy = int(np.clip(margin + pan[1] * local, 0, 2 * margin))
        frame = canvas[oy:oy + h, ox:ox + w].copy()
        for x0, y0, vx, vy, r, *colour in movers:
            cx, cy = (x0 + vx * local) % w, (y0 + vy * local) % h
            y_lo, y_hi = max(0, int(cy - r)), min(h, int(cy + r) + 1)
            x_lo, x_hi = max(0, int(cx - r)), min(w, int(cx + r) + 1)
            yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi]
            frame[y_lo:y_hi, x_lo:x_hi][(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = colour
        return frame


# Query options for generated scenes: unrelated ones score up to 0.65 cosine under SSCD, so the
# demo and the mechanics tests align on the whole frame with raw-cosine thresholds above that;
# the defaults (vcdfast.query.QueryOptions) are chosen on real footage instead. Their ends
# stay on the sampling grid, as before refinement (bench_e2e's row of these defaults), and do
# not grow along their lines: that floor is on normalised similarity, which raw cosine is not.
QUERY_OPTIONS = QueryOptions(views=("full",), background=None, votes="sum", method=AlignMethod.TN, min_score=None,
                             full_score_seconds=None, params=RAW_COSINE_PARAMS, extend_min_sim=None, refine_steps=0)
