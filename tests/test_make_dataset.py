"""bench/make_dataset.py's plan and frame mechanics, without footage: the splits' disjointness,
the counts the benchmark promises, determinism from the seed, ground-truth times, the
frame edits' geometry, and what --resume keeps (on a tiny split of a generated picture).
(Rendering real footage is the generator's own run: see bench/datasets.md.)"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import make_dataset as md  # noqa: E402

# (duration s, (width, height)) of the pinned videos, as make_dataset.probe measures them
VIDEOS = {
    "vtest": (79.500, (768, 576)), "megamind": (11.303, (720, 528)), "tree": (29.933, (320, 240)),
    "dual_monitors": (37.133, (1024, 768)), "xine_visual": (4.040, (384, 288)),
    "lbn_clip_121747": (7.000, (320, 180)), "lbn_clip_121919": (8.933, (320, 180)),
    "lbn_clip_121953": (10.567, (320, 180)), "lbn_clip_122300": (9.467, (320, 180)),
    "lbn_clip_122340": (9.100, (320, 180)), "lbn_clip_122429": (8.500, (320, 180)),
    "lbn_clip_122701": (8.267, (320, 180)), "lbn_clip_122741": (6.700, (320, 180)),
    "lbn_clip_122828": (22.300, (320, 180)), "lbn_clip_123258": (7.167, (320, 180)),
    "lbn_clip_123446": (6.567, (320, 180)), "lbn_clip_123523": (7.867, (320, 180)),
    "lbn_ui_newsequence1": (5.600, (399, 251)), "lbn_ui_newsequence2": (7.800, (399, 251)),
    "lbn_ui_newsequence4": (5.900, (399, 251)), "lbn_ui_newsequence6": (7.100, (399, 251)),
    "lbn_ui_newsequence8": (6.300, (399, 251)),
}
NAMES = set(md.TRANSFORMS) | set(md.ENCODINGS) | {"plain"}


def plan(seed=0, **extras):
    """The plan of 40 references and 30 + 30 queries per split; extras: tuning_extra, held_out_extra,
    tuning_rounds."""
    assert set(VIDEOS) == {s.name for s in md.SOURCES if s.role == "video"}
    return md.plan_splits(seed, {n: d for n, (d, _) in VIDEOS.items()}, {n: s for n, (_, s) in VIDEOS.items()},
                          list(md.SPLITS), 40, 30, 30, **extras)


@pytest.fixture(scope="module")
def plans():
    return plan()


def test_extra_tuning_queries_leave_the_held_out_splits_as_they_are(plans):
    more = plan(tuning_extra=20)
    tune, *held_out = md.SPLITS
    for name in held_out:
        assert json.dumps(more[name], sort_keys=True) == json.dumps(plans[name], sort_keys=True)
    assert more[tune]["queries"][:60] == plans[tune]["queries"]
    extra = more[tune]["queries"][60:]
    assert [q["id"] for q in extra] == [f"Q{i:03d}" for i in range(60, 100)]
    copies = [sum(p["kind"] == "copy" for p in q["parts"]) for q in extra]
    assert all(copies[:20]) and not any(copies[20:])
    assert json.dumps(extra) != json.dumps(plans[tune]["queries"][:40])  # new draws, not a repeat


def test_extra_held_out_queries_leave_every_earlier_query_as_it_is(plans):
    tuned = plan(tuning_extra=20)
    more = plan(tuning_extra=20, held_out_extra=[10])
    assert_appended(tuned, more, 60, 10)


def assert_appended(before: dict, after: dict, first: int, n: int) -> None:
    """`after` is `before` with a round of n queries with copies and n without appended to each
    held-out split, from Q`first` on, drawn from the split's own references."""
    tune, *held_out = md.SPLITS
    assert json.dumps(after[tune], sort_keys=True) == json.dumps(before[tune], sort_keys=True)
    for name in held_out:
        assert after[name]["queries"][:first] == before[name]["queries"]
        assert {k: v for k, v in after[name].items() if k != "queries"} == \
            {k: v for k, v in before[name].items() if k != "queries"}
        extra = after[name]["queries"][first:]
        assert [q["id"] for q in extra] == [f"Q{i:03d}" for i in range(first, first + 2 * n)]
        copies = [sum(p["kind"] == "copy" for p in q["parts"]) for q in extra]
        assert all(copies[:n]) and not any(copies[n:])
        # copies drawn from the split's own references, never another split's
        refs = {f"{name}_m{i:02d}" for i in range(len(before[name]["montages"]))} | set(before[name]["shipped"])
        assert {p["ref"] for q in extra for p in q["parts"] if p["kind"] == "copy"} <= refs
    assert json.dumps(after[held_out[0]]["queries"][first:]) != json.dumps(after[held_out[1]]["queries"][first:])


def plan_hash(p) -> str:
    return hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()


def test_one_held_out_round_is_the_plan_of_the_former_int():
    """--held-out-extra 30 (rounds [30]) draws the plan that held_out_extra=30 drew before it
    took rounds (sha256 of that plan, from the commit before: vcd6's queries), and a round of 0
    draws nothing."""
    rounds = md.rounds("30")
    assert rounds == [30] and md.rounds("30,30") == [30, 30]
    one = plan(tuning_extra=30, held_out_extra=rounds)
    assert plan_hash(one) == "3694fa049dd7cf9d64fc0aba9eea8bb21709d7f6198de231a457d72f0ffe58f2"
    assert plan_hash(plan(tuning_extra=30, held_out_extra=[0])) == plan_hash(plan(tuning_extra=30))


def test_a_second_held_out_round_leaves_the_first_as_it_is():
    one, two = plan(tuning_extra=30, held_out_extra=[30]), plan(tuning_extra=30, held_out_extra=[30, 30])
    assert all(len(one[name]["queries"]) == 120 for name in md.SPLITS[1:])
    assert_appended(one, two, 120, 30)


def test_tuning_rounds_leave_every_other_query_as_it_is():
    """Each tuning round draws from its own stream: the held-out splits, the tuning split's
    earlier queries and its earlier rounds stay as they are, whatever round of either is added."""
    tune, *held_out = md.SPLITS
    base = plan(tuning_extra=30, held_out_extra=[30])
    more = plan(tuning_extra=30, held_out_extra=[30], tuning_rounds=[10, 5])
    for name in held_out:
        assert json.dumps(more[name], sort_keys=True) == json.dumps(base[name], sort_keys=True)
    assert {k: v for k, v in more[tune].items() if k != "queries"} == \
        {k: v for k, v in base[tune].items() if k != "queries"}
    assert more[tune]["queries"][:120] == base[tune]["queries"]
    extra = more[tune]["queries"][120:]
    assert [q["id"] for q in extra] == [f"Q{i:03d}" for i in range(120, 150)]
    copies = [sum(p["kind"] == "copy" for p in q["parts"]) for q in extra]
    assert all(copies[:10]) and not any(copies[10:20]) and all(copies[20:25]) and not any(copies[25:])
    refs = {f"{tune}_m{i:02d}" for i in range(len(base[tune]["montages"]))} | set(base[tune]["shipped"])
    assert {p["ref"] for q in extra for p in q["parts"] if p["kind"] == "copy"} <= refs
    later = plan(tuning_extra=30, held_out_extra=[30, 30], tuning_rounds=[10, 5, 5])
    assert later[tune]["queries"][:150] == more[tune]["queries"]
    # rounds of one size are new draws, not repeats of each other
    two = plan(tuning_rounds=[10, 10])[tune]["queries"]
    assert json.dumps([q["parts"] for q in two[60:80]]) != json.dumps([q["parts"] for q in two[80:100]])


def test_round_ids_name_the_queries_each_round_adds():
    assert md.round_ids(60, [30, 0, 30]) == [{"extra": 30, "ids": ["Q060", "Q119"]}, {"extra": 0, "ids": []},
                                             {"extra": 30, "ids": ["Q120", "Q179"]}]
    assert md.round_ids(120, []) == []


def tiny_split(tmp_path):
    """A split of one 1 s montage over a generated photo and one 1 s query of filler over it:
    what build_split needs, without the pinned footage."""
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(md._resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), 640, 480)).save(photo)
    shot = {"source": "photo", "seconds": 1.0, "pan": {"a": [0.8, 0.2, 0.3], "b": [0.9, 0.7, 0.6]}}
    query = {"id": "Q000", "fps": md.FPS, "encoding": {}, "parts": [
        {"kind": "filler", "frames": 15, "content": shot}]}
    plan = {"shipped": [], "montage": ["photo"], "distractors": ["photo"], "montages": [[shot]],
            "queries": [query]}
    return plan, {"photo": photo}


def test_resume_keeps_existing_videos_and_rewrites_the_rest(tmp_path):
    plan, files = tiny_split(tmp_path)
    out = tmp_path / "split"
    videos = [out / "refs" / "s_m00.mp4", out / "queries" / "Q000.mp4"]
    md.build_split("s", out, plan, files, {}, 0, 1)
    rendered = [v.read_bytes() for v in videos]
    assert all(b[4:8] == b"ftyp" for b in rendered)
    assert not list(out.rglob("*.part"))
    # an existing video is kept as it is, even one this plan would not render (resume trusts it);
    # the ground truth and metadata are rewritten through a new file, so a hard link to the old
    # one (a split copied with cp -al) keeps its bytes
    videos[1].write_bytes(b"kept")
    (out / "gt.csv").write_text("stale")
    os.link(out / "gt.csv", tmp_path / "linked_gt.csv")
    report = md.build_split("s", out, plan, files, {}, 0, 1, resume=True)
    assert report["kept_videos"] == 2
    assert videos[0].read_bytes() == rendered[0] and videos[1].read_bytes() == b"kept"
    assert (out / "gt.csv").read_text().startswith("query_id,")
    assert (tmp_path / "linked_gt.csv").read_text() == "stale"
    # a missing one is rendered, to the same bytes
    videos[0].unlink()
    assert md.build_split("s", out, plan, files, {}, 0, 1, resume=True)["kept_videos"] == 1
    assert videos[0].read_bytes() == rendered[0]
    # without --resume every video is rendered again
    assert md.build_split("s", out, plan, files, {}, 0, 1)["kept_videos"] == 0
    assert [v.read_bytes() for v in videos] == rendered


def test_sources_pinned_and_unique():
    names = [s.name for s in md.SOURCES]
    assert len(names) == len(set(names))
    for s in md.SOURCES:
        assert s.package in md.PACKAGES, s
        assert len(s.sha256) == 64 and s.role in ("video", "photo", "logo", "emoji"), s
    assert len({s.sha256 for s in md.SOURCES}) == len(md.SOURCES), "one file listed twice"


def test_splits_use_disjoint_sources(plans):
    seen: dict[str, str] = {}
    for split, p in plans.items():
        refs = set(p["shipped"]) | set(p["montage"])
        assert not refs & set(p["distractors"]), split
        for name in refs | set(p["distractors"]):
            assert name not in seen, f"{name} in {seen.get(name)} and {split}"
            seen[name] = split
        # what the queries show around copies is distractor material only
        for q in p["queries"]:
            for part in q["parts"]:
                for key in ("content", "background"):
                    if key in part:
                        assert part[key]["source"] in p["distractors"]
        assert {sh["source"] for m in p["montages"] for sh in m} == set(p["montage"])


def test_counts_lengths_and_edits(plans):
    for split, p in plans.items():
        assert len(p["shipped"]) + len(p["montages"]) >= 40
        rows, log = md.ground_truth(p["queries"], dict(enumerate(p["montages"])))
        copies = {q["id"]: sum(x["kind"] == "copy" for x in q["parts"]) for q in p["queries"]}
        assert len(copies) >= 60 and sum(c == 0 for c in copies.values()) == len(copies) // 2
        assert all(1 <= c <= 4 for c in copies.values() if c)
        assert [r[1:] for r in rows] == [[e["ref_id"], e["query_start"], e["query_end"], e["ref_start"],
                                          e["ref_end"]] for e in log]
        lengths = [r[5] - r[4] for r in rows]
        assert min(lengths) >= 1.9 and max(lengths) <= 30.5, split
        assert sum(x < 5 for x in lengths) >= len(lengths) // 4, "too few short copies"
        pairs = [(e["query_id"], e["ref_id"]) for e in log]
        assert len(set(pairs)) < len(pairs), "no query copies one reference twice"
        for e in log:
            names = [t["name"] for t in e["transforms"]]
            assert set(names) <= NAMES and len([n for n in names if n != "plain"]) <= 3
            assert len(set(names) & md.COMPOSITIONS) <= 1
        # negatives carry edited decoys too, so an edit is no cue for a copy
        for q in p["queries"]:
            if copies[q["id"]] == 0:
                assert any(x["kind"] == "decoy" for x in q["parts"])
        durations = [sum(x["frames"] for x in q["parts"]) / q["fps"] for q in p["queries"]]
        assert 10 <= min(durations) and max(durations) <= 66


def test_plan_is_deterministic():
    a, b, c = plan(0), plan(0), plan(1)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a, sort_keys=True) != json.dumps(c, sort_keys=True)


def test_ground_truth_times():
    q = {"id": "Q", "fps": 10.0, "encoding": {}, "parts": [
        {"kind": "filler", "frames": 25},
        {"kind": "copy", "ref": "R", "ref_start": 3.0, "frames": 40, "speed": 2.0, "transforms": []},
        {"kind": "decoy", "frames": 10},
        {"kind": "copy", "ref": "R", "ref_start": 1.0, "frames": 30, "speed": 0.5, "transforms": []},
    ]}
    rows, log = md.ground_truth([q], {})
    # frame j of a copy shows the reference at ref_start + j / fps * speed
    assert rows == [["Q", "R", 2.5, 6.5, 3.0, 11.0], ["Q", "R", 7.5, 10.5, 1.0, 2.5]]
    assert [e["part"] for e in log] == [1, 3]


def test_ground_truth_lists_other_showings_of_the_frames():
    """A montage showing the same clip moments twice: a copy of them lists the other showing;
    another pan over the same photograph is other footage and is not listed."""
    shots = [{"source": "clip", "seconds": 4.0, "start": 2.0},  # clip 2-6 s at montage 0-4 s
             {"source": "photo", "seconds": 3.0, "pan": {}},  # 4-7 s
             {"source": "clip", "seconds": 5.0, "start": 4.5},  # clip 4.5-9.5 s at 7-12 s
             {"source": "photo", "seconds": 3.0, "pan": {}}]  # 12-15 s
    q = {"id": "Q", "fps": 10.0, "encoding": {}, "parts": [
        {"kind": "filler", "frames": 10},
        {"kind": "copy", "ref": "M", "ref_start": 1.0, "frames": 20, "speed": 2.0, "transforms": []},
        {"kind": "copy", "ref": "M", "ref_start": 12.5, "frames": 20, "speed": 1.0, "transforms": []}]}
    rows, log = md.ground_truth([q], {"M": shots})
    # the first copy shows montage 1-4 s (clip 3-6 s) then photo 4-5 s; clip 4.5-6 s (montage 2.5-4 s,
    # query 1.75-2.5 s) is shown again at 7-8.5 s
    assert rows == [["Q", "M", 1.0, 3.0, 1.0, 5.0], ["Q", "M", 3.0, 5.0, 12.5, 14.5]]
    assert [e["repeats"] for e in log] == [[[1.75, 2.5, 7.0, 8.5]], []]
    # showings under a second are left out
    assert md.repeated_frames(shots, 3.2, 4.0) == []


def test_frame_edits_geometry():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 256, (md.H, md.W, 3), dtype=np.uint8)
    bg = np.zeros_like(f)
    for name, t in md.TRANSFORMS.items():
        if t.apply is None or name in ("logo", "emoji"):  # overlays need the pinned logo / font
            continue
        out = t.apply(f, bg, t.draw(rng), 0)
        assert out.shape == f.shape and out.dtype == np.uint8, name
    flip = md.TRANSFORMS["hflip"].apply
    np.testing.assert_array_equal(flip(flip(f, bg, {}, 0), bg, {}, 0), f)
    # picture in picture: the copy covers `area` of the frame, the rest is the background
    out = md._pip(f, bg, {"area": 0.25, "x": 1.0, "y": 0.0, "border": 0, "border_colour": [0, 0, 0]}, 0)
    inset = out.any(axis=2)
    assert abs(inset.mean() - 0.25) < 0.01 and inset[0, -1] and not inset[-1, 0]
    # side by side: the copy in one half, the background in the other
    out = md._side_by_side(f, bg, {"split": "vertical", "copy_first": False, "fit": "squeeze"}, 0)
    assert not out[:, : md.W // 2].any() and out[:, md.W // 2:].any()


def test_picture_rect_is_where_the_copy_lands():
    """picture_rect (what bench/layout_oracle.py crops) matches the renderers, pixel for pixel:
    inside it the copy resized, outside it the padding or background."""
    rng = np.random.default_rng(1)
    f = rng.integers(1, 256, (md.H, md.W, 3), dtype=np.uint8)
    bg = np.zeros_like(f)
    for name in ("pip", "padding", "side_by_side"):
        for _ in range(20):
            p = md.TRANSFORMS[name].draw(rng)
            if name == "padding":
                p["colour"] = [0, 0, 0]
            if name == "pip":
                p["border"] = 0
            if name == "side_by_side":
                p["fit"] = "squeeze"
            out = md.TRANSFORMS[name].apply(f, bg, p, 0)
            x, y, w, h = md.picture_rect(name, p)
            np.testing.assert_array_equal(out[y:y + h, x:x + w], md._resize(f, w, h), err_msg=f"{name} {p}")
            rest = out.copy()
            rest[y:y + h, x:x + w] = 0
            assert not rest.any(), (name, p)
    assert md.picture_rect("crop", md.TRANSFORMS["crop"].draw(rng)) is None


def test_encoded_bytes_repeat(tmp_path):
    """Identical frames encode to identical files, whatever the arrays' memory alignment (through
    swscale's RGB -> YUV they did not: the first call and misaligned arrays gave other bytes) and
    in separate processes whose heaps held other bytes before (with x264's assembly, references
    and queries re-rendered from run to run differed in their bottom rows; x264's C code does not)."""
    script = f"""
import sys
import numpy as np
sys.path.insert(0, {str(Path(md.__file__).parent)!r})
import make_dataset as md
big = bytearray(4 << 20)  # freed, it raises malloc's mmap threshold: frames come from the dirtied heap
del big
junk = [bytearray([int(sys.argv[1])]) * (300 << 10) for _ in range(32)]
del junk
rng = np.random.default_rng(0)
frames = [md._resize(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8), md.W, md.H) for _ in range(8)]
def at_offset(a, off):  # the same pixels at another address
    buf = np.empty(a.nbytes + 64, np.uint8)
    view = buf[off:off + a.nbytes].reshape(a.shape)
    view[:] = a
    return view
for i, off in enumerate([0, 1, 3, 16, 0]):
    md.encode(md.Path({str(tmp_path)!r}) / f"{{sys.argv[1]}}-{{i}}.mp4", (at_offset(a, off) for a in frames), md.FPS)
"""
    for fill in (0x00, 0xA5):
        subprocess.run([sys.executable, "-c", script, str(fill)], check=True, timeout=300)
    files = list(tmp_path.glob("*.mp4"))
    assert len(files) == 10 and len({p.read_bytes() for p in files}) == 1


def test_rgb_conversions_agree_with_swscale():
    """The numpy YUV <-> RGB conversions (used because swscale's varied) are BT.601 limited range,
    as swscale's: within a few levels of it both ways, odd plane heights included (600 x 450)."""
    import av

    rng = np.random.default_rng(0)
    rgb = md._resize(rng.integers(0, 256, (45, 60, 3), dtype=np.uint8), md.W, md.H)
    ours = md.yuv_frame(rgb)
    theirs = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    for a, b in zip(ours.planes, theirs.planes):
        assert np.abs(np.frombuffer(a, np.uint8).astype(int) - np.frombuffer(b, np.uint8)).max() <= 4
    yuv = rng.integers(16, 236, (450 * 3 // 2, 600), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    diff = np.abs(md.to_rgb(frame).astype(int) - frame.to_ndarray(format="rgb24"))
    assert diff.mean() < 8 and md.to_rgb(frame).shape == (450, 600, 3)
