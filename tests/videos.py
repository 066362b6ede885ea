"""Real test videos, generated with PyAV: structured content, known frame times, edits.

Everything here writes real files through FFmpeg's encoders and muxers (via PyAV), so the
tests that use them exercise the same demux/decode paths as user files.

- `make_video(path, ...)` encodes `content(t)` at known presentation times (constant or
  variable frame rate, any start offset, display rotation, optional audio) and returns a
  `GeneratedVideo` that records those times.
- `Scenes(seed)` (from `vcdfast.synthetic`, shared with `vcdfast demo`) is the default
  content: scenes distinct per seed and per scene that survive edits as natural footage does.
- Transforms (`crop`, `hflip`, `resize`, `brightness`, `overlay_box`, `overlay_text`) act
  on frames; `compose`, `picture_in_picture`, `retime` and `splice` build query content that
  copies segments.
- `make_audio`, `make_truncated`, `make_zero_bytes`, `make_not_a_video` make bad inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from vcdfast.synthetic import Scenes, scene_image  # noqa: F401  (re-exported: the tests' default content)

Content = Callable[[float], np.ndarray]
Transform = Callable[[np.ndarray], np.ndarray]

# codec -> (encoder name, default container suffix)
CODECS = {
    "h264": ("libx264", ".mp4"),
    "vp9": ("libvpx-vp9", ".webm"),
    "mpeg4": ("mpeg4", ".mp4"),
    "mjpeg": ("mjpeg", ".mkv"),
    "hevc": ("libx265", ".mp4"),
}


@dataclass
class GeneratedVideo:
    """What the generator wrote: `times` are the presentation times (s) it gave the frames, on
    the container's clock; `relative_times` are the same measured from the first frame."""

    path: Path
    times: np.ndarray
    size: tuple[int, int]  # displayed (width, height), after rotation
    codec: str
    fps: float
    rotation: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def start_time(self) -> float:
        return float(self.times[0])

    @property
    def relative_times(self) -> np.ndarray:
        return self.times - self.times[0]

    @property
    def duration(self) -> float:
        """Last frame's time + its display duration (the previous interval, or 1/fps)."""
        last = np.diff(self.times)[-1] if len(self.times) > 1 else 1.0 / self.fps
        return float(self.relative_times[-1] + last)


# --------------------------------------------------------------------------- content


def clock(size: tuple[int, int] = (160, 120)) -> Content:
    """A frame whose left half encodes t in milliseconds as 16 binary blocks (readable after
    lossy coding) and whose top-left corner is marked red, to check times and orientation."""
    w, h = size

    def frame(t: float) -> np.ndarray:
        img = np.full((h, w, 3), 40, np.uint8)
        img[: h // 4, : w // 4] = (255, 0, 0)
        value = int(round(t * 1000.0))
        bw = max(1, w // 16)
        for bit in range(16):
            if value >> bit & 1:
                img[h // 2:, bit * bw:(bit + 1) * bw] = 255
        return img

    return frame


def read_clock(frame: np.ndarray) -> int:
    """Inverse of `clock`: the encoded time in milliseconds."""
    h, w, _ = frame.shape
    bw = max(1, w // 16)
    row = frame[h // 2:, :, :].mean(axis=(0, 2))
    return sum(1 << bit for bit in range(16) if row[bit * bw:(bit + 1) * bw].mean() > 128)


# --------------------------------------------------------------------------- transforms


def crop(x0: float, y0: float, x1: float, y1: float) -> Transform:
    """Keep the box given as fractions of width/height."""

    def fn(img: np.ndarray) -> np.ndarray:
        h, w, _ = img.shape
        return img[int(y0 * h):int(math.ceil(y1 * h)), int(x0 * w):int(math.ceil(x1 * w))]

    return fn


def hflip(img: np.ndarray) -> np.ndarray:
    return img[:, ::-1]


def resize(size: tuple[int, int]) -> Transform:
    """Bilinear resize to (width, height) with Pillow."""
    from PIL import Image

    def fn(img: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize(size, Image.BILINEAR))

    return fn


def brightness(factor: float) -> Transform:
    def fn(img: np.ndarray) -> np.ndarray:
        return np.clip(img.astype(np.float32) * factor, 0, 255).astype(np.uint8)

    return fn


def overlay_box(x0: float, y0: float, x1: float, y1: float, colour=(255, 255, 255)) -> Transform:
    """Paint an opaque box (fractions of width/height), like a logo or a blurred region."""

    def fn(img: np.ndarray) -> np.ndarray:
        out = img.copy()
        h, w, _ = img.shape
        out[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)] = colour
        return out

    return fn


def overlay_text(text: str, xy: tuple[float, float] = (0.05, 0.05), colour=(255, 255, 0)) -> Transform:
    """Draw text with Pillow's built-in font at a position given as fractions."""
    from PIL import Image, ImageDraw

    def fn(img: np.ndarray) -> np.ndarray:
        pil = Image.fromarray(np.ascontiguousarray(img))
        h, w, _ = img.shape
        ImageDraw.Draw(pil).text((xy[0] * w, xy[1] * h), text, fill=tuple(colour))
        return np.asarray(pil)

    return fn


def compose(content: Content, *transforms: Transform) -> Content:
    """content(t) passed through the transforms, left to right."""

    def fn(t: float) -> np.ndarray:
        img = content(t)
        for tr in transforms:
            img = tr(img)
        return img

    return fn


def picture_in_picture(inner: Content, background: Content, box: tuple[float, float, float, float],
                       mirrored: bool = False) -> Content:
    """background(t) with inner(t) resized into box ([x0, y0, x1, y1] as shares of the frame),
    mirrored left-right if asked."""
    from PIL import Image

    def fn(t: float) -> np.ndarray:
        frame = background(t).copy()
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(box, (w, h, w, h)))
        picture = np.ascontiguousarray(inner(t)[:, ::-1] if mirrored else inner(t))
        frame[y0:y1, x0:x1] = np.asarray(Image.fromarray(picture).resize((x1 - x0, y1 - y0), Image.BILINEAR))
        return frame

    return fn


def retime(content: Content, offset: float = 0.0, speed: float = 1.0) -> Content:
    """A copy that starts at `offset` seconds into `content` and plays at `speed`."""
    return lambda t: content(offset + speed * t)


def splice(parts: Sequence[tuple[Content, float]]) -> Content:
    """Play each content for its duration (seconds), one after another: parts = [(content, dur), ...].
    Combine with `retime` to plant copied segments: splice([(a, 3), (retime(ref, 10), 5), (b, 4)])."""
    starts = np.cumsum([0.0] + [float(d) for _, d in parts])

    def fn(t: float) -> np.ndarray:
        i = int(np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(parts) - 1))
        return parts[i][0](t - starts[i])

    return fn


# --------------------------------------------------------------------------- writers


def _vfr_times(rng: np.random.Generator, seconds: float, fps: float) -> list[float]:
    """Irregular intervals between 0.3/fps and 2.5/fps, mean about 1/fps."""
    times, t = [], 0.0
    while t < seconds - 1e-9:
        times.append(t)
        t += rng.choice([0.3, 0.7, 1.0, 1.0, 1.5, 2.5]) / fps
    return times


def make_video(
    path,
    *,
    seconds: float = 2.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    codec: str = "h264",
    content: Content | str = "scenes",
    seed: int = 0,
    start_time: float = 0.0,
    vfr: bool = False,
    times: Sequence[float] | None = None,
    rotation: int = 0,
    audio: bool = False,
    gop: int | None = None,
    bframes: bool = True,
    quality: int | None = None,
    options: dict | None = None,
    title: str | None = None,
) -> GeneratedVideo:
    """Encode content(t) for t in the frame times and return what was written.

    size is the displayed (width, height). Frame times are `times` if given, else i/fps (or
    irregular VFR intervals) for t < seconds, all shifted by start_time on the container clock.
    rotation (0/90/180/270, counter-clockwise display rotation as FFmpeg's display matrix
    defines it) stores the frames rotated the other way, so a decoder that honours the
    metadata shows content(t) upright. gop is the keyframe interval in frames. title is the
    container's title tag.
    content: a callable, or "scenes" (Scenes(seed, size)) or "clock" (clock(size)).
    """
    import av

    path = Path(path)
    if codec not in CODECS:
        raise ValueError(f"codec {codec!r} not in {sorted(CODECS)}")
    encoder, _ = CODECS[codec]
    if isinstance(content, str):
        content = {"scenes": lambda: Scenes(seed, size), "clock": lambda: clock(size)}[content]()
    rng = np.random.default_rng([seed, 0x7111E])
    if times is None:
        times = _vfr_times(rng, seconds, fps) if vfr else [i / fps for i in range(int(math.ceil(seconds * fps - 1e-9)))]
    rel = [float(t) for t in times]
    if rotation % 90:
        raise ValueError("rotation must be a multiple of 90")
    quarter_turns = (rotation // 90) % 4
    w, h = size
    enc_w, enc_h = (h, w) if quarter_turns % 2 else (w, h)

    # Millisecond clock (Matroska/WebM's native unit); MP4 rescales it exactly.
    tb = Fraction(1, 1000)
    pts = [int(round((start_time + t) * 1000)) for t in rel]
    with av.open(str(path), "w") as out:
        if title is not None:
            out.metadata["title"] = title
        stream = out.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = enc_w, enc_h
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.codec_context.time_base = tb
        stream.time_base = tb
        opts = {}
        if codec == "h264":
            opts = {"preset": "ultrafast" if quality is None else "veryfast", "crf": str(quality or 23)}
            if not bframes:
                opts["bf"] = "0"
        elif codec == "hevc":
            opts = {"preset": "ultrafast", "crf": str(quality or 28), "x265-params": "log-level=none"}
        elif codec == "vp9":
            opts = {"deadline": "realtime", "cpu-used": "8", "crf": str(quality or 32), "b": "0"}
        elif codec in ("mpeg4", "mjpeg"):
            stream.codec_context.qscale = quality or 4  # also sets the QSCALE flag
        opts.update(options or {})
        stream.options = opts
        if gop is not None:
            stream.codec_context.gop_size = gop
        if quarter_turns:
            stream.set_display_rotation(rotation)
        astream = None
        if audio:
            webm = path.suffix == ".webm"  # WebM takes Opus (48 kHz), not AAC
            astream = out.add_stream("libopus" if webm else "aac", rate=48000 if webm else 16000, layout="mono")
        for p, t in zip(pts, rel):
            img = np.ascontiguousarray(content(t))
            if img.shape != (h, w, 3):
                img = resize((w, h))(img)
            # FFmpeg's display rotation is counter-clockwise; store the clockwise-rotated frame
            stored = np.ascontiguousarray(np.rot90(img, -quarter_turns)) if quarter_turns else img
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = p
            frame.time_base = tb
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            _write_tone(astream, out, start_time, rel[-1] + 1.0 / fps if rel else seconds)
    return GeneratedVideo(path=path, times=np.asarray(pts, np.float64) / 1000.0, size=(w, h), codec=codec,
                          fps=float(fps), rotation=rotation)


def _write_tone(astream, out, start: float, seconds: float) -> None:
    import av

    rate = astream.codec_context.sample_rate
    n = int(seconds * rate)
    t = np.arange(n) / rate
    samples = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)[None, :]
    chunk = 1024
    for i in range(0, n, chunk):
        frame = av.AudioFrame.from_ndarray(samples[:, i:i + chunk], format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = int(round(start * rate)) + i
        frame.time_base = Fraction(1, rate)
        for packet in astream.encode(frame):
            out.mux(packet)
    for packet in astream.encode():
        out.mux(packet)


def make_audio(path, *, seconds: float = 2.0) -> Path:
    """An audio-only file (AAC in MP4/M4A)."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as out:
        astream = out.add_stream("aac", rate=16000, layout="mono")
        _write_tone(astream, out, 0.0, seconds)
    return path


def make_truncated(src, dst, fraction: float = 0.5) -> Path:
    """The first `fraction` of src's bytes, as a download cut short leaves them."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def make_zero_bytes(path) -> Path:
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_not_a_video(path) -> Path:
    path = Path(path)
    path.write_text("this is a text file, not a video\n" * 50)
    return path


def transcode(src, dst, *, size: tuple[int, int] | None = None, codec: str = "h264",
              transforms: Sequence[Transform] = (), quality: int | None = None) -> GeneratedVideo:
    """Decode src with PyAV (upright, at its PTS times) and re-encode it edited: a real
    re-encoded copy, decoded and lossy-coded twice."""
    import av

    frames, times = [], []
    with av.open(str(src)) as inp:
        vs = inp.streams.video[0]
        rate = float(vs.average_rate or 25)
        for f in inp.decode(vs):
            img = f.to_ndarray(format="rgb24")
            rot = int(getattr(f, "rotation", 0) or 0)
            if rot % 360:
                img = np.rot90(img, (rot // 90) % 4)
            for tr in transforms:
                img = tr(img)
            frames.append(img)
            times.append(float(f.pts * f.time_base))
    if size is None:
        size = (frames[0].shape[1], frames[0].shape[0])
    t0 = times[0]
    lookup = dict(zip([round(t - t0, 6) for t in times], frames))
    return make_video(dst, times=[t - t0 for t in times], fps=rate, size=size, codec=codec, quality=quality,
                      content=lambda t: lookup[round(t, 6)])
