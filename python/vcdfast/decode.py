"""Frame sampling by time with PyAV.

Times come from each frame's PTS (`pts × time_base`), measured from the video stream's
start, so variable-frame-rate files and files whose clock starts late give correct
seconds. A sampling target T picks the frame on screen at T (the last frame with
time <= T); a frame is emitted at most once. Display rotation is applied. Only sampled
frames are converted to RGB (and resized inside swscale), so decoding is the only
per-frame cost; frames are streamed, so memory does not grow with duration.

Frames no target can pick are not decoded where the codec can leave them out (H.264,
MPEG-1/2, HEVC of one temporal sub-layer): a non-reference frame (a B-frame nothing is predicted from) changes no other
frame's pixels, so the sampled frames are exactly those of decoding everything
(`_Presented`). At 1 fps this
leaves out 41% of the frames of the tuning split's 40 references (x264 with B-frames, 15 fps)
and 20% of their decoding CPU; 35-41% of it on 720p H.264 at 30 fps (bench/bench_frames.py).

Guards bound what one input can cost: only regular files are opened (a FIFO or device can
be an endless stream, a folder is no video); decoding stops with VideoDecodeError past
`max_duration` seconds of media or `timeout` seconds of wall clock (checked per decoded
frame), and streams of more than `max_pixels` pixels per frame are refused before decoding.

Damaged files keep what decodes: a stream that stops well short of its declared duration
(a download cut short) or that fails to decode from some point on yields the frames before
the damage, then ends with a PartialDecodeWarning naming the file, the decoded span and the
declared span (`VideoInfo.damage` says the same). strict=True raises VideoDecodeError there
instead, as the guards do. The decoded span ends at the last frame decoded, so where the
frames just before the damage were left out it ends up to those few frames earlier than
decoding everything would say.
"""

from __future__ import annotations

import heapq
import math
import os
import stat
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields

import numpy as np

from vcdfast.cuts import CutFinder
from vcdfast.errors import PartialDecodeWarning, VideoDecodeError

__all__ = ["DecodedVideo", "FrameStream", "MAX_DURATION_S", "MAX_PIXELS", "Sampling", "VideoInfo", "check_regular_file",
           "decode", "iter_frames", "probe"]

MAX_DURATION_S = 24 * 3600.0  # default media-time limit of one input
MAX_PIXELS = 8192 * 8192  # default frame-size limit: one such RGB frame is 192 MiB

_EPS = 1e-6  # seconds; absorbs float error of pts × time_base against k / fps
_SEEK_MIN_S = 2.0  # seek to `start` only when it is this far in; below, decoding forward is as cheap
_SEEK_BACK_S = 2.0  # a seek that missed `start` is tried again this much before it, then 4x further each time
# packets either side searched for a frame's successor in presentation order: more than a
# decoder reorders (H.264 and HEVC hold at most 16 frames)
_REORDER_WINDOW = 32
_SKIP_SLACK = 1e-3  # s: a frame within this of a target's reach is decoded
# decoders that drop a non-reference frame and nothing else, each frame keeping its packet's pts
# (tests/test_decode.py): H.264 drops slices of nal_ref_idc 0, which nothing may reference, and
# MPEG-1/2 drop B-pictures. HEVC drops every sub-layer non-reference picture, which a picture of
# a higher temporal sub-layer may still reference, so only streams of one sub-layer (_drops_cleanly).
# Not MPEG-4 part 2: in DivX/Xvid AVIs a packet can hold a P- and a B-frame ("packed B-frames"),
# and dropping one shifts the others' pts (opencv-doc's Megamind.avi).
_DROPPABLE_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video"})


@dataclass(frozen=True)
class Sampling:
    """Which frames to take: the frame on screen at each target, however long before it that
    frame came up (at `start` too), each frame once. fps: targets every 1/fps s from `start`
    (None: every frame, from the one on screen at `start`); num_samples: N targets spread
    uniformly over [start, end or duration) instead of fps; max_frames: stop after this many.
    start/end in seconds from the stream start."""

    fps: float | None = 1.0
    start: float | None = None
    end: float | None = None
    max_frames: int | None = None
    num_samples: int | None = None

    def __post_init__(self):
        for name in ("fps", "start", "end"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ValueError(f"Sampling.{name} must be a finite number or None, got {v!r}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"Sampling.fps must be > 0 (or None for every frame), got {self.fps}")
        if self.start is not None and self.start < 0:
            raise ValueError(f"Sampling.start must be >= 0 seconds, got {self.start}")
        if self.end is not None and self.end <= (self.start or 0.0):
            raise ValueError(f"Sampling.end ({self.end}) must be greater than start ({self.start or 0.0})")
        for name in ("max_frames", "num_samples"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"Sampling.{name} must be a positive int or None, got {v!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Sampling:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown Sampling fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class VideoInfo:
    """What the container says about the video stream. width/height are as displayed (after
    rotation); duration is seconds from the stream start (None when the file does not say).
    For a damaged file decoded leniently, `damage` says what was kept and why, and
    `decoded_end` is where the decodable part ends (s); both None for a whole stream. `cuts`:
    the times (s) of the hard cuts among the frames decoded (vcdfast.cuts), when decoding was
    asked to find them (None otherwise)."""

    path: str
    duration: float | None
    width: int
    height: int
    rotation: int
    codec: str
    avg_fps: float | None
    start_time: float
    frame_count: int | None
    damage: str | None = None
    decoded_end: float | None = None
    cuts: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DecodedVideo:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    timestamps: np.ndarray  # (T,) float64 seconds from the stream start
    info: VideoInfo


def check_regular_file(path) -> None:
    """VideoDecodeError unless `path` is a regular file (or does not exist: opening reports
    that): a FIFO, device or socket can stream forever and a folder is no video."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a special file")
        raise VideoDecodeError(path, f"not a regular file but {kind}; a stream that may never end cannot be "
                                     "indexed (record it to a file first)")


def _lenient_tags(av) -> dict:
    """av.open's arguments that keep a file whose tags are not UTF-8 readable: PyAV before 19
    decodes tags strictly and refuses such a file at open; 19 reads them with surrogateescape
    and no longer takes the argument."""
    return {"metadata_errors": "ignore"} if int(av.__version__.split(".")[0]) < 19 else {}


def _open(path):
    import av

    check_regular_file(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "the file is empty (0 bytes)")
    try:
        container = av.open(str(path), **_lenient_tags(av))
    except Exception as e:  # FileNotFoundError, av.error.InvalidDataError, ...
        raise VideoDecodeError(path, e) from e
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        container.close()
        raise VideoDecodeError(path, f"no video stream (streams: {', '.join(kinds)})")
    return container


def _stream_origin(container, stream) -> float:
    """The stream's start time in seconds (its clock origin for our timestamps)."""
    if stream.start_time is not None:
        return float(stream.start_time * stream.time_base)
    if container.start_time is not None:
        return container.start_time / 1e6
    return 0.0


def _duration(container, stream, origin: float) -> float | None:
    if stream.duration:
        return float(stream.duration * stream.time_base)
    if container.duration:
        # AV_TIME_BASE (microseconds). Matroska/WebM declare the end time on a clock from 0; other
        # formats declare end - start, so their end is start_time + duration.
        end = container.duration / 1e6
        if "matroska" not in container.format.name:
            end += (container.start_time or 0) / 1e6
        return end - origin
    return None


def _info(path, container, stream, rotation: int) -> VideoInfo:
    cc = stream.codec_context
    w, h = cc.width, cc.height
    if rotation % 180:
        w, h = h, w
    origin = _stream_origin(container, stream)
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(path=str(path), duration=_duration(container, stream, origin), width=w, height=h,
                     rotation=rotation, codec=cc.name, avg_fps=float(rate) if rate else None, start_time=origin,
                     frame_count=stream.frames or None)


def _rotation(frame) -> int:
    """Counter-clockwise display rotation in degrees (0/90/180/270) from the frame's display matrix."""
    r = int(round(getattr(frame, "rotation", 0) or 0))
    return (r // 90 * 90) % 360


def probe(path) -> VideoInfo:
    """Container facts for the first video stream; decodes one frame to read the rotation."""
    with _open(path) as container:
        stream = container.streams.video[0]
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = _rotation(frame)
                break
        except Exception as e:
            raise VideoDecodeError(path, e) from e
        return _info(path, container, stream, rotation)


class _Targets:
    """Sampling targets as a function: the first target time >= x, or inf when none is left."""

    def __init__(self, sampling: Sampling, start: float, end: float | None):
        self.start = start
        self.fps = sampling.fps
        self.n = sampling.num_samples
        self.span = None if self.n is None else (end - start)
        self.end = end

    def at_or_after(self, x: float) -> float:
        if self.n is not None:
            k = max(0, math.ceil((x - self.start) * self.n / self.span - _EPS))
            t = self.start + self.span * k / self.n if k < self.n else math.inf
        elif self.fps is None:
            t = max(x, self.start)
        else:
            k = max(0, math.ceil((x - self.start) * self.fps - _EPS))
            t = self.start + k / self.fps
        return t if self.end is None or t < self.end - _EPS else math.inf


def _drops_cleanly(codec_context) -> bool:
    """Whether dropping this stream's non-reference frames leaves every other frame as it is."""
    if codec_context.name in _DROPPABLE_CODECS:
        return True
    if codec_context.name == "hevc":
        # an MP4/Matroska hvcC record (version 1) gives numTemporalLayers in bits 5-3 of byte 21;
        # without one (MPEG-TS carries the parameter sets in the stream) the count is unknown
        record = codec_context.extradata
        return record is not None and len(record) > 22 and record[0] == 1 and (record[21] >> 3) & 7 == 1
    return False


class _SeekMissed(Exception):
    """A seek to the sampling's start landed past it or where nothing decodes."""


class _Presented:
    """A stream's frames in presentation order as (frame, pts). Given sampling targets, a frame
    that no target can pick is sent to the decoder as droppable (skip_frame NONREF), and where
    the decoder drops it (a non-reference frame) it comes as (None, pts) in its place, so the
    sequence of times is the one of decoding everything. `skipped` counts the dropped frames.

    A frame at t followed on screen by one at t2 can be picked by a target in [t, t2). t2 is
    the least later pts among the packets within _REORDER_WINDOW of it in decode order, never
    less than the true successor's, so every frame that can be picked is decoded. `stop()`
    decodes everything from then on."""

    def __init__(self, container, stream, origin: float, targets: _Targets | None):
        self.container, self.stream, self.origin, self.targets = container, stream, origin, targets
        self.skipped = 0
        self._sent: deque = deque(maxlen=_REORDER_WINDOW)  # pts of the packets sent last
        self._ahead: deque = deque()  # packets demuxed, not yet sent
        self._dropped: list = []  # heap: pts sent as droppable and not seen decoded
        self._decoded_any = False
        self._last_pts = None

    def stop(self) -> None:
        self.targets = None

    def _seconds(self, pts) -> float:
        return float(pts * self.stream.time_base) - self.origin

    def _wanted(self, packet) -> bool:
        # the first frame out carries the display rotation, so nothing is dropped before it
        if self.targets is None or not self._decoded_any or packet.pts is None or not packet.size:
            return True
        later = [q for q in self._sent if q is not None and q > packet.pts]
        later += [a.pts for a in self._ahead if a.pts is not None and a.pts > packet.pts]
        t2 = self._seconds(min(later)) if later else math.inf
        return self.targets.at_or_after(self._seconds(packet.pts) - _SKIP_SLACK) < t2 + _SKIP_SLACK

    def _send(self, packet) -> Iterator[tuple[object | None, object]]:
        wanted = self._wanted(packet)
        self.stream.codec_context.skip_frame = "DEFAULT" if wanted else "NONREF"
        if not wanted:
            heapq.heappush(self._dropped, packet.pts)
        self._sent.append(packet.pts)
        for frame in packet.decode():
            self._decoded_any = True
            if frame.pts is not None:
                if self._last_pts is not None and frame.pts < self._last_pts:
                    self.stop()  # out of pts order: where the dropped frames stood is unknown
                self._last_pts = frame.pts
                while self._dropped and self._dropped[0] < frame.pts:
                    self.skipped += 1
                    yield None, heapq.heappop(self._dropped)
                if self._dropped and self._dropped[0] == frame.pts:
                    heapq.heappop(self._dropped)  # a reference frame: decoded after all
            yield frame, frame.pts

    def __iter__(self) -> Iterator[tuple[object | None, object]]:
        window = 0 if self.targets is None else _REORDER_WINDOW
        try:
            for packet in self.container.demux(self.stream):
                self._ahead.append(packet)
                if len(self._ahead) > window:
                    yield from self._send(self._ahead.popleft())
        except Exception:  # a demux error ends the stream after what was read before it decodes
            while self._ahead:
                yield from self._send(self._ahead.popleft())
            raise
        while self._ahead:
            yield from self._send(self._ahead.popleft())
        while self._dropped:
            self.skipped += 1
            yield None, heapq.heappop(self._dropped)


def iter_frames(path, sampling: Sampling = Sampling(), *, size: tuple[int, int] | None = None,
                threads: int | None = None, max_duration: float | None = MAX_DURATION_S, timeout: float | None = None,
                max_pixels: int | None = MAX_PIXELS, strict: bool = False, skip_unsampled: bool = True,
                find_cuts: bool = False) -> FrameStream:
    """A FrameStream of (frame, t): uint8 RGB (H, W, 3) upright frames and their times in
    seconds from the stream start, for each sampling target; its `info` is the VideoInfo.
    size = (width, height) resizes (bilinear, in swscale). threads: decoder threads (None:
    FFmpeg's choice). max_duration (seconds of media), timeout (seconds of wall clock, from
    the first frame asked for) and max_pixels (per frame) bound one input; None lifts a bound.
    Bad arguments raise here, before the file is opened.

    Iterating raises VideoDecodeError naming the file: at open, or mid-file with the coverage
    so far (frames already yielded stay valid). Damage (a stream that stops well short of its
    declared duration, or a decoding error after the first frame) ends the stream with a
    PartialDecodeWarning and `info.damage` set; with strict=True it is such an error.

    skip_unsampled=False decodes every frame, even those no target can pick that the codec
    could leave out: the same frames, more slowly (for checking that). find_cuts: look for hard
    cuts among every frame decoded (vcdfast.cuts; about 0.03 ms a frame), given as `info.cuts`
    once the stream ends.
    """
    if not isinstance(sampling, Sampling):
        raise TypeError(f"sampling must be a vcdfast.decode.Sampling, got {type(sampling).__name__}")
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"size must be (width, height) with positive ints, got {size!r}")
    for name, v in (("max_duration", max_duration), ("timeout", timeout), ("max_pixels", max_pixels)):
        if v is not None and not v > 0:
            raise ValueError(f"{name} must be > 0 or None, got {v!r}")
    return FrameStream(path, sampling, size=size, threads=threads, max_duration=max_duration, timeout=timeout,
                       max_pixels=max_pixels, strict=strict, skip_unsampled=skip_unsampled, find_cuts=find_cuts)


class FrameStream:
    """The frames `iter_frames` samples from one video, as an iterator of (frame, t), and what
    decoding has learnt of the video: `info` is None until the stream is open and its first
    frame decoded (the display rotation is in the frames), then its VideoInfo; a damaged
    stream, once ended, has `info.damage` and `info.decoded_end` set. Once ended, `shown_until`
    is the time up to which its frames show the video: the sampling's end where the video goes
    on past it, else where the last frame leaves the screen or the damage starts (None before,
    or where max_frames stopped it), so a time past the video is told from one a frame held."""

    def __init__(self, path, sampling: Sampling, **bounds):
        self.info: VideoInfo | None = None
        self.shown_until: float | None = None
        self._presented: _Presented | None = None
        self._frames = self._decode(path, sampling, **bounds)

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> tuple[np.ndarray, float]:
        return next(self._frames)

    def close(self) -> None:
        """Stop early and release the file."""
        self._frames.close()

    @property
    def skipped(self) -> int:
        """Frames left undecoded so far: no target could pick them and the codec could drop them."""
        return 0 if self._presented is None else self._presented.skipped

    def _decode(self, path, sampling: Sampling, *, timeout, **bounds) -> Iterator[tuple[np.ndarray, float]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        start, back = sampling.start or 0.0, 0.0
        while True:
            seek_to = start - back if start - back >= _SEEK_MIN_S else None
            try:
                yield from self._decode_from(path, sampling, seek_to, deadline, timeout=timeout, **bounds)
                return
            except _SeekMissed:
                # the seek landed past `start`, or where nothing decodes before the end: a container
                # that does not index its keyframes (MPEG-TS) seeks to any packet, and a decoder
                # shows nothing before the next keyframe. Nothing was yielded yet; seek earlier.
                back = _SEEK_BACK_S if back == 0 else 4 * back

    def _decode_from(self, path, sampling: Sampling, seek_to: float | None, deadline: float | None, *, size,
                     threads, max_duration, timeout, max_pixels, strict,
                     skip_unsampled, find_cuts) -> Iterator[tuple[np.ndarray, float]]:
        """One pass over the file, from the keyframe before seek_to (None: from its beginning)."""
        container = _open(path)
        emitted, last_t, vinfo = 0, None, None
        finder = CutFinder() if find_cuts else None
        try:
            stream = container.streams.video[0]
            cc = stream.codec_context
            cc.thread_type = "AUTO"
            cc.thread_count = 0 if threads is None else int(threads)
            origin = _stream_origin(container, stream)
            vinfo = _info(path, container, stream, 0)
            _check_pixels(path, vinfo.width, vinfo.height, max_pixels)
            start = sampling.start or 0.0
            end = sampling.end
            if sampling.num_samples is not None:
                span_end = min(end, vinfo.duration) if (end is not None and vinfo.duration) else (end or vinfo.duration)
                if span_end is None:
                    span_end = _last_packet_time(container, stream, origin)
                    container.seek(0)
                end = span_end
            targets = _Targets(sampling, start, end)
            if seek_to is not None:
                # lands on the keyframe at or before seek_to; of the frames before start, only the
                # one on screen at start is kept
                container.seek(int((origin + seek_to) / stream.time_base), stream=stream, backward=True)
            target = targets.at_or_after(start)
            held = None  # (frame, t): the latest frame at or before `target`
            prev_t, interval = None, None
            limit = sampling.max_frames or math.inf
            first = True
            reached_eof = False
            every_frame = sampling.fps is None and sampling.num_samples is None
            droppable = skip_unsampled and not every_frame and _drops_cleanly(cc)
            presented = _Presented(container, stream, origin, targets if droppable else None)
            self._presented = presented
            for frame, pts in presented:
                if pts is None:
                    t = prev_t + (interval or 1.0 / (vinfo.avg_fps or 25.0)) if prev_t is not None else 0.0
                else:
                    t = float(pts * stream.time_base) - origin
                if first and frame is not None:
                    first = False
                    if seek_to is not None and t > start + _EPS:
                        raise _SeekMissed
                    vinfo.rotation = _rotation(frame)  # the rotation lives in the frames' side data
                    if vinfo.rotation % 180:
                        vinfo.width, vinfo.height = vinfo.height, vinfo.width
                    self.info = vinfo
                if prev_t is not None and t > prev_t:
                    interval = t - prev_t
                prev_t = t
                last_t = t
                if frame is not None:  # a stream can change size midway
                    _check_pixels(path, frame.width, frame.height, max_pixels)
                    if finder is not None:
                        finder.add_frame(t, frame)
                if max_duration is not None and t > max_duration + _EPS:
                    raise VideoDecodeError(path, f"the stream runs past max_duration = {max_duration:g} s (an endless "
                                                 "or live stream?); pass a larger max_duration to decode it",
                                           frames_decoded=emitted, decoded_until=t)
                if deadline is not None and time.monotonic() > deadline:
                    raise VideoDecodeError(path, f"decoding took longer than timeout = {timeout:g} s",
                                           frames_decoded=emitted, decoded_until=t)
                if t < start - _EPS:
                    held = (frame, t)  # on screen at `start` unless a frame comes up by then
                    continue
                if end is not None and t >= end - _EPS:
                    self.shown_until = end
                    break
                if t > target + _EPS:
                    if held is not None and held[0] is None:
                        # a frame left out is due: only a stream out of pts order, or one whose next
                        # frame did not decode, gets here. That sample is lost, not guessed.
                        presented.stop()
                    elif held is not None:
                        yield _to_rgb(*held, size)
                        emitted += 1
                        held = None
                        if emitted >= limit:
                            return
                    target = targets.at_or_after(t)
                    if target == math.inf:
                        self.shown_until = end
                        break
                held = (frame, t)
            else:
                reached_eof = True
            if reached_eof and last_t is not None:
                # the last frame is on screen until t + its interval
                self.shown_until = last_t + (interval or 1.0 / (vinfo.avg_fps or 25.0))
            if held is not None and held[0] is not None and emitted < limit:
                # emit it only if a target falls where it is on screen
                if target < (self.shown_until if reached_eof else end) - _EPS:
                    yield _to_rgb(*held, size)
                    emitted += 1
            if first:
                if seek_to is not None:
                    raise _SeekMissed
                raise VideoDecodeError(path, "the video stream has no decodable frames")
            declared = vinfo.duration
            # a stream that stops short of the declared duration was cut; the slack lets audio outlast video
            slack = max(1.0, 2.0 * (interval or 0.0))
            if reached_eof and declared is not None and last_t + slack < declared:
                cut = VideoDecodeError(path, f"stream ends at {last_t:.3f} s but the file declares {declared:.3f} s "
                                             "(truncated?)", frames_decoded=emitted, decoded_until=last_t)
                if strict:
                    raise cut
                _damaged(vinfo, last_t + (interval or 0.0), cut.cause)
        except (VideoDecodeError, _SeekMissed):
            raise
        except Exception as e:  # av.error.* from a corrupt packet, MemoryError, ...
            import av

            error = VideoDecodeError(path, e, frames_decoded=emitted, decoded_until=last_t)
            if strict or not emitted or not isinstance(e, av.error.FFmpegError):
                raise error from e
            _damaged(vinfo, last_t, f"{type(e).__name__}: {e}")
            self.shown_until = last_t
        finally:
            container.close()
            if finder is not None and vinfo is not None:
                finder.finish()
                vinfo.cuts = finder.cuts()


def _damaged(info: VideoInfo, decoded_end: float, why: str) -> None:
    """Record on `info` that only [0, decoded_end) decoded, and warn."""
    declared = (f"the declared 0.000-{info.duration:.3f} s" if info.duration is not None
                else "a stream of undeclared length")
    info.decoded_end = decoded_end
    info.damage = f"decoded 0.000-{decoded_end:.3f} s of {declared}: {why}"
    warnings.warn(PartialDecodeWarning(f"video {info.path!r} is damaged; keeping its decodable part, "
                                       f"{info.damage}"), stacklevel=4)  # the caller iterating the FrameStream


def _check_pixels(path, width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise VideoDecodeError(path, f"frames of {width}x{height} pixels exceed max_pixels = {max_pixels} "
                                     f"({width * height} > {max_pixels}); pass a larger max_pixels to decode it")


def _to_rgb(frame, t: float, size: tuple[int, int] | None) -> tuple[np.ndarray, float]:
    rot = _rotation(frame)
    if size is None:
        img = frame.to_ndarray(format="rgb24")
    else:
        w, h = (size[1], size[0]) if rot % 180 else size
        img = frame.reformat(width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray()
    if rot:
        img = np.ascontiguousarray(np.rot90(img, rot // 90))
    return img, t


def _last_packet_time(container, stream, origin: float) -> float:
    """Duration from a demux-only pass (no decoding) for files that do not declare one."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base) - origin)
    return end


def decode(path, sampling: Sampling = Sampling(), **kw) -> DecodedVideo:
    """All sampled frames at once (see iter_frames for the arguments). On a mid-file error the
    VideoDecodeError carries the frames decoded before it as `.partial` (a DecodedVideo)."""
    stream = iter_frames(path, sampling, **kw)
    frames, times = [], []
    try:
        for img, t in stream:
            frames.append(img)
            times.append(t)
    except VideoDecodeError as e:
        if stream.info is not None:
            e.partial = _stack(frames, times, stream.info)
        raise
    return _stack(frames, times, stream.info)


def _stack(frames, times, info: VideoInfo) -> DecodedVideo:
    arr = np.stack(frames) if frames else np.zeros((0, info.height, info.width, 3), np.uint8)
    return DecodedVideo(frames=arr, timestamps=np.asarray(times, np.float64), info=info)

