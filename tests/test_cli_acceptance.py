"""The command line as a user meets it, through the real command (`python -m vcdfast` in a
subprocess) on generated videos: ids that would overwrite another file, many-query reports,
options checked before any decoding, one-line errors with documented exit codes, progress
and summaries on a non-terminal stderr, and damaged files that keep what decodes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_index_e2e import COPIES, MECHANICS_JSON, MECHANICS_VIEWS, TOL, corpus, shots  # noqa: F401  (corpus is a fixture)

import vcdfast
from videos import make_not_a_video, make_truncated, make_video, splice

PACKAGE_ROOT = str(Path(vcdfast.__file__).resolve().parent.parent)

QUERY = ("query", "--options", MECHANICS_JSON)  # generated scenes: their own options (test_index_e2e)


def vcdfast_cli(*argv, env_extra: dict | None = None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*(env_extra or {}).pop("PYTHONPATH", "").split(os.pathsep),
                                                      PACKAGE_ROOT, env.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "vcdfast", *map(str, argv)], env=env, text=True,
                          capture_output=True, timeout=timeout, **kw)


def one_line_error(run: subprocess.CompletedProcess) -> str:
    """The whole of stderr, which must be one line and no traceback."""
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, corpus):  # noqa: F811
    root = tmp_path_factory.mktemp("accept")
    index = root / "ix"
    run = vcdfast_cli("index", "--index", index, "--model", "sscd-mobile", "--views", ",".join(MECHANICS_VIEWS), "-q",
                      *corpus["refs"])
    assert run.returncode == 0, run.stderr
    return {"root": root, "index": index}


def best_by_ref(rows) -> dict:
    best = {}
    for r in rows:
        if r["ref_id"] not in best or float(r["score"]) > float(best[r["ref_id"]]["score"]):
            best[r["ref_id"]] = r
    return best


def test_a_different_file_under_an_indexed_id_is_refused_and_nothing_is_lost(indexed, corpus):  # noqa: F811
    other = indexed["root"] / "other"
    other.mkdir()
    impostor = shutil.copy(corpus["unrelated"], other / "ref1.mp4")  # same stem as an indexed reference
    run = vcdfast_cli("index", "--index", indexed["index"], "-q", impostor)
    assert run.returncode == 1
    line = one_line_error(run)
    assert str(corpus["refs"][0]) in line and str(impostor) in line, line  # both files named
    assert "--replace" in line and "--id-from path" in line, line  # and the ways out
    # the genuine reference is still there and its copy still found
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "--format", "csv", "-q", corpus["query"])
    assert run.returncode == 0, run.stderr
    seed, r0, q0, length = COPIES[0]
    hit = best_by_ref(csv.DictReader(io.StringIO(run.stdout)))["ref1"]
    assert abs(float(hit["query_start"]) - q0) <= TOL and abs(float(hit["ref_start"]) - r0) <= TOL, hit
    # re-adding the same content stays idempotent; --id-from path indexes the other file beside it
    run = vcdfast_cli("index", "--index", indexed["index"], "-q", "--format", "json", corpus["refs"][0])
    assert run.returncode == 0 and json.loads(run.stdout) == [{"id": "ref1", "status": "skipped (unchanged)"}]
    run = vcdfast_cli("index", "--index", indexed["index"], "-q", "--format", "json", "--id-from", "path", impostor)
    assert run.returncode == 0 and json.loads(run.stdout) == [{"id": str(Path(impostor).resolve()),
                                                               "status": "added"}], run.stderr
    run = vcdfast_cli("remove", "--index", indexed["index"], Path(impostor).resolve())
    assert run.returncode == 0, run.stderr


@pytest.fixture(scope="module")
def three_queries(indexed, corpus):  # noqa: F811
    """A query with copies, one without, and a file that does not decode."""
    broken = make_not_a_video(indexed["root"] / "broken.mp4")
    return [corpus["query"], corpus["unrelated"], broken]


def test_progress_lines_summary_and_no_match_queries(indexed, three_queries):
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], *three_queries)
    assert run.returncode == 1  # one input failed
    assert "Traceback" not in run.stderr
    progress = [line for line in run.stderr.splitlines() if line.startswith("[")]
    names = [Path(p).name for p in three_queries]
    assert len(progress) == 3, run.stderr
    for i, (line, name) in enumerate(zip(progress, names), start=1):
        assert re.match(rf"\[{i}/3\] {re.escape(name)} … \d+\.\d s media, \d+\.\d s", line), line
    assert re.search(r"query\.mp4 … 2[78]\.\d s media", progress[0]), progress[0]  # the whole 28 s query
    assert run.stderr.splitlines()[-1] == "vcdfast: 3 queried, 1 with matches, 1 without, 1 failed", run.stderr
    table = run.stdout.splitlines()
    assert any(line.split(None, 1) == ["unrelated", "(no match)"] for line in table), run.stdout
    assert any(line.split() == ["broken", "(failed)"] for line in table), run.stdout
    assert {line.split()[1] for line in table[1:] if line.startswith("query ")} == {"ref1", "ref2"}

    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "--format", "json", "-q", *three_queries[:2])
    assert run.returncode == 0 and run.stderr == ""  # --quiet: no progress, no summary
    out = json.loads(run.stdout)
    assert [(q["query_id"], len(q["matches"]) > 0) for q in out] == [("query", True), ("unrelated", False)]
    assert out[1]["matches"] == [] and out[1]["coverage"]["complete"] is True


def test_report_with_three_queries_is_one_page_with_a_section_each(indexed, three_queries):
    out = indexed["root"] / "report.html"
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "-q", "--report", out, *three_queries)
    assert run.returncode == 1 and out.exists(), run.stderr  # the broken input fails; the page is written
    page = out.read_text()
    sections = re.findall(r'<section class="query" data-query="([^"]*)">(.*?)</section>', page, re.S)
    assert [q for q, _ in sections] == ["query", "unrelated", "broken"]
    body = dict(sections)
    assert {m for m in re.findall(r'<tr class="match" data-ref="([^"]*)"', body["query"])} == {"ref1", "ref2"}
    assert "No copied segment found" in body["unrelated"]
    assert "Failed: cannot decode video" in body["broken"]


_CHECK = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const pre = document.createElement("pre");
  pre.id = "vcdfast-check";
  pre.textContent = JSON.stringify({
    sections: document.querySelectorAll("section.query").length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    images: imgs.length,
    height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="headless Chromium is not installed (Debian package `chromium`)")
def test_multi_query_report_renders_in_chromium(indexed, three_queries, tmp_path):
    import html

    import numpy as np
    from PIL import Image

    page = indexed["root"] / "shot.html"
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "-q", "--report", page, *three_queries)
    assert page.exists(), run.stderr
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("<head>", "<head>" + _CHECK, 1))
    chrome = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--virtual-time-budget=10000"]
    dom = subprocess.run([*chrome, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="vcdfast-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"no result from Chromium (rc {dom.returncode}): {dom.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    assert result["sections"] == 3 and result["images"] >= 8 and result["broken"] == 0, result
    shot = tmp_path / "shot.png"
    subprocess.run([*chrome, f"--screenshot={shot}", f"--window-size=1200,{min(result['height'], 4000)}",
                    page.as_uri()], capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # the thumbnails are drawn: many pixels that are neither page white nor text grey
    colourful = (img.max(axis=-1) - img.min(axis=-1)) > 40
    assert colourful.mean() > 0.01, colourful.mean()


def test_plot_without_matplotlib_fails_before_decoding_with_the_install_hint(tmp_path):
    blocker = tmp_path / "site"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    # the videos do not exist: had anything been decoded first, the error would name them
    run = vcdfast_cli("compare", tmp_path / "a.mp4", tmp_path / "b.mp4", "--plot", tmp_path / "pair.png",
                      env_extra={"PYTHONPATH": str(blocker)})
    assert run.returncode == 2
    line = one_line_error(run)
    assert "pip install 'vcdfast[report]'" in line and "a.mp4" not in line, line


@pytest.mark.parametrize("argv, code, says", [
    (["query", "--param", "bogus=1"], 2, "unknown chain parameter(s) bogus"),  # the query's default method
    (["query", "--param", "min_sim=-1"], 2, "chain: min_sim must be finite and > 0"),
    (["query", "--method", "tn", "--param", "min_length=-1"], 2, "tn: min_length must be >= 0"),
    (["compare", "--param", "max_path=-1"], 2, "tn: max_path must be >= 0"),  # two files: TN on raw cosine
    (["query", "--views", "bogus"], 2, "unknown view 'bogus'"),
    (["compare", "--model", "no-such-model"], 2, "unknown model 'no-such-model'"),
    (["query", "--frame-neighbours", "0"], 2, "expected a positive int"),
])
def test_bad_options_are_one_line_before_any_decoding(indexed, corpus, argv, code, says):  # noqa: F811
    videos = [corpus["query"]] * (2 if argv[0] == "compare" else 1)
    index = ["--index", indexed["index"]] if argv[0] == "query" else []
    run = vcdfast_cli(*argv, *index, *videos, timeout=60)
    assert run.returncode == code and run.stdout == ""
    assert says in one_line_error(run)


def test_eval_with_a_wrong_header_is_one_line_status_1(tmp_path):
    pred, gt = tmp_path / "pred.csv", tmp_path / "gt.csv"
    pred.write_text("query,ref,start,end\nq,r,0,1\n")
    gt.write_text("query_id,ref_id,query_start,query_end,ref_start,ref_end\nq,r,0,1,0,1\n")
    run = vcdfast_cli("eval", pred, gt, timeout=60)
    assert run.returncode == 1
    assert "missing column(s)" in one_line_error(run)


def test_eval_far_needs_the_pairs_and_says_so(tmp_path):
    gt = tmp_path / "gt.csv"
    gt.write_text("query_id,ref_id,query_start,query_end,ref_start,ref_end\nq1,r1,0,10,0,10\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("query_id,ref_id,query_start,query_end,ref_start,ref_end,score\n"
                    "q1,r1,0,10,0,10,0.9\nq2,r1,0,5,0,5,0.5\n")
    run = vcdfast_cli("eval", pred, gt, timeout=60)
    far = [line for line in run.stdout.splitlines() if line.startswith("vcsl_far")]
    assert run.returncode == 0 and far and "needs the negative pairs (--pairs FILE)" in far[0], run.stdout
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query_id,ref_id\nq1,r1\nq2,r1\nq3,r1\n")
    run = vcdfast_cli("eval", "--format", "json", "--pairs", pairs, pred, gt, timeout=60)
    assert run.returncode == 0 and json.loads(run.stdout)["vcsl_far"] == 0.5, run.stdout  # q2 of {q2, q3}


def test_a_closed_output_pipe_ends_quietly(indexed, corpus):  # noqa: F811
    with subprocess.Popen([sys.executable, "-m", "vcdfast", "query", "--index", str(indexed["index"]), "-q",
                           str(corpus["query"])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": PACKAGE_ROOT}) as proc:
        proc.stdout.close()  # the reader is gone before anything is written (`... | head -0`)
        err = proc.stderr.read()
        rc = proc.wait(timeout=300)
    assert rc == 141 and err == "", err


def test_help_of_eval_and_compare_shows_no_index_options():
    for command in ("eval", "compare"):
        run = vcdfast_cli(command, "--help", timeout=60)
        assert run.returncode == 0 and "--index" not in run.stdout and "--uri" not in run.stdout, run.stdout


# --------------------------------------------------------------------------- damaged input (issue 9, item 6)


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """A 30 s query whose first 10 s copy ref2 (11-19 s), cut to about half its bytes: the copy
    is in the part that decodes, the file still declares 30 s."""
    d = tmp_path_factory.mktemp("truncated")
    content = splice([(shots(104), 2.0), (lambda t: shots(2)(11.0 + t), 8.0), (shots(105), 20.0)])
    full = make_video(d / "long.mkv", seconds=30.0, fps=4.0, size=(160, 120), codec="mjpeg", content=content)
    return make_truncated(full.path, d / "cut.mkv", 0.5)


def test_a_truncated_query_keeps_its_decodable_part(indexed, truncated):
    page = indexed["root"] / "truncated.html"
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "--format", "json", "--report", page, truncated)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    warning = [line for line in run.stderr.splitlines() if line.startswith("vcdfast: warning:")]
    assert len(warning) == 1, run.stderr
    decoded, declared = re.search(r"decoded 0\.000-([\d.]+) s of the declared 0\.000-([\d.]+) s", warning[0]).groups()
    assert str(truncated) in warning[0] and 10.0 < float(decoded) < 20.0 and float(declared) == pytest.approx(30.0)
    (result,) = json.loads(run.stdout)
    assert result["coverage"] == {"decoded": [0.0, pytest.approx(float(decoded), abs=1e-3)],
                                  "declared": [0.0, pytest.approx(30.0)], "complete": False}
    assert f"damaged file: only 0–{float(decoded):.1f} s decoded of the declared 0–30.0 s" in page.read_text()
    hit = max((m for m in result["matches"] if m["ref_id"] == "ref2"), key=lambda m: m["score"])
    assert abs(hit["query_start"] - 2.0) <= TOL and abs(hit["query_end"] - 10.0) <= TOL, hit
    assert abs(hit["ref_start"] - 11.0) <= TOL and abs(hit["ref_end"] - 19.0) <= TOL, hit


def test_strict_refuses_a_truncated_query_with_the_decoders_message(indexed, truncated):
    run = vcdfast_cli(*QUERY, "--index", indexed["index"], "--strict", "-q", truncated)
    assert run.returncode == 1
    line = one_line_error(run)
    assert re.fullmatch(rf"vcdfast: error: cannot decode video {re.escape(repr(str(truncated)))}: stream ends at "
                        r"[\d.]+ s but the file declares 30\.000 s \(truncated\?\) \(after \d+ sampled frames, "
                        r"decoded up to [\d.]+ s\)", line), line
