"""vcdfast.report: the PNG is opened and its pixels checked; the HTML is loaded in headless Chromium."""

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from vcdfast.metrics import Match

pytest.importorskip("matplotlib", reason="the `report` extra (matplotlib) is not installed")
from PIL import Image  # noqa: E402

from vcdfast import report  # noqa: E402
from videos import make_video  # noqa: E402


def _is_red(px: np.ndarray) -> np.ndarray:
    # anti-aliased edges blend the red with the grey map: keep clearly red pixels only
    px = px[..., :3].astype(int)
    return (px[..., 0] > 180) & (px[..., 1] < 90) & (px[..., 2] < 90)


def _longest_run(idx: np.ndarray) -> np.ndarray:
    runs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
    return max(runs, key=len)


def _map_and_boxes():
    rng = np.random.default_rng(0)
    sim = rng.uniform(0.0, 0.2, (60, 80)).astype(np.float32)
    sim[10:25, 30:45] = 1.0  # the copy: query frames 10..24 match reference frames 30..44
    sim[40:55, 5:16] = 0.6
    return sim, [[10, 30, 24, 44], [40, 5, 54, 15]]


@pytest.mark.parametrize("seconds", [False, True])
def test_plot_alignment_draws_boxes_where_the_matches_are(tmp_path, seconds):
    sim, boxes = _map_and_boxes()
    out = tmp_path / "map.png"
    # in seconds: 2 fps on the query from 0 s, 4 fps on the reference from 100 s (the map is
    # drawn on the sampling grid, so the pixels are those of the frame-index drawing)
    kw = dict(q_intervals=np.arange(60)[:, None] / 2 + [0, 0.5],
              r_intervals=100 + np.arange(80)[:, None] / 4 + [0, 0.25]) if seconds else {}
    rects = report.plot_alignment(sim, boxes, out, scores=[0.9, 0.5], title="Q vs R", **kw)
    img = np.asarray(Image.open(out).convert("RGB"))
    red = _is_red(img)
    assert red.any()

    # the outline of the first box runs along the edges of the white block (value 1.0): a box
    # spans from its first frame's start to its last frame's end (found in the map area: the
    # rows and columns that are mostly dark background)
    dark = np.all(img < 70, axis=-1)
    rows = _longest_run(np.nonzero(dark.sum(axis=1) > 0.3 * dark.sum(axis=1).max())[0])
    cols = _longest_run(np.nonzero(dark.sum(axis=0) > 0.3 * dark.sum(axis=0).max())[0])  # not the colour bar
    white = np.zeros_like(dark)
    white[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = np.all(img > 245, axis=-1)[
        rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    ys, xs = np.nonzero(white)
    x0, y0, x1, y1 = rects[0]
    tol = 3.0  # px: the 2 px outline at 100 dpi covers the block's outermost pixels, plus rounding
    assert abs(x0 - xs.min()) <= tol and abs(x1 - (xs.max() + 1)) <= tol, (rects[0], xs.min(), xs.max())
    assert abs(y0 - ys.min()) <= tol and abs(y1 - (ys.max() + 1)) <= tol, (rects[0], ys.min(), ys.max())

    for x0, y0, x1, y1 in rects:
        # sample the four edges: (almost) all red; the centre and a point outside: not red
        t = np.linspace(0.1, 0.9, 25)
        edge = [(x0 + (x1 - x0) * s, y) for s in t for y in (y0, y1)]
        edge += [(x, y0 + (y1 - y0) * s) for s in t for x in (x0, x1)]
        hits = [red[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2].any() for x, y in edge]
        assert np.mean(hits) >= 0.95
        assert not red[int((y0 + y1) / 2), int((x0 + x1) / 2)]
    # nothing red away from the boxes: the middle of the map between them
    assert not red[int(rects[0][3] + 3):int(rects[1][1] - 3), int(rects[1][2] + 5):int(rects[0][0] - 5)].any()
    # each box is labelled (times and score: yellow text on a dark patch) beside its top-right corner
    label = (img[..., 0] > 200) & (img[..., 1] > 180) & (img[..., 2] < 120)
    for _x0, y0, x1, _y1 in rects:
        assert label[int(y0):int(y0) + 25, int(x1):int(x1) + 60].sum() > 20


def test_plot_alignment_ground_truth_and_bad_input(tmp_path):
    out = tmp_path / "gt.png"
    report.plot_alignment(np.zeros((20, 20)), np.zeros((0, 4)), out, gt_boxes=[[2, 2, 15, 15]])
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    cyan = (img[..., 0] < 90) & (img[..., 1] > 160) & (img[..., 2] > 200)
    assert cyan.any() and not _is_red(img).any()
    with pytest.raises(ValueError, match="2-D"):
        report.plot_alignment(np.zeros(5), [], out)
    with pytest.raises(ValueError, match="scores"):
        report.plot_alignment(np.zeros((5, 5)), [[0, 0, 1, 1]], out, scores=[1, 2])
    with pytest.raises(ValueError, match="r_intervals"):
        report.plot_alignment(np.zeros((5, 5)), [], out, q_intervals=np.zeros((5, 2)), r_intervals=np.zeros((4, 2)))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    ref = make_video(d / "ref.mp4", seconds=6, fps=10, seed=1).path
    query = make_video(d / "query <q>.mp4", seconds=5, fps=10, seed=2).path  # a name that needs escaping
    return d, query, ref


def _matches():
    return [Match("query", "R&1", 1.0, 3.0, 2.0, 4.0, 0.7), Match("query", "R&1", 3.5, 4.5, 0.0, 1.0, 0.9)]


def test_html_report_rows_and_embedded_images(videos):
    d, query, ref = videos
    out = report.write_html_report(_matches(), d / "report.html", query_path=query, ref_paths={"R&1": ref},
                                   thumbnails=3)
    text = out.read_text()
    rows = re.findall(r'<tr class="match".*?</tr>', text)
    assert len(rows) == 2
    assert "0:03.500" in rows[0] and "0:01.000" in rows[1]  # best score first
    for row in rows:
        assert "R&amp;1" in row
        for kind in ("query", "ref"):
            uris = re.findall(rf'<img class="{kind}" src="(data:image/jpeg;base64,[^"]+)"', row)
            assert len(uris) == 3
    assert "query &lt;q&gt;.mp4" in text and "<q>" not in text
    with pytest.raises(ValueError, match="no file for reference"):
        report.write_html_report(_matches(), d / "x.html", query_path=query, ref_paths={})


def test_thumbnails_start_with_the_frame_on_screen_when_the_match_starts(videos):
    d, query, ref = videos  # 10 fps: a match from 1.05 s starts on the frame shown from 1.0 s
    match = Match("query", "R&1", 1.05, 3.05, 2.05, 4.05, 0.7)
    text = report.write_html_report([match], d / "between.html", query_path=query, ref_paths={"R&1": ref},
                                    thumbnails=3).read_text()
    assert re.findall(r'alt="query at ([0-9.]+) s"', text) == ["1.00", "1.70", "2.30"]
    assert re.findall(r'alt="ref at ([0-9.]+) s"', text) == ["2.00", "2.70", "3.30"]


_CHECK = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || (e.target && e.target.src))), true);
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const pre = document.createElement("pre");
  pre.id = "vcdfast-check";
  pre.textContent = JSON.stringify({
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    rows: document.querySelectorAll("tr.match").length,
    rows_with_both: [...document.querySelectorAll("tr.match")].filter(
      r => r.querySelector("img.query") && r.querySelector("img.ref")).length,
    errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="headless Chromium is not installed (Debian package `chromium`)")
def test_html_report_loads_in_chromium(videos):
    d, query, ref = videos
    out = report.write_html_report(_matches(), d / "chrome.html", query_path=query, ref_paths={"R&1": ref})
    probe = d / "chrome_check.html"
    probe.write_text(out.read_text().replace("<head>", "<head>" + _CHECK, 1))
    run = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="vcdfast-check">(.*?)</pre>', run.stdout, re.S)
    assert found, f"no result from Chromium (rc {run.returncode}): {run.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    assert result["rows"] == 2 and result["rows_with_both"] == 2
    assert result["images"] >= 4 and result["broken"] == 0
    assert result["errors"] == []
    console = [line for line in run.stderr.splitlines() if ":CONSOLE(" in line]
    assert console == [], console
