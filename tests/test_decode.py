"""vcdfast.decode on real videos generated with PyAV (tests/videos.py)."""

import dataclasses
import math
import re

import numpy as np
import pytest

import videos as V
from vcdfast.decode import Sampling, decode, iter_frames, probe
from vcdfast.errors import PartialDecodeWarning, VcdfastError, VideoDecodeError

MS = 1e-3  # generator and containers keep millisecond clocks (MP4 rescales them exactly)


def on_screen(times, *, fps=None, start=0.0, end=None, n=None, duration=None):
    """Brute-force reference of the sampling rule: for each target T, the last frame with
    t <= T (and t < end; at T = start, one from before start too), once each; targets past
    the last frame's display are dropped."""
    times = np.asarray(times)
    last_shown = duration if duration is not None else times[-1] + (np.diff(times)[-1] if len(times) > 1 else 1.0)
    stop = min(end if end is not None else math.inf, last_shown)
    if n is not None:
        span_end = min(end, duration) if end is not None and duration is not None else (end or duration)
        targets = start + (span_end - start) * np.arange(n) / n
    elif fps is None:
        targets = np.r_[start, times[times >= start - 1e-9]]
    else:
        targets = start + np.arange(int((stop - start) * fps) + 2) / fps
    picked = []
    for T in targets:
        if T >= stop - 1e-9:
            continue
        ok = times[(times <= T + 1e-9) & ((times < end - 1e-9) if end is not None else True)]
        if len(ok) and (not picked or ok[-1] != picked[-1]):
            picked.append(ok[-1])
    return np.asarray(picked)


@pytest.fixture(scope="module")
def vids(tmp_path_factory):
    d = tmp_path_factory.mktemp("decode")
    out = {}
    for codec in ("h264", "vp9", "mpeg4", "mjpeg"):
        ext = V.CODECS[codec][1]
        out[codec, "cfr"] = V.make_video(d / f"{codec}_cfr{ext}", codec=codec, seconds=3, fps=10, content="clock")
        out[codec, "vfr"] = V.make_video(d / f"{codec}_vfr{ext}", codec=codec, seconds=3, fps=10, vfr=True, seed=3,
                                         content="clock")
        out[codec, "start"] = V.make_video(d / f"{codec}_start{ext}", codec=codec, seconds=3, fps=10, start_time=1.25,
                                           content="clock")
        out[codec, "rot90"] = V.make_video(d / f"{codec}_rot{ext}", codec=codec, seconds=1, fps=10, rotation=90,
                                           size=(128, 96), content="clock")
    out["long"] = V.make_video(d / "long.mp4", seconds=8, fps=25, vfr=True, seed=5, gop=25, content="clock")
    out["audio_video"] = V.make_video(d / "av.mp4", seconds=2, fps=10, audio=True, content="clock")
    out["one"] = V.make_video(d / "one.mp4", times=[0.0], content="clock")
    # a screen recording's still: the frame at 1.0 s stays on screen until 4.5 s
    out["held"] = V.make_video(d / "held.mp4", times=[*np.arange(11) / 10, *(4.5 + np.arange(16) / 10)],
                               content="clock")
    out["dir"] = d
    return out


CASES = [(c, k) for c in ("h264", "vp9", "mpeg4", "mjpeg") for k in ("cfr", "vfr", "start", "rot90")]


@pytest.mark.parametrize("codec,kind", CASES)
def test_every_frame_has_its_generator_time(vids, codec, kind):
    g = vids[codec, kind]
    dv = decode(g.path, Sampling(fps=None))
    np.testing.assert_allclose(dv.timestamps, g.relative_times, atol=MS, rtol=0)
    # the pixels carry their own time: frame i really is the frame shown at timestamps[i]
    clocks = np.array([V.read_clock(f) for f in dv.frames]) / 1000.0
    np.testing.assert_allclose(clocks, g.relative_times, atol=MS, rtol=0)
    w, h = g.size
    assert dv.frames.shape == (len(g.times), h, w, 3) and dv.frames.dtype == np.uint8
    assert dv.info.start_time == pytest.approx(g.start_time, abs=MS)
    assert dv.info.duration == pytest.approx(g.duration, abs=0.1)  # containers round the last frame's duration


@pytest.mark.parametrize("codec", ["h264", "vp9", "mpeg4", "mjpeg"])
def test_rotation_metadata_is_applied(vids, codec):
    g = vids[codec, "rot90"]
    dv = decode(g.path, Sampling(fps=None))
    assert dv.info.rotation == 90 and (dv.info.width, dv.info.height) == g.size
    first = dv.frames[0].astype(int)
    h, w, _ = first.shape
    # `clock` marks the top-left quarter red: upright means red there, not in the other corners
    assert first[: h // 5, : w // 5, 0].mean() > 200 and first[: h // 5, : w // 5, 1].mean() < 80
    assert first[-h // 5:, -w // 5:, 0].mean() < 200 or first[-h // 5:, -w // 5:, 1].mean() > 80
    small = decode(g.path, Sampling(fps=None), size=(64, 48)).frames
    assert small.shape[1:] == (48, 64, 3)
    assert small[0, :8, :10, 0].mean() > 200


@pytest.mark.parametrize("fps", [1.0, 2.0, 3.0, 7.5, 30.0])
def test_fps_sampling_takes_the_frame_on_screen(vids, fps):
    g = vids["long"]
    dv = decode(g.path, Sampling(fps=fps))
    expected = on_screen(g.relative_times, fps=fps, duration=g.duration)
    np.testing.assert_allclose(dv.timestamps, expected, atol=MS, rtol=0)
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in dv.frames], expected, atol=MS, rtol=0)


@pytest.mark.parametrize("start,end", [(0.5, 3.0), (2.5, 7.1), (5.0, None), (0.0, 0.3)])
def test_start_end_window(vids, start, end):
    g = vids["long"]  # start >= 2 s takes the seek path
    dv = decode(g.path, Sampling(fps=2.0, start=start, end=end))
    expected = on_screen(g.relative_times, fps=2.0, start=start, end=end, duration=g.duration)
    np.testing.assert_allclose(dv.timestamps, expected, atol=MS, rtol=0)
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in dv.frames], expected, atol=MS, rtol=0)


@pytest.mark.parametrize("start,end", [(1.5, 4.0), (2.5, None), (4.4, 5.0), (0.0, 6.0)])
def test_a_frame_held_on_screen_is_taken_at_every_target_it_shows_at(vids, start, end):
    g = vids["held"]  # start >= 2 s takes the seek path
    dv = decode(g.path, Sampling(fps=2.0, start=start, end=end))
    expected = on_screen(g.relative_times, fps=2.0, start=start, end=end, duration=g.duration)
    assert start > 1.0 or 1.0 in expected
    np.testing.assert_allclose(dv.timestamps, expected, atol=MS, rtol=0)
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in dv.frames], expected, atol=MS, rtol=0)


def test_shown_until_tells_a_held_frame_from_the_end_of_the_video(vids):
    g = vids["held"]  # its last frame, at 6.0 s, is on screen until 6.1 s
    for sampling, frames, until in [(Sampling(fps=2.0, start=2.0, end=4.0), [1.0], 4.0),
                                    (Sampling(fps=2.0, start=5.7, end=9.0), [5.7], 6.1),
                                    (Sampling(fps=2.0, start=5.7), [5.7], 6.1),
                                    (Sampling(fps=None, start=2.0, end=4.6), [1.0, 4.5], 4.6),
                                    (Sampling(num_samples=3, start=1.0, end=6.0), [1.0], 6.0)]:
        stream = iter_frames(g.path, sampling)
        assert stream.shown_until is None
        np.testing.assert_allclose([t for _, t in stream], frames, atol=MS)
        assert stream.shown_until == pytest.approx(until, abs=MS), sampling
    stream = iter_frames(g.path, Sampling(fps=2.0, max_frames=1))
    assert len(list(stream)) == 1 and stream.shown_until is None  # stopped before the video's end was known


def test_seek_and_forward_decode_agree(vids):
    g = vids["long"]
    all_frames = decode(g.path, Sampling(fps=None))
    seeked = decode(g.path, Sampling(fps=None, start=4.0))
    keep = all_frames.timestamps >= all_frames.timestamps[all_frames.timestamps <= 4.0][-1]  # on screen at 4 s on
    np.testing.assert_array_equal(seeked.timestamps, all_frames.timestamps[keep])
    np.testing.assert_array_equal(seeked.frames, all_frames.frames[keep])


@pytest.mark.parametrize("n", [1, 4, 9])
def test_uniform_samples(vids, n):
    g = vids["long"]
    dv = decode(g.path, Sampling(num_samples=n))
    expected = on_screen(g.relative_times, n=n, duration=dv.info.duration)
    assert len(dv.timestamps) == n
    np.testing.assert_allclose(dv.timestamps, expected, atol=MS, rtol=0)


def test_max_frames_stops_early(vids):
    dv = decode(vids["long"].path, Sampling(fps=2.0, max_frames=3))
    np.testing.assert_allclose(dv.timestamps, on_screen(vids["long"].relative_times, fps=2.0)[:3], atol=MS)


def test_one_frame_video(vids):
    g = vids["one"]
    for s in (Sampling(), Sampling(fps=None), Sampling(num_samples=1), Sampling(fps=25)):
        dv = decode(g.path, s)
        assert dv.timestamps.tolist() == [0.0] and dv.frames.shape == (1, 120, 160, 3)


def test_audio_track_does_not_disturb_video(vids):
    g = vids["audio_video"]
    dv = decode(g.path, Sampling(fps=None))
    np.testing.assert_allclose(dv.timestamps, g.relative_times, atol=MS)


def test_threads_do_not_change_frames(vids):
    a = decode(vids["long"].path, Sampling(fps=3.0), threads=1)
    b = decode(vids["long"].path, Sampling(fps=3.0), threads=None)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.frames, b.frames)


def test_iter_frames_streams(vids):
    it = iter_frames(vids["long"].path, Sampling(fps=None))
    assert it.info is None  # nothing is opened before the first frame is asked for
    frame, t = next(it)
    assert t == 0.0 and frame.shape == (120, 160, 3)
    assert (it.info.width, it.info.height) == (160, 120) and it.info.damage is None
    it.close()  # closing early releases the file without error


def test_probe(vids):
    g = vids["h264", "start"]
    info = probe(g.path)
    assert info.codec == "h264" and (info.width, info.height) == g.size and info.rotation == 0
    assert info.start_time == pytest.approx(1.25, abs=MS) and info.avg_fps == pytest.approx(10.0)
    assert info.frame_count == len(g.times)
    assert probe(vids["vp9", "rot90"].path).rotation == 90


# ------------------------------------------------------------------ bad input


def test_audio_only_file(tmp_path):
    path = V.make_audio(tmp_path / "sound.m4a")
    with pytest.raises(VideoDecodeError, match="no video stream") as e:
        decode(path)
    assert e.value.path == str(path) and str(path) in str(e.value)
    with pytest.raises(VideoDecodeError):
        probe(path)


def test_zero_bytes(tmp_path):
    path = V.make_zero_bytes(tmp_path / "empty.mp4")
    with pytest.raises(VideoDecodeError, match="empty") as e:
        decode(path)
    assert str(path) in str(e.value) and isinstance(e.value, VcdfastError)


def test_not_a_video(tmp_path):
    import av

    path = V.make_not_a_video(tmp_path / "notes.mp4")
    with pytest.raises(VideoDecodeError) as e:
        decode(path)
    assert isinstance(e.value.cause, av.error.FFmpegError) and str(path) in str(e.value)
    assert e.value.partial is None and e.value.frames_decoded == 0


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_tags_that_are_not_utf8_do_not_stop_decoding(tmp_path, suffix):
    # Older cameras and editors write tags in Latin-1 and the like; PyAV before 19 refuses such
    # a file at open unless told to be lenient, and 19 no longer takes that argument.
    slot = "TITLE-SLOT"
    g = V.make_video(tmp_path / f"utf8{suffix}", seconds=1, title=slot)
    data = g.path.read_bytes()
    assert data.count(slot.encode()) == 1
    latin1 = "Été à Noël".encode("latin-1")  # as long as the slot, so the container stays whole
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(data.replace(slot.encode(), latin1))
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    want, got = decode(g.path, Sampling(fps=None)), decode(path, Sampling(fps=None))
    np.testing.assert_array_equal(got.timestamps, want.timestamps)
    np.testing.assert_array_equal(got.frames, want.frames)
    assert dataclasses.replace(probe(path), path=str(g.path)) == probe(g.path)


def test_missing_file(tmp_path):
    with pytest.raises(VideoDecodeError) as e:
        probe(tmp_path / "nope.mp4")
    assert isinstance(e.value.cause, FileNotFoundError)


def test_truncated_mp4_without_index(tmp_path):
    g = V.make_video(tmp_path / "full.mp4", seconds=4, content="clock")
    cut = V.make_truncated(g.path, tmp_path / "cut.mp4", 0.5)  # the index (moov) is at the end: unopenable
    with pytest.raises(VideoDecodeError, match="cut.mp4"):
        decode(cut)


def test_truncated_stream_gives_its_decodable_part_with_a_warning(tmp_path):
    g = V.make_video(tmp_path / "full.mkv", codec="mjpeg", seconds=4, fps=10, content="clock")
    cut = V.make_truncated(g.path, tmp_path / "cut.mkv", 0.5)
    with pytest.warns(PartialDecodeWarning) as caught:
        part = decode(cut, Sampling(fps=None))
    assert 0 < len(part.timestamps) < len(g.times)
    np.testing.assert_allclose(part.timestamps, g.relative_times[: len(part.timestamps)], atol=MS)
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in part.frames], part.timestamps, atol=MS)
    end = part.timestamps[-1] + 0.1  # the last frame is on screen for one interval
    assert part.info.decoded_end == pytest.approx(end, abs=MS)
    (w,) = caught
    span = f"decoded 0.000-{end:.3f} s of the declared 0.000-4.000 s"
    assert str(cut) in str(w.message) and span in str(w.message) and span in part.info.damage
    whole = decode(g.path, Sampling(fps=None))
    assert whole.info.damage is None and whole.info.decoded_end is None


def test_corrupt_middle_gives_the_frames_before_it(tmp_path):
    g = V.make_video(tmp_path / "full.mp4", seconds=4, fps=10, content="clock")
    data = bytearray(g.path.read_bytes())
    n = len(data)
    data[n // 2:n // 2 + n // 4] = np.random.default_rng(0).integers(0, 256, n // 4, np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with pytest.warns(PartialDecodeWarning, match="bad.mp4' is damaged.*of the declared 0.000-4.000 s"):
        part = decode(bad, Sampling(fps=None))
    assert 0 < len(part.timestamps) < len(g.times) and "InvalidDataError" in part.info.damage
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in part.frames], part.timestamps, atol=MS)
    with pytest.raises(VideoDecodeError, match="bad.mp4.*InvalidDataError"):
        decode(bad, Sampling(fps=None), strict=True)


def test_truncated_stream_keeps_frames_before_the_cut_when_strict(tmp_path):
    g = V.make_video(tmp_path / "full.mkv", codec="mjpeg", seconds=4, fps=10, content="clock")
    cut = V.make_truncated(g.path, tmp_path / "cut.mkv", 0.5)
    with pytest.raises(VideoDecodeError, match="truncated") as e:
        decode(cut, Sampling(fps=None), strict=True)
    err = e.value
    part = err.partial
    assert part is not None and 0 < len(part.timestamps) < len(g.times)
    # what was decoded is right: the generator's first frames, with their times
    np.testing.assert_allclose(part.timestamps, g.relative_times[: len(part.timestamps)], atol=MS)
    np.testing.assert_allclose([V.read_clock(f) / 1000 for f in part.frames], part.timestamps, atol=MS)
    assert err.frames_decoded == len(part.timestamps)
    assert err.decoded_until == pytest.approx(part.timestamps[-1], abs=MS)
    assert "cut.mkv" in str(err) and "4.0" in str(err)


@pytest.mark.parametrize("kw", [dict(fps=0), dict(fps=-1), dict(fps=float("nan")), dict(start=-1),
                                dict(start=2, end=1), dict(max_frames=0), dict(num_samples=1.5),
                                dict(fps="1"), dict(max_frames=True)])
def test_sampling_validation(kw):
    with pytest.raises(ValueError):
        Sampling(**kw)


def test_sampling_roundtrip():
    s = Sampling(fps=2.5, start=1.0, end=9.0, max_frames=7)
    assert Sampling.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="unknown"):
        Sampling.from_dict({"fps": 1, "rate": 2})


def test_bad_arguments(vids):
    with pytest.raises(TypeError):
        decode(vids["one"].path, {"fps": 1})
    with pytest.raises(ValueError):
        decode(vids["one"].path, size=(0, 10))


# ------------------------------------------------------------------ frames left undecoded


@pytest.fixture(scope="module")
def bframe_vids(tmp_path_factory):
    """Videos with non-reference frames (B-frames, with and without a B-pyramid), which
    decoding at a sampling rate leaves out in H.264 and single-layer HEVC; HEVC of several
    temporal sub-layers and MPEG-4 part 2 decode whole."""
    import av

    d = tmp_path_factory.mktemp("bframes")
    pyramid = {"bf": "3", "b-pyramid": "normal"}
    hevc = [V.make_video(d / f"hevc{layers}.mp4", codec="hevc", seconds=5, fps=25, content="clock",
                         options={"x265-params": f"log-level=none:bframes=4:b-pyramid=1:temporal-layers={layers}"})
            for layers in (1, 3)] if "libx265" in av.codecs_available else []
    return [
        V.make_video(d / "cfr25.mp4", seconds=6, fps=25, gop=50, content="clock", options=pyramid),
        V.make_video(d / "flat.mp4", seconds=5, fps=30, content="clock", options={"bf": "2", "b-pyramid": "none"}),
        V.make_video(d / "vfr.mp4", seconds=6, fps=20, vfr=True, seed=7, content="clock", options=pyramid),
        V.make_video(d / "late.mkv", seconds=5, fps=24, start_time=1.5, content="clock", options=pyramid),
        V.make_video(d / "mpeg4.mp4", codec="mpeg4", seconds=5, fps=25, content="clock", options={"bf": "2"}),
        # open GOPs: B-frames after a keyframe in decode order are shown before it; MPEG-TS seeks loosely
        V.make_video(d / "opengop.ts", seconds=6, fps=25, gop=25, content="clock",
                     options={"bf": "3", "x264-params": "open-gop=1"}),
        V.make_video(d / "interlaced.mp4", seconds=5, fps=25, content="clock",
                     options={"bf": "3", "x264-params": "interlaced=1:tff=1"}),
        *hevc,
    ]


def _random_sampling(rng) -> Sampling:
    kw = {}
    if rng.random() < 0.25:
        kw["num_samples"] = int(rng.integers(1, 12))
    else:
        kw["fps"] = float(rng.choice([0.5, 1.0, 2.0, 3.0, 7.5, 12.5]))
    if rng.random() < 0.4:
        kw["start"] = float(rng.uniform(0, 4))
    if rng.random() < 0.4:
        kw["end"] = float((kw.get("start") or 0) + rng.uniform(0.2, 4))
    if rng.random() < 0.2:
        kw["max_frames"] = int(rng.integers(1, 6))
    return Sampling(**kw)


def test_leaving_out_unsampled_frames_changes_no_sampled_frame(bframe_vids):
    rng = np.random.default_rng(11)
    for g in bframe_vids:
        for sampling in [Sampling(), *(_random_sampling(rng) for _ in range(12))]:
            whole = decode(g.path, sampling, skip_unsampled=False)
            fast = decode(g.path, sampling)
            np.testing.assert_array_equal(fast.timestamps, whole.timestamps, err_msg=f"{g.path.name} {sampling}")
            np.testing.assert_array_equal(fast.frames, whole.frames, err_msg=f"{g.path.name} {sampling}")
            assert fast.info == whole.info
            np.testing.assert_allclose([V.read_clock(f) / 1000 for f in fast.frames], fast.timestamps, atol=MS)


def test_sampling_leaves_out_non_reference_frames(bframe_vids):
    g = bframe_vids[0]
    stream = iter_frames(g.path, Sampling(fps=1.0))
    assert len(list(stream)) == 6
    assert stream.skipped > len(g.times) / 3  # 3 B-frames of every 4, less the top of each pyramid
    every = iter_frames(g.path, Sampling(fps=None))
    assert len(list(every)) == len(g.times) and every.skipped == 0
    unskipped = iter_frames(g.path, Sampling(fps=1.0), skip_unsampled=False)
    assert len(list(unskipped)) == 6 and unskipped.skipped == 0
    for other in bframe_vids[1:]:
        stream = iter_frames(other.path, Sampling(fps=1.0))
        assert len(list(stream)) > 0
        # MPEG-4 part 2 is never dropped from (packed B-frames), nor HEVC of three sub-layers
        whole = other.path.name in ("mpeg4.mp4", "hevc3.mp4")
        assert (stream.skipped == 0) == whole, (other.path.name, stream.skipped)


def test_a_cut_stream_sampled_ends_where_decoding_everything_ends(tmp_path):
    g = V.make_video(tmp_path / "full.mkv", seconds=4, fps=25, content="clock", options={"bf": "3"})
    cut = V.make_truncated(g.path, tmp_path / "cut.mkv", 0.6)
    with pytest.warns(PartialDecodeWarning):
        whole = decode(cut, Sampling(fps=2.0), skip_unsampled=False)
    with pytest.warns(PartialDecodeWarning):
        fast = decode(cut, Sampling(fps=2.0))
    np.testing.assert_array_equal(fast.timestamps, whole.timestamps)
    np.testing.assert_array_equal(fast.frames, whole.frames)
    assert fast.info == whole.info and fast.info.damage is not None


# the decoder fails on the damage (MP4, Matroska), or the demuxer does (NUT)
@pytest.mark.parametrize("suffix,at,length", [(".mp4", 0.5, 0.25), (".mkv", 0.5, 0.25), (".nut", 0.6, 0.4)])
def test_a_corrupt_stream_sampled_keeps_what_decoding_everything_keeps(tmp_path, suffix, at, length):
    g = V.make_video(tmp_path / f"full{suffix}", seconds=4, fps=25, content="clock", options={"bf": "3"})
    data = bytearray(g.path.read_bytes())
    i, k = int(len(data) * at), int(len(data) * length)
    data[i:i + k] = np.random.default_rng(1).integers(0, 256, k, np.uint8).tobytes()
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(bytes(data))
    with pytest.warns(PartialDecodeWarning):
        whole = decode(bad, Sampling(fps=5.0), skip_unsampled=False)
    with pytest.warns(PartialDecodeWarning):
        fast = decode(bad, Sampling(fps=5.0))
    assert len(whole.timestamps) > 0
    np.testing.assert_array_equal(fast.timestamps, whole.timestamps)
    np.testing.assert_array_equal(fast.frames, whole.frames)
    # the decoded span ends at the last frame decoded: frames left out just before the error
    # were never decoded, so it can end a few frames (the B-frames of a group) earlier
    assert whole.info.decoded_end - 4 / 25 - MS <= fast.info.decoded_end <= whole.info.decoded_end
    def cause(damage):
        return re.sub(r"^decoded 0\.000-[0-9.]+ s", "", damage)

    assert cause(fast.info.damage) == cause(whole.info.damage)


@pytest.mark.parametrize("gop", [None, 25])  # x264's default: one keyframe in these 6 s
def test_a_start_in_a_stream_without_a_keyframe_index(tmp_path, gop):
    # MPEG-TS indexes no keyframes: a seek lands on any packet, past `start` or where nothing decodes
    g = V.make_video(tmp_path / "a.ts", seconds=6, fps=25, gop=gop, content="clock", options={"bf": "3"})
    for start, end in [(2.5, None), (3.0, 5.1), (4.96, None)]:
        dv = decode(g.path, Sampling(fps=2.0, start=start, end=end))
        expected = on_screen(g.relative_times, fps=2.0, start=start, end=end, duration=dv.info.duration)
        assert len(expected) > 0
        np.testing.assert_allclose(dv.timestamps, expected, atol=MS, rtol=0)
        np.testing.assert_allclose([V.read_clock(f) / 1000 for f in dv.frames], expected, atol=MS, rtol=0)


def test_packed_b_frames_are_all_decoded():
    # a DivX-style AVI: MPEG-4 part 2 packets that each hold a P- and a B-frame; leaving one out
    # would shift the others' times, so nothing is left out there
    import realdata

    path = realdata.package_root("opencv-doc") / realdata.OPENCV_DATA / "Megamind.avi"
    for sampling in (Sampling(), Sampling(fps=2.0), Sampling(num_samples=7)):
        stream = iter_frames(path, sampling, size=(160, 120))
        fast = list(stream)
        whole = decode(path, sampling, size=(160, 120), skip_unsampled=False)
        assert stream.skipped == 0 and len(fast) == len(whole.timestamps) > 5
        np.testing.assert_array_equal([t for _, t in fast], whole.timestamps)
        np.testing.assert_array_equal(np.stack([f for f, _ in fast]), whole.frames)
