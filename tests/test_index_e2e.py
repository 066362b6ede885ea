"""End to end with real parts: PyAV-generated videos, ONNX Runtime with the real SSCD models,
LevelDB and the embedded first stage. A query built from two edited segments of two indexed
videos must find both, at the right times; an unrelated query must find nothing.

These check mechanics (planted copies, times), with query options of their own: generated
scenes look alike to SSCD (unrelated ones score up to 0.65 cosine) in ways real footage does
not, so they must not choose or veto the defaults; tests/test_query_real.py holds the
defaults to account on real footage."""

from __future__ import annotations

import json
import os

import pytest

from vcdfast.errors import AddError, IndexMismatchError
from vcdfast.index import Index
from vcdfast.synthetic import QUERY_OPTIONS
from videos import Scenes, brightness, compose, crop, hflip, make_video, overlay_text, retime, splice

# Sampling is 1 fps, so a segment edge is known to one descriptor interval (1 s); TN may
# also start a path one frame early or late. Required: within 1.5 s of the truth.
TOL = 1.5
REF_SECONDS, FPS, SIZE = 24.0, 4.0, (160, 120)
# (ref seed, ref start, query start, length): two copied segments, each edited differently,
# each starting mid-shot
COPIES = [(1, 7.0, 4.0, 8.0), (2, 11.0, 16.0, 8.0)]
MECHANICS = QUERY_OPTIONS  # raw cosine, whole frame, thresholds above what unrelated generated scenes reach
MECHANICS_JSON = json.dumps(MECHANICS.to_dict())  # the same for the command line (`query --options`)
# the reference views those thresholds were set for: one whole-frame descriptor, since the best
# of several (the default index's two blends) lifts unrelated generated scenes over them
MECHANICS_VIEWS = ("full",)


def shots(seed):
    """Shots of 2 s: footage whose frames are not all alike, so a copy's start is visible."""
    return Scenes(seed, SIZE, scene_seconds=2.0)


def build_query(path):
    ref1, ref2 = shots(1), shots(2)
    spliced = splice([
        (shots(101), 4.0),
        (compose(retime(ref1, COPIES[0][1]), crop(0.1, 0.1, 0.9, 0.9), brightness(1.2)), 8.0),
        (shots(102), 4.0),
        (compose(retime(ref2, COPIES[1][1]), hflip, overlay_text("COPY")), 8.0),
        (shots(103), 4.0),
    ])
    return make_video(path, seconds=28.0, fps=FPS, size=SIZE, content=spliced).path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    refs = [make_video(d / f"ref{seed}.mp4", seconds=REF_SECONDS, fps=FPS, size=SIZE, content=shots(seed)).path
            for seed in (1, 2, 3)]
    query = build_query(d / "query.mp4")
    unrelated = make_video(d / "unrelated.mp4", seconds=16.0, fps=FPS, size=SIZE, content=shots(200)).path
    return {"refs": refs, "query": query, "unrelated": unrelated}


def check_found(matches):
    """Both copies found, times within TOL, and nothing else with a matching score."""
    by_ref = {}
    for m in matches:
        by_ref.setdefault(m.ref_id, []).append(m)
    assert set(by_ref) == {"ref1", "ref2"}, matches
    for seed, r0, q0, length in COPIES:
        best = max(by_ref[f"ref{seed}"], key=lambda m: m.score)
        assert abs(best.query_start - q0) <= TOL, best
        assert abs(best.query_end - (q0 + length)) <= TOL, best
        assert abs(best.ref_start - r0) <= TOL, best
        assert abs(best.ref_end - (r0 + length)) <= TOL, best


def run_end_to_end(index_dir, corpus, model, **open_kw):
    with Index.open(index_dir, model=model, views=MECHANICS_VIEWS, **open_kw) as ix:
        report = ix.add(corpus["refs"])
        assert report.ok and sorted(report.added) == ["ref1", "ref2", "ref3"], report
        assert ix.verify().ok
        check_found(ix.query(corpus["query"], options=MECHANICS))
        assert ix.query(corpus["unrelated"], options=MECHANICS) == []
        # adding the same files again is a no-op
        again = ix.add(corpus["refs"])
        assert sorted(again.skipped) == ["ref1", "ref2", "ref3"] and not again.added, again
        # another file under an indexed id: refused naming both files, or kept out on request
        other = str(corpus["unrelated"])
        with pytest.raises(AddError) as refused:
            ix.add([other], ids=["ref1"])
        message = refused.value.failed[other]
        assert "already indexed" in message and os.path.abspath(corpus["refs"][0]) in message and other in message
        assert ix.add([other], ids=["ref1"], on_conflict="skip").kept == ["ref1"]
        assert len(ix) == 3 and ix.record("ref1").source == os.path.abspath(corpus["refs"][0])


def test_end_to_end_sscd_mobile(tmp_path, corpus):
    run_end_to_end(tmp_path / "ix", corpus, "sscd-mobile")


@pytest.mark.slow
def test_end_to_end_sscd(tmp_path, corpus):
    run_end_to_end(tmp_path / "ix", corpus, "sscd")


def test_video_level_search_finds_the_source(tmp_path, corpus):
    with Index.open(tmp_path / "ix", model="sscd-mobile") as ix:
        ix.add(corpus["refs"])
        hits = ix.query_videos(corpus["refs"][2], top_n=2)
        assert hits[0].ref_id == "ref3" and hits[0].score > 0.99, hits
        assert hits[1].score < hits[0].score


def test_opening_with_another_model_fails_clearly(tmp_path, corpus):
    with Index.open(tmp_path / "ix", model="sscd-mobile") as ix:
        ix.add(corpus["refs"][:1])
    with pytest.raises(IndexMismatchError, match="model 'sscd'.*sscd-mobile"):
        Index.open(tmp_path / "ix", model="sscd")
    with Index.open(tmp_path / "ix") as ix:  # no model given: the recorded one
        assert ix.spec.name == "sscd-mobile" and len(ix) == 1
