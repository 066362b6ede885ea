"""The `vcdfast` command line, run in-process through main(argv) on generated videos."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_index_e2e import COPIES, MECHANICS_JSON, TOL, corpus  # noqa: F401  (corpus is a fixture)

from vcdfast.cli import main
from vcdfast.index.settings import DEFAULT_INDEX_VIEWS
from vcdfast.progress import InputProgress
from vcdfast.views import expand_views
from videos import make_not_a_video

QUERY = ("query", "--options", MECHANICS_JSON)  # generated scenes: their own options (test_index_e2e)


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, corpus):  # noqa: F811
    """An index built by `vcdfast index` from a folder holding the references and a bad
    file, plus a path that does not exist."""
    root = tmp_path_factory.mktemp("cli")
    folder = root / "videos"
    folder.mkdir()
    for p in corpus["refs"]:
        (folder / p.name).symlink_to(p)
    make_not_a_video(folder / "broken.mp4")
    index = root / "ix"
    errors = root / "errors.json"
    rc = main(["index", "--index", str(index), "--model", "sscd-mobile", "-q", "--format", "json",
               "--errors", str(errors), str(folder), str(root / "missing.mp4")])
    return {"index": index, "rc": rc, "errors": json.loads(errors.read_text()), "root": root}


def test_index_reports_bad_inputs_and_indexes_the_rest(indexed, capsys):
    assert indexed["rc"] == 1
    failed = {e["path"].rsplit("/", 1)[-1]: e["error"] for e in indexed["errors"]}
    assert set(failed) == {"broken.mp4", "missing.mp4"}, failed
    assert "broken.mp4" in failed["broken.mp4"] and "no such file" in failed["missing.mp4"]
    rc, out, _ = run(capsys, "list", "--index", indexed["index"], "--format", "json")
    assert rc == 0 and [v["id"] for v in json.loads(out)] == ["ref1", "ref2", "ref3"]
    rc, out, _ = run(capsys, "verify", "--index", indexed["index"])
    assert rc == 0 and out.startswith("ok: 3 videos")


def test_stats_and_models_list(indexed, capsys):
    rc, out, _ = run(capsys, "stats", "--index", indexed["index"], "--format", "json")
    stats = json.loads(out)
    views = list(expand_views(DEFAULT_INDEX_VIEWS))  # a new index's reference views
    assert rc == 0 and (stats["videos"], stats["model"], stats["views"]) == (3, "sscd-mobile", views), stats
    # every reference view of a frame is searched
    assert stats["frames"] * len(views) == stats["rows"] > 0 and stats["disk_bytes"] > 0, stats
    rc, out, _ = run(capsys, "stats", "--index", indexed["index"])
    rows = [line.split(None, 1) for line in out.splitlines()]
    assert rc == 0 and rows[0] == ["key", "value"] and ["videos", "3"] in rows, out
    assert ["views", json.dumps(views)] in rows, out
    rc, out, _ = run(capsys, "models", "list", "--format", "json")
    models = {m["name"]: m for m in json.loads(out)}
    assert rc == 0 and models["sscd-mobile"]["dim"] == 512 and models["sscd-mobile"]["input"] == "288x288", models


def test_models_export_isc_needs_a_checkpoint_and_the_export_extra(tmp_path, capsys):
    rc, _, err = run(capsys, "models", "export-isc", tmp_path / "missing.pth.tar", "--out", tmp_path / "models")
    # which of the two it reports depends on whether torch is installed
    assert rc == 1 and err.startswith("vcdfast: error: ") and err.count("\n") == 1, err
    assert "missing.pth.tar does not exist" in err or "pip install 'vcdfast[export]'" in err, err


def test_query_csv_is_vsc_format_with_the_copies(indexed, corpus, capsys):  # noqa: F811
    rc, out, _ = run(capsys, *QUERY, "--index", indexed["index"], "--format", "csv", "-q", corpus["query"])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end", "score"]
    best = {}
    for r in rows:
        if r["ref_id"] not in best or float(r["score"]) > float(best[r["ref_id"]]["score"]):
            best[r["ref_id"]] = r
    assert set(best) == {"ref1", "ref2"}
    for seed, r0, q0, _length in COPIES:
        r = best[f"ref{seed}"]
        assert r["query_id"] == "query"
        assert abs(float(r["query_start"]) - q0) <= TOL and abs(float(r["ref_start"]) - r0) <= TOL, r


def test_query_file_list_and_video_level(indexed, corpus, capsys):  # noqa: F811
    listing = indexed["root"] / "queries.txt"
    listing.write_text(f"# queries\n{corpus['unrelated']}\n\n{corpus['refs'][0]}\n")
    page = indexed["root"] / "video-level.html"
    rc, out, _ = run(capsys, *QUERY, "--index", indexed["index"], "--format", "json", "--video-level",
                     "--candidates", "1", "-q", "--report", page, f"@{listing}")
    assert page.read_text().count('<tr class="match" data-ref="ref1">') == 2  # a section per query, no thumbnails
    results = json.loads(out)
    assert rc == 0 and [r["query_id"] for r in results] == ["unrelated", "ref1"]
    assert all(len(r["matches"]) == 1 for r in results)  # --candidates 1: the nearest video, however far
    hit = results[1]["matches"][0]
    assert hit["ref_id"] == "ref1" and hit["score"] > 0.99


def test_wrong_model_and_unknown_id_fail_with_status_1(indexed, corpus, capsys):  # noqa: F811
    rc, _, err = run(capsys, *QUERY, "--index", indexed["index"], "--model", "sscd", corpus["query"])
    assert rc == 1 and "other settings" in err and "sscd-mobile" in err
    rc, _, err = run(capsys, "remove", "--index", indexed["index"], "no-such-id")
    assert rc == 1 and "no video 'no-such-id'" in err
    rc, _, err = run(capsys, "list", "--index", indexed["root"] / "nowhere")
    assert rc == 1 and "no vcdfast index" in err


def test_compare_two_files(corpus, capsys, tmp_path):  # noqa: F811
    pytest.importorskip("matplotlib", reason="--plot needs the `report` extra (matplotlib)")
    plot = tmp_path / "pair.png"
    rc, out, _ = run(capsys, "compare", "--format", "json", "--plot", plot,  # the default model
                     corpus["query"], corpus["refs"][1])
    assert plot.stat().st_size > 0
    (result,) = json.loads(out)
    matches = result["matches"]
    assert result["coverage"]["query"]["complete"] and result["coverage"]["ref"]["complete"]
    seed, r0, q0, length = COPIES[1]
    assert rc == 0 and matches and all(m["ref_id"] == "ref2" for m in matches)
    assert abs(matches[0]["query_start"] - q0) <= TOL and abs(matches[0]["ref_end"] - (r0 + length)) <= TOL


def test_usage_errors_exit_2(capsys):
    for argv in (["query", "--method", "nope", "x.mp4"], ["query", "--param", "min_sim", "x.mp4"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("vcdfast query: error: argument --"), err


def test_param_reaches_the_aligner(indexed, corpus, capsys):  # noqa: F811
    """--param sets the method's parameter (names from the alignment table): TN with its
    threshold above every similarity finds nothing where the same query found ref1."""
    given = ("--index", indexed["index"], "--format", "json", "-q", corpus["query"])
    rc, out, _ = run(capsys, *QUERY, "--method", "tn", "--param", "max_step=7", *given)
    assert rc == 0 and "ref1" in {m["ref_id"] for m in json.loads(out)[0]["matches"]}
    rc, out, _ = run(capsys, *QUERY, "--method", "tn", "--param", "min_sim=0.99", *given)
    assert rc == 0 and json.loads(out)[0]["matches"] == []


def test_query_views_option(indexed, corpus, capsys):  # noqa: F811
    """--query-views picks the views a query is embedded with (a bad name is a usage error
    before anything is decoded): the whole frame alone still finds the unflipped copy."""
    rc, _, err = run(capsys, *QUERY, "--index", indexed["index"], "--query-views", "full,bogus", corpus["query"])
    assert rc == 2 and err.count("\n") == 1 and "argument --query-views: unknown view 'bogus'" in err, err
    rc, out, _ = run(capsys, *QUERY, "--index", indexed["index"], "--format", "json", "-q", "--query-views", "full",
                     "--frame-neighbours", "16", corpus["query"])
    (result,) = json.loads(out)
    assert rc == 0 and "ref1" in {m["ref_id"] for m in result["matches"]}, result


def test_bad_query_options_are_one_line_usage_errors(capsys):
    for options, why in (("{not json", "Expecting property name"), ('{"nope": 1}', "unknown query options ['nope']"),
                         ('{"views": ["bogus"]}', "unknown view 'bogus'")):
        rc, out, err = run(capsys, "query", "--options", options, "x.mp4")
        assert rc == 2 and not out and err.count("\n") == 1, err
        assert err.startswith("vcdfast query: error: argument --options:") and why in err, err


def test_demo_finds_both_copies(tmp_path, capsys):
    rc, out, _ = run(capsys, "demo", "--dir", tmp_path, "-q")
    assert rc == 0, out
    truth_table, found_table = out.split("known copies (truth):")[1].split("found:")
    truth = {row[0]: [float(x) for x in row[1:5]] for row in (line.split() for line in truth_table.splitlines()[2:])
             if row}
    found = [line.split() for line in found_table.splitlines()[2:] if line.strip()]
    assert sorted(row[1] for row in found) == sorted(truth) == ["ref1", "ref3"], out
    for row in found:  # within one sampling interval (1 s) and a half, as the end-to-end tests ask
        assert max(abs(float(x) - t) for x, t in zip(row[2:6], truth[row[1]])) <= 1.5, out


def test_a_folder_without_videos_is_a_per_input_error(tmp_path, corpus, capsys):  # noqa: F811
    empty, other = tmp_path / "empty", tmp_path / "notes"
    empty.mkdir()
    other.mkdir()
    (other / "readme.txt").write_text("no videos here\n")
    errors = tmp_path / "errors.json"
    rc, out, err = run(capsys, "index", "--index", tmp_path / "ix", "--model", "sscd-mobile", "-q", "--format", "json",
                       "--errors", errors, empty, other, corpus["refs"][0])
    assert rc == 1, err
    assert [r["id"] for r in json.loads(out)] == [corpus["refs"][0].stem]  # the other input is indexed
    failed = {e["path"]: e["error"] for e in json.loads(errors.read_text())}
    assert set(failed) == {str(empty), str(other)}, failed
    for folder, message in failed.items():
        assert f"no video files found in {folder!r}" in message and message in err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_in_a_terminal_rewrites_one_line_and_elsewhere_prints_finished_inputs():
    for stream in (_Terminal(), io.StringIO()):
        clock = iter([0.0, 0.1, 0.5, 0.6, 0.6, 40.0, 41.0])  # one reading per call below
        p = InputProgress(2, quiet=False, stream=stream, clock=lambda: next(clock))
        p.start("dir/a.mp4")  # 0.0
        p.media(1.0)  # 0.1: too soon after the start to redraw in a terminal
        p.media(5.0)  # 0.5: redrawn in a terminal
        p.done()  # 0.6
        p.start("b.mp4")  # 0.6
        p.media(600.0)  # 40.0: a plain line on a long input, every 30 s
        p.done("2 match(es)")  # 41.0
        if stream.isatty():
            assert stream.getvalue() == (
                "\r\x1b[K[1/2] a.mp4 … 0.0 s media, 0.0 s\r\x1b[K[1/2] a.mp4 … 5.0 s media, 0.5 s"
                "\r\x1b[K[1/2] a.mp4 … 5.0 s media, 0.6 s\n\r\x1b[K[2/2] b.mp4 … 0.0 s media, 0.0 s"
                "\r\x1b[K[2/2] b.mp4 … 600.0 s media, 39.4 s\r\x1b[K[2/2] b.mp4 … 600.0 s media, 40.4 s, 2 match(es)\n")
        else:
            assert stream.getvalue().splitlines() == [
                "[1/2] a.mp4 … 5.0 s media, 0.6 s", "[2/2] b.mp4 … 600.0 s media, 39.4 s so far",
                "[2/2] b.mp4 … 600.0 s media, 40.4 s, 2 match(es)"]
    quiet = io.StringIO()
    p = InputProgress(1, quiet=True, stream=quiet)
    p.start("a.mp4")
    p.done()
    assert quiet.getvalue() == ""
