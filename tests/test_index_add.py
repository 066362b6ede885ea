"""Index.add's policies, on real files: an id that names other content is a conflict
(on_conflict), failures raise AddError once the rest of the batch is indexed (on_error), and a
damaged file is indexed for its decodable part unless strict."""

from __future__ import annotations

import pytest

from vcdfast.errors import AddError, PartialDecodeWarning
from vcdfast.index import Index
from videos import make_not_a_video, make_truncated, make_video

MODEL = "sscd-mobile"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("add")
    (d / "other").mkdir()
    return {
        "clip": make_video(d / "clip.mp4", seconds=3, fps=4, seed=1).path,
        "other_clip": make_video(d / "other" / "clip.mp4", seconds=3, fps=4, seed=2).path,  # same id, other content
        "b": make_video(d / "b.mp4", seconds=3, fps=4, seed=3).path,
        "broken": make_not_a_video(d / "broken.mp4"),
        "cut": make_truncated(make_video(d / "long.mkv", seconds=8, fps=4, seed=4, codec="mjpeg").path,
                              d / "cut.mkv", 0.5),
    }


def test_a_conflicting_id_fails_after_the_batch_and_keeps_the_indexed_video(tmp_path, files):
    with Index.open(tmp_path / "ix", model=MODEL) as ix:
        assert ix.add(files["clip"], progress=False).added == ["clip"]
        with pytest.raises(AddError) as e:
            ix.add([files["other_clip"], files["broken"], files["b"]], progress=False)
        report = e.value.report
        assert report.added == ["b"]  # the rest of the batch was indexed
        assert set(e.value.failed) == {str(files["other_clip"]), str(files["broken"])}
        conflict = e.value.failed[str(files["other_clip"])]
        assert str(files["clip"]) in conflict and str(files["other_clip"]) in conflict and "on_conflict" in conflict
        assert "2 of 3 input(s) not indexed" in str(e.value) and "broken.mp4" in str(e.value)
        assert ix.record("clip").source == str(files["clip"])  # nothing lost
        assert ix.add(files["clip"], progress=False).skipped == ["clip"]  # same content: idempotent
        assert ix.add(files["other_clip"], on_conflict="skip", progress=False).kept == ["clip"]
        assert ix.record("clip").source == str(files["clip"])
        assert ix.add(files["other_clip"], on_conflict="replace", progress=False).replaced == ["clip"]
        assert ix.record("clip").source == str(files["other_clip"])
        assert ix.verify().ok and len(ix) == 2


def test_on_error_report_returns_the_failures(tmp_path, files):
    with Index.open(tmp_path / "ix", model=MODEL) as ix:
        report = ix.add([files["broken"], files["b"]], on_error="report", progress=False)
        with pytest.raises(ValueError, match="on_conflict"):
            ix.add([], on_conflict="overwrite")
    assert report.added == ["b"] and list(report.failed) == [str(files["broken"])] and not report.ok


def test_a_damaged_file_is_indexed_for_its_decodable_part_unless_strict(tmp_path, files):
    with Index.open(tmp_path / "ix", model=MODEL) as ix:
        with pytest.raises(AddError, match="cut.mkv.*truncated"):
            ix.add(files["cut"], strict=True, progress=False)
        assert "cut" not in ix
        seen = []
        with pytest.warns(PartialDecodeWarning, match="cut.mkv"):
            report = ix.add(files["cut"], progress=False, on_media=lambda p, t: seen.append(t))
        assert report.added == ["cut"] and "of the declared 0.000-8.000 s" in report.partial["cut"]
        stored = ix.get("cut")
        assert 2.0 < stored.timestamps[-1] < 6.0  # about half of the 8 s
        assert seen and seen == sorted(seen) and seen[-1] == stored.timestamps[-1]
