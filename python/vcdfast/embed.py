"""Frame embeddings with ONNX Runtime, and the decode -> embed pipeline.

`Embedder(model, views=...)` turns frames into L2-normalised (N, V, D) float32 descriptors;
`embed_video` decodes in a worker thread that feeds batches through a bounded queue while
the calling thread runs the model, so the slower of the two sets the pace and memory stays
bounded. Execution providers are chosen automatically (TensorRT, CUDA, then CPU); on a GPU
the inputs go through IO binding and a model's fp16 file is used when it has one.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vcdfast.decode import MAX_DURATION_S, MAX_PIXELS, Sampling, VideoInfo, iter_frames
from vcdfast.errors import ModelError, VideoDecodeError
from vcdfast.inset import DEFAULT_INSET
from vcdfast.models import DEFAULT_MODEL, ModelSpec, get_model
from vcdfast.query import intervals
from vcdfast.views import (
    blend,
    blend_parts,
    expand_views,
    make_views,
    model_views,
    needs_context,
    needs_insets,
    needs_splits,
    scale_for,
)

__all__ = ["Embedder", "VideoEmbedding", "choose_providers"]

_GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_DONE = object()  # end of a video in the decode queue


@dataclass
class VideoEmbedding:
    """Descriptors of one video: vectors (T, V, D) float32, L2-normalised per view; timestamps
    (T,) float64 seconds from the stream start, increasing; insets (T, 4) float32: the boxes
    the inset views were cut from (vcdfast.inset.detect_insets, NaN: none), kept by
    Embedder.embed_video when its views have one (None otherwise), for the query's carried
    insets (vcdfast.carry)."""

    vectors: np.ndarray
    timestamps: np.ndarray
    info: VideoInfo
    model: ModelSpec
    sampling: Sampling = field(default_factory=Sampling)
    views: tuple[str, ...] = ("full",)
    insets: np.ndarray | None = None

    def __post_init__(self):
        v, t = self.vectors, self.timestamps
        if v.ndim != 3 or v.dtype != np.float32:
            raise ValueError(f"vectors must be float32 (T, V, D); got {v.dtype} {v.shape}")
        if t.ndim != 1 or t.shape[0] != v.shape[0]:
            raise ValueError(f"timestamps must be (T,) with T = {v.shape[0]}; got {t.shape}")
        if v.shape[1] != len(self.views):
            raise ValueError(f"vectors have {v.shape[1]} views but views = {self.views}")
        if v.shape[2] != self.model.dim:
            raise ValueError(f"vectors have dim {v.shape[2]} but model {self.model.name!r} has dim {self.model.dim}")
        if t.size > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("timestamps must be strictly increasing")
        if self.insets is not None and self.insets.shape != (v.shape[0], 4):
            raise ValueError(f"insets must be (T, 4) with T = {v.shape[0]}; got {self.insets.shape}")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def step(self) -> float:
        """The sampling interval: 1/fps, else the median gap, else one frame at avg_fps (or 1 s)."""
        if self.sampling.fps is not None and self.sampling.num_samples is None:
            return 1.0 / self.sampling.fps
        if len(self) > 1:
            return float(np.median(np.diff(self.timestamps)))
        return 1.0 / (self.info.avg_fps or 1.0)

    def last_end(self) -> float:
        """Where the last descriptor's interval ends (s): min(t + step, duration), or t + step
        when the duration is unknown or not after t; 0.0 without descriptors."""
        if not len(self):
            return 0.0
        t = float(self.timestamps[-1])
        end = t + self.step()
        if self.info.duration is not None and t < self.info.duration:
            end = min(end, self.info.duration)
        return end

    def intervals(self) -> np.ndarray:
        """(T, 2) [start, end) per descriptor (vcdfast.query.intervals), none ending after last_end()."""
        end = self.info.decoded_end if self.info.decoded_end is not None else self.info.duration
        return intervals(self.timestamps, self.last_end(), end)

    @classmethod
    def from_arrays(cls, vectors, timestamps, *, model, sampling: Sampling = Sampling(), views=("full",),
                    info: VideoInfo | None = None, duration: float | None = None) -> VideoEmbedding:
        """A VideoEmbedding without a video: vectors (T, D) or (T, V, D) float32, timestamps (T,)."""
        spec = get_model(model)
        vectors = np.asarray(vectors)
        if vectors.ndim == 2:
            vectors = vectors[:, None, :]
        timestamps = np.asarray(timestamps, np.float64)
        if info is None:
            info = VideoInfo(path="", duration=duration, width=0, height=0, rotation=0, codec="", avg_fps=None,
                             start_time=0.0, frame_count=len(timestamps))
        return cls(vectors=vectors, timestamps=timestamps, info=info, model=spec, sampling=sampling,
                   views=expand_views(views))


def choose_providers(providers=None) -> list:
    """The requested providers, or the best available: TensorRT and CUDA when present, then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers is not None:
        names = [p[0] if isinstance(p, tuple) else p for p in providers]
        missing = [n for n in names if n not in available]
        if missing:
            raise ModelError(f"execution providers {missing} are not available; available: {available}")
        return list(providers)
    return [p for p in (*_GPU_PROVIDERS, "CPUExecutionProvider") if p in available]


class Embedder:
    """Runs one model on frames. batch_size counts model inputs (frames x views) per call
    (default: 32 on GPU, 8 on CPU); num_threads is ONNX Runtime's CPU thread budget (default:
    all cores); decode_threads is the decoder's (default: FFmpeg's choice); fp16: use the
    model's fp16 file (default: on GPU)."""

    # On CPU, ONNX Runtime's CPU time per image is flat from batch 1 to 32 (bench/bench_frames.py
    # --batch-size 8,32), but its arena keeps the activations of the largest batch run: ~8 MiB
    # per 288x288 input for sscd-mobile, so embed_video peaked at ~330-370 MiB with batch 32 and
    # ~160-170 MiB with batch 8 (bench/bench_memory.py), on a 2-minute video as on a 3-hour one.
    CPU_BATCH_SIZE = 8
    GPU_BATCH_SIZE = 32
    # frames embed_video gathers per call when its views look at neighbouring frames: 4 took
    # 5% off the CPU of embedding tune's queries with the default views (1, 8, 16: 13.5, 12.9,
    # 12.7 CPU s on ten of them; 8 and up waited on the decoder longer), descriptors unchanged
    LAYOUT_FRAMES = 4

    def __init__(self, model=DEFAULT_MODEL, *, views=("full",), providers=None, batch_size: int | None = None,
                 num_threads: int | None = None, decode_threads: int | None = None, fp16: bool | None = None,
                 queue_depth: int = 2, verify: bool = True):
        import onnxruntime as ort

        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
        self.spec = get_model(model)
        if verify:
            self.spec.verify()
        self.views = expand_views(views)
        self.decode_threads = decode_threads
        self.queue_depth = max(1, int(queue_depth))
        self.providers = choose_providers(providers)
        names = [p[0] if isinstance(p, tuple) else p for p in self.providers]
        self.on_gpu = any(n in _GPU_PROVIDERS for n in names)
        self.batch_size = batch_size or (self.GPU_BATCH_SIZE if self.on_gpu else self.CPU_BATCH_SIZE)
        self.fp16 = self.on_gpu if fp16 is None else bool(fp16)
        path = self.spec.path
        if self.fp16 and self.spec.fp16_path:
            path = self.spec.fp16_path
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = num_threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        # Batches vary in size (the pipeline embeds whatever has been decoded), and the memory
        # pattern caches an allocation plan per input shape: on a 3-hour video it added
        # ~150 MiB of peak RSS (513 -> 363 MiB without it, same speed).
        opts.enable_mem_pattern = False
        # idle ORT threads must not spin: the decoder thread needs those cores between batches
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = [self._provider_options(p) for p in self.providers]
        try:
            self.session = ort.InferenceSession(path, opts, providers=providers)
        except Exception as e:
            raise ModelError(f"model {self.spec.name!r}: ONNX Runtime cannot load {path}: {e}") from e
        inputs = {i.name: i for i in self.session.get_inputs()}
        if self.spec.input_name not in inputs:
            raise ModelError(f"model {self.spec.name!r}: {path} has inputs {list(inputs)}, "
                             f"not {self.spec.input_name!r}")
        self._input_type = inputs[self.spec.input_name].type  # e.g. 'tensor(float16)'
        self._device = "cuda" if self.on_gpu else "cpu"

    @property
    def dim(self) -> int:
        return self.spec.dim

    def _provider_options(self, p):
        if isinstance(p, tuple) or p != "TensorrtExecutionProvider":
            return p
        cache = os.path.join(os.path.dirname(self.spec.path) or ".", ".trt_cache")
        return (p, {"trt_fp16_enable": self.fp16, "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": cache})

    # ------------------------------------------------------------------ inference

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        """(B, h, w, 3) uint8 -> what the model's input expects (spec.preprocessing)."""
        pre = self.spec.preprocessing
        if pre["dtype"] == "uint8":
            out = x
        else:
            out = x.astype(np.float32) * np.float32(1.0 / 255.0)
            if "mean" in pre:
                out -= np.asarray(pre["mean"], np.float32)
            if "std" in pre:
                out /= np.asarray(pre["std"], np.float32)
        if pre["layout"] == "NCHW":
            out = out.transpose(0, 3, 1, 2)
        if self._input_type == "tensor(float16)":
            out = out.astype(np.float16)
        return np.ascontiguousarray(out)

    def _run(self, x: np.ndarray) -> np.ndarray:
        """One model call on (B, h, w, 3) uint8 -> (B, D) float32, L2-normalised."""
        feed = self._prepare(x)
        if self.on_gpu:
            import onnxruntime as ort

            binding = self.session.io_binding()
            binding.bind_ortvalue_input(self.spec.input_name, ort.OrtValue.ortvalue_from_numpy(feed, "cuda", 0))
            binding.bind_output(self.spec.output_name, "cuda")
            self.session.run_with_iobinding(binding)
            y = binding.copy_outputs_to_cpu()[0]
        else:
            y = self.session.run([self.spec.output_name], {self.spec.input_name: feed})[0]
        y = np.asarray(y, np.float32).reshape(len(x), -1)
        if y.shape[1] != self.spec.dim:
            raise ModelError(f"model {self.spec.name!r} returned dim {y.shape[1]}, its spec says {self.spec.dim}")
        norms = np.linalg.norm(y, axis=1, keepdims=True)
        return y / np.maximum(norms, np.float32(1e-12))

    def _run_batches(self, x: np.ndarray) -> np.ndarray:
        """_run on (N, h, w, 3) uint8 in calls of at most batch_size -> (N, D)."""
        out = np.empty((len(x), self.dim), np.float32)
        for i in range(0, len(x), self.batch_size):
            out[i:i + self.batch_size] = self._run(x[i:i + self.batch_size])
        return out

    def _embed_scaled(self, frames: np.ndarray, context: tuple[np.ndarray, np.ndarray] | None = None,
                      only: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Frames already at the decode size (scale_for(views) x input size) -> ((N, V, D), the
        inset boxes (N, 4) the views were cut from, None without an inset view). context:
        (frames before, frames after) them, which the inset and halves views look at; only: per
        frame, the one view to embed (the others are NaN), None: all."""
        from vcdfast.inset import SPLIT_NONE

        wanted = self.views if only is None else tuple(self.views[k] for k in set(np.asarray(only).tolist()))
        # layouts no wanted view looks at are left unfound
        insets = np.full((len(frames), 4), np.nan, np.float32) if needs_insets(self.views) else None
        splits = np.full(len(frames), SPLIT_NONE, np.int8) if needs_splits(self.views) else None
        if needs_context(wanted):
            from vcdfast.inset import detect_insets, detect_splits, edge_maps

            before, after = context if context is not None else (frames[:0], frames[:0])
            clip, targets = np.concatenate([before, frames, after]), range(len(before), len(before) + len(frames))
            edges = edge_maps(clip)
            if needs_insets(wanted):
                insets = detect_insets(clip, targets=targets, edges=edges)
            if needs_splits(wanted):
                splits = detect_splits(clip, targets=targets, edges=edges)
        base = model_views(self.views)
        views = make_views(frames, base, self.spec.input_size, insets, splits)
        n, b = views.source.shape
        # the model views each view reads: itself, or the whole frame and its centre for a blend
        parts = [blend_parts(v) for v in self.views]
        reads = [(base.index(v),) if p is None else (base.index(p[0]), base.index(p[1]))
                 for v, p in zip(self.views, parts)]
        if only is None:
            run = views.source == np.arange(b)  # cells that need a model run; the rest repeat one
        else:
            only = np.asarray(only)
            run = np.zeros((n, b), bool)
            for k in set(only.tolist()):
                run[np.ix_(only == k, reads[k])] = True
        cells = np.full((n, b, self.dim), np.nan, np.float32)
        cells[run] = self._run_batches(views.pixels[run]) if only is None else self._run(views.pixels[run])
        if only is None:
            rows, cols = np.nonzero(~run)
            cells[rows, cols] = cells[rows, views.source[rows, cols]]
        out = np.stack([cells[:, r[0]] if p is None else blend(cells[:, r[0]], cells[:, r[1]], p[2])
                        for r, p in zip(reads, parts)], axis=1)
        if only is not None:
            out[np.arange(len(self.views))[None, :] != only[:, None]] = np.nan
        return out, insets

    @property
    def decode_size(self) -> tuple[int, int]:
        """The (width, height) frames are decoded at for this model and these views."""
        s = scale_for(self.views)
        w, h = self.spec.input_size
        return s * w, s * h

    def embed_frames(self, frames) -> np.ndarray:
        """uint8 RGB frames (N, H, W, 3), any size -> (N, V, D) float32, L2-normalised."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 RGB (N, H, W, 3); got {frames.dtype} {frames.shape}")
        w, h = self.decode_size
        if frames.shape[1:3] != (h, w):
            from PIL import Image

            frames = np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BILINEAR)) for f in frames]) \
                if len(frames) else np.zeros((0, h, w, 3), np.uint8)
        return self._embed_scaled(frames)[0]

    def embed_at(self, path, times, step: float, views=None, *, max_pixels: int | None = MAX_PIXELS,
                 cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors (N, V, D) of the frames on screen at `times` (s from the stream start)
        and (N,) bool: whether one was found there (not past the stream, nor in a part that
        does not decode; its row is NaN). views: per time, the index of the one view to embed
        (the others are NaN; a model run instead of about 3.5 for the default views), None:
        all. The layout views see the frames on screen `step` s before and after, as
        embed_video's do at that step. One short decode per time (a seek to the keyframe
        before it), strict, so a damaged file warns once (at embed_video) and its damaged part
        is never used. cache: a dict the caller keeps across calls on one file; with it, each
        time takes the frame on screen at the last 1/CACHE_DIVISIONS of a step at or before
        it, from the one step-long window decoded last, and the layout views see the frames on
        screen at the nearest sampling points (multiples of step) a step or more either side
        instead of exactly `step` s apart (a bisection between two samples then decodes once,
        not once per probe; at a sample's own time the two agree)."""
        times = np.asarray(times, np.float64).reshape(-1)
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}")
        if views is not None:
            views = np.asarray(views).reshape(-1)
            if len(views) != len(times) or not np.issubdtype(views.dtype, np.integer) \
                    or ((views < 0) | (views >= len(self.views))).any():
                raise ValueError(f"views must give one index in [0, {len(self.views)}) per time")
        out = np.full((len(times), len(self.views), self.dim), np.nan, np.float32)
        found = np.zeros(len(times), bool)
        for i, t in enumerate(times.tolist()):
            if not t >= 0:
                continue
            looked_at = self.views if views is None else (self.views[views[i]],)
            window = DEFAULT_INSET.window if needs_context(looked_at) else 0
            if cache is not None:
                shown = self._cached_frame(path, t, step, cache, max_pixels)
                if shown is not None:
                    context = (self._cached_context(path, t, shown[1], step, window, cache, max_pixels)
                               if window else None)
                    out[i] = self._embed_scaled(shown[0][None], context,
                                                None if views is None else views[i:i + 1])[0][0]
                    found[i] = True
                continue
            before = min(window, int(t // step))
            wanted = t + step * np.arange(-before, window + 1)
            clip = self._frames_on_screen(path, wanted[0], wanted[-1], step, max_pixels)
            shown = [clip.index(w) for w in wanted]
            if shown[before] is None:
                continue
            keep = sorted({k for k in shown if k is not None})  # a slow video shows one frame at several
            frames, c = np.stack([clip.frames[k][0] for k in keep]), keep.index(shown[before])
            out[i] = self._embed_scaled(frames[c:c + 1], (frames[:c], frames[c + 1:]),
                                        None if views is None else views[i:i + 1])[0][0]
            found[i] = True
        return out, found

    def embed_crops(self, path, times, boxes, step: float, *, max_pixels: int | None = MAX_PIXELS
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors (N, D) of the frames on screen at `times` (s from the stream start), each
        cut to its box in `boxes` (N, 4) ([x0, y0, x1, y1] shares of the frame, as
        vcdfast.inset.detect_insets gives) and embedded as a whole frame, and (N,) bool: whether
        a frame was found there (its row is NaN where not). One short strict decode per time,
        as embed_at's; `step` is the sampling step the times come from."""
        from vcdfast.inset import crop_insets

        times = np.asarray(times, np.float64).reshape(-1)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) != len(times) or not np.isfinite(boxes).all():
            raise ValueError("boxes must give one finite [x0, y0, x1, y1] per time")
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}")
        found = np.zeros(len(times), bool)
        pixels = []
        for i, t in enumerate(times.tolist()):
            shown = self._frame_at(path, t, step, max_pixels)
            if shown is not None:
                found[i] = True
                pixels.append(crop_insets(shown[0][None], boxes[i:i + 1], self.spec.input_size)[0])
        out = np.full((len(times), self.dim), np.nan, np.float32)
        if pixels:
            out[found] = self._run_batches(np.stack(pixels))
        return out, found

    def _frames_on_screen(self, path, first: float, last: float, spacing: float, max_pixels) -> _Clip:
        """The frames on screen every `spacing` s from `first` to `last` (to within a
        millisecond; a frame shown at several of them once), decoded strictly at the decode
        size; none where the file does not decode there."""
        # targets a hair after each time, so float error cannot move one before its frame
        stream = iter_frames(path, Sampling(fps=1.0 / spacing, start=first + 1e-3, end=last + 2e-3),
                             size=self.decode_size, threads=self.decode_threads, max_pixels=max_pixels, strict=True)
        try:
            return _Clip(list(stream), stream.shown_until)
        except VideoDecodeError:
            return _Clip([], -math.inf)

    CACHE_DIVISIONS = 16  # four bisections' resolution

    def _cached_frame(self, path, t: float, step: float, cache: dict, max_pixels) -> tuple | None:
        """(frame, time) on screen at the last 1/CACHE_DIVISIONS of a step at or before t, from
        the step-long window around it, decoded into `cache` unless it holds that window."""
        k = math.floor(t / step)
        if cache.get("window") != (k, step):
            cache.clear()
            clip = self._frames_on_screen(path, k * step, (k + 1) * step, step / self.CACHE_DIVISIONS, max_pixels)
            cache.update(window=(k, step), clip=clip)
        return cache["clip"].shown_at(t)

    def _frame_at(self, path, t: float, step: float, max_pixels) -> tuple | None:
        """(frame, time) on screen at t, from a short decode of its own (None: none there)."""
        return self._frames_on_screen(path, t, t, step, max_pixels).shown_at(t) if t >= 0 else None

    def _cached_context(self, path, t: float, shown: float, step: float, window: int, cache: dict,
                        max_pixels) -> tuple[np.ndarray, np.ndarray]:
        """(frames before, frames after) t: those on screen at the `window` sampling points
        (multiples of step) nearest to it and at least a step before it and after it, each
        frame once and not the one on screen at t (shown: its time), as embed_video's context
        (exactly it at a sample's own time); decoded into `cache` once per step-long window."""
        k = math.floor(t / step)
        if cache.get("context_of") != (k, step, window):
            first = max(0, k - window)
            clip = self._frames_on_screen(path, first * step, (k + 1 + window) * step, step, max_pixels)
            at = {j: clip.shown_at(j * step) for j in range(first, k + 2 + window)}
            cache.update(context_of=(k, step, window),
                         context=[(j * step, shown) for j, shown in at.items() if shown is not None])

        def frames(points) -> np.ndarray:
            seen, kept = {shown}, []
            for frame, ts in points:
                if ts not in seen:
                    seen.add(ts)
                    kept.append(frame)
            return np.stack(kept) if kept else np.zeros((0, *self.decode_size[::-1], 3), np.uint8)

        points = cache["context"]
        # a step or more away, as embed_video's neighbours are: nearer ones show the same
        # content, whose edges then persist and pass for an inset's
        before = [p for at, p in points if at <= t - step + 1e-3][-window:]
        after = [p for at, p in points if at >= t + step - 1e-3][:window]
        return frames(before[::-1])[::-1], frames(after)

    # ------------------------------------------------------------------ pipeline

    def embed_video(self, path, sampling: Sampling = Sampling(), *, max_duration: float | None = MAX_DURATION_S,
                    timeout: float | None = None, max_pixels: int | None = MAX_PIXELS, strict: bool = False,
                    on_progress: Callable[[float], None] | None = None) -> VideoEmbedding:
        """Decode (worker thread) and embed (this thread) in a pipeline. A decode error raises
        VideoDecodeError naming the file, with `.partial` = the VideoEmbedding of the frames
        embedded before it (None if the file never opened). max_duration, timeout and
        max_pixels bound one input; a damaged file gives its decodable part unless strict
        (see vcdfast.decode.iter_frames). on_progress(t) is called in this thread after each
        batch with the media time (s) embedded so far. The result's info.cuts are the hard cuts
        among every frame decoded (vcdfast.cuts), which place a match's reference span.

        Frames cross a bounded queue one by one; the consumer takes what is waiting, up to a
        batch, so batches are full when the model is the bottleneck (the queue fills) and small
        when decoding is (each frame is embedded soon after it arrives); views that look at
        neighbouring frames wait for LAYOUT_FRAMES of them."""
        frames_per_batch = max(1, self.batch_size // len(self.views))
        q: queue.Queue = queue.Queue(maxsize=self.queue_depth * frames_per_batch)
        stop = threading.Event()
        stream = iter_frames(path, sampling, size=self.decode_size, threads=self.decode_threads,
                             max_duration=max_duration, timeout=timeout, max_pixels=max_pixels, strict=strict,
                             find_cuts=True)

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    pass
            return False

        def worker():
            try:
                for item in stream:
                    if not put(item):
                        return
                put(_DONE)
            except BaseException as e:  # handed to the consumer, which raises it with the file named
                put(e if isinstance(e, VideoDecodeError) else VideoDecodeError(path, e))
            finally:
                stream.close()  # the file, as soon as decoding stops

        thread = threading.Thread(target=worker, name=f"vcdfast-decode:{os.path.basename(str(path))}", daemon=True)
        thread.start()
        # the inset and halves views look `lookahead` frames either side, so that many wait for their successors
        lookahead = DEFAULT_INSET.window if needs_context(self.views) else 0
        # a call computes the edge maps of its frames and their context: with one frame a call,
        # each frame's 2 * lookahead + 1 times
        min_ready = self.LAYOUT_FRAMES if lookahead else 1
        vectors, insets, times, pending, done = [], [], [], [], []
        try:
            while True:
                batch = [q.get()]
                while len(batch) < frames_per_batch and isinstance(batch[-1], tuple):
                    try:
                        batch.append(q.get_nowait())
                    except queue.Empty:
                        break
                control = None if isinstance(batch[-1], tuple) else batch.pop()  # _DONE or an error
                pending += batch
                ready = len(pending) if control is _DONE else len(pending) - lookahead
                if ready >= (1 if control is not None else min_ready):
                    frames = np.stack([img for img, _ in pending])
                    context = (np.stack(done) if done else frames[:0], frames[ready:])
                    v, boxes = self._embed_scaled(frames[:ready], context)
                    vectors.append(v)
                    insets.append(boxes)
                    times.extend(t for _, t in pending[:ready])
                    done = (done + [img for img, _ in pending[:ready]])[max(0, len(done) + ready - lookahead):]
                    pending = pending[ready:]
                    if on_progress is not None:
                        on_progress(times[-1])
                if control is _DONE:
                    break
                if control is not None:
                    if stream.info is not None:
                        control.partial = self._result(vectors, insets, times, stream.info, sampling)
                    raise control
        finally:
            stop.set()
            thread.join()
        return self._result(vectors, insets, times, stream.info, sampling)

    def _result(self, vectors, insets, times, info: VideoInfo, sampling: Sampling) -> VideoEmbedding:
        arr = np.concatenate(vectors) if vectors else np.zeros((0, len(self.views), self.dim), np.float32)
        boxes = None
        if needs_insets(self.views):
            boxes = np.concatenate(insets) if insets else np.zeros((0, 4), np.float32)
        return VideoEmbedding(vectors=arr, timestamps=np.asarray(times, np.float64), info=info, model=self.spec,
                              sampling=sampling, views=self.views, insets=boxes)


@dataclass
class _Clip:
    """Frames decoded over a span, as (frame, time) pairs in time order, one per sampling
    target they are on screen at, and the time up to which they show the video."""

    frames: list
    shown_until: float

    def index(self, t: float) -> int | None:
        """Index of the frame on screen at t, a sampling target (to within a millisecond): the
        last one at or before it, however long it has been on screen, unless t is past the
        video (or its decodable part)."""
        if not t < self.shown_until:
            return None
        at = [k for k, (_, ts) in enumerate(self.frames) if ts <= t + 1e-3]
        return at[-1] if at else None

    def shown_at(self, t: float) -> tuple | None:
        """(frame, time) on screen at t (see index), or None."""
        k = self.index(t)
        return None if k is None else self.frames[k]
