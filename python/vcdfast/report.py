"""Visual reports: the similarity map with the detected segments, and an HTML page that shows
each match as query and reference thumbnails side by side.

matplotlib (the `report` extra) and PyAV are imported inside the functions that need them.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReportSection", "plot_alignment", "write_html_report", "write_report"]

BOX_COLOUR = "#ff1a1a"  # detected segments: saturated red, absent from the grey colour map
GT_COLOUR = "#1ad1ff"  # ground truth (optional): cyan, dashed
LABEL_COLOUR = "#ffe14d"  # box labels: yellow on a dark patch, readable on any grey and not box-red


def plot_alignment(sim_map, boxes, out_png, *, q_intervals=None, r_intervals=None, gt_boxes=None,
                   scores: Sequence[float] | None = None, title: str | None = None, dpi: int = 100,
                   max_inches: float = 8.0) -> list[tuple[float, float, float, float]]:
    """Draw `sim_map` (query rows × reference columns) with each box outlined and labelled
    with its times (and score); write a PNG.

    boxes / gt_boxes: (N, 4) inclusive frame boxes in VCSL order [q_start, r_start, q_end,
    r_end]. q_intervals / r_intervals: (T, 2) [start, end) seconds of each row / column
    (VideoEmbedding.intervals()): the axes are then in seconds and a box spans from its first
    frame's start to its last frame's end. Without them, frame i spans [i - 0.5, i + 0.5) and
    the axes count frames. Returns each box's outline in PNG pixel coordinates (x0, y0, x1,
    y1), origin top-left, so callers can link or crop regions.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    from matplotlib.patches import Rectangle

    sim = np.asarray(sim_map, dtype=np.float32)
    if sim.ndim != 2 or 0 in sim.shape:
        raise ValueError(f"sim_map must be a non-empty 2-D array (query × reference), got shape {sim.shape}")
    box_arr = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    if scores is not None and len(scores) != len(box_arr):
        raise ValueError(f"scores has {len(scores)} entries for {len(box_arr)} boxes")
    tq, tr = sim.shape
    seconds = q_intervals is not None and r_intervals is not None
    qi, ri = (_spans(q_intervals, tq, "q_intervals"), _spans(r_intervals, tr, "r_intervals")) if seconds else \
        (_spans(None, tq, ""), _spans(None, tr, ""))
    unit = " s" if seconds else ""

    def extent(b):  # (q0, r0, q1, r1) in axis units
        q0, r0, q1, r1 = b
        return qi[q0, 0], ri[r0, 0], qi[q1, 1], ri[r1, 1]

    scale = max_inches / max(tq, tr)
    fig = Figure(figsize=(max(tr * scale, 2.5) + 1.5, max(tq * scale, 2.5) + 1.0), dpi=dpi)
    ax = fig.add_subplot()
    finite = sim[np.isfinite(sim)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    # one cell per frame pair on the sampling grid: the intervals of a sampled video are even
    im = ax.imshow(sim, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest",
                   aspect="auto", extent=(ri[0, 0], ri[-1, 1], qi[-1, 1], qi[0, 0]))
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="similarity")
    for b in np.asarray(gt_boxes if gt_boxes is not None else [], np.int64).reshape(-1, 4):
        q0, r0, q1, r1 = extent(b)
        ax.add_patch(Rectangle((r0, q0), r1 - r0, q1 - q0, fill=False, edgecolor=GT_COLOUR, linewidth=1.5,
                               linestyle="--"))
    for i, b in enumerate(box_arr):
        q0, r0, q1, r1 = extent(b)
        ax.add_patch(Rectangle((r0, q0), r1 - r0, q1 - q0, fill=False, edgecolor=BOX_COLOUR, linewidth=2))
        label = f"q {q0:.1f}–{q1:.1f}{unit}\nr {r0:.1f}–{r1:.1f}{unit}"
        if scores is not None:
            label += f"\nscore {scores[i]:.2f}"
        ax.annotate(label, (r1, q0), xytext=(3, 0), textcoords="offset points", color=LABEL_COLOUR, fontsize=7,
                    va="top", ha="left", bbox=dict(boxstyle="square,pad=0.15", fc="black", ec="none", alpha=0.7))
    ax.set_xlim(ri[0, 0], ri[-1, 1])
    ax.set_ylim(qi[-1, 1], qi[0, 0])
    ax.set_xlabel("reference (s)" if seconds else "reference frame")
    ax.set_ylabel("query (s)" if seconds else "query frame")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.canvas.draw()
    height = fig.canvas.get_width_height()[1]
    pixels = []
    for b in box_arr:
        q0, r0, q1, r1 = extent(b)
        (x0, y0), (x1, y1) = ax.transData.transform([(r0, q0), (r1, q1)])
        pixels.append((float(x0), float(height - y0), float(x1), float(height - y1)))
    fig.savefig(out_png, dpi=dpi)
    return pixels


def _spans(intervals, n: int, name: str) -> np.ndarray:
    """(n, 2) [start, end) per frame: the given intervals (checked), else [i - 0.5, i + 0.5)."""
    if intervals is None:
        return np.arange(n, dtype=np.float64)[:, None] + [-0.5, 0.5]
    out = np.asarray(intervals, np.float64)
    if out.shape != (n, 2):
        raise ValueError(f"{name} must be ({n}, 2) [start, end) seconds, got shape {out.shape}")
    return out


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: middle; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.strip { display: flex; gap: 4px; }
.strip figure { margin: 0; text-align: center; font-size: 11px; color: #666; }
.strip img { display: block; border: 1px solid #999; }
.label { font-size: 11px; color: #666; margin: 2px 0; }
section.query { margin-bottom: 2em; }
.note { color: #a05a00; }
.error { color: #b00020; }
"""


def _fmt(t: float) -> str:
    m, s = divmod(float(t), 60.0)
    return f"{int(m)}:{s:06.3f}"


def _thumbs(path, start: float, end: float, n: int, width: int) -> list[tuple[str, float]]:
    """n frames spread over [start, end) of the video at `path`, as (JPEG data URI, time)."""
    from PIL import Image

    from vcdfast.decode import Sampling, decode, probe

    info = probe(path)
    height = max(2, round(width * info.height / max(info.width, 1)))
    end = max(end, start + 1e-3)
    video = decode(path, Sampling(fps=None, start=max(start, 0.0), end=end, num_samples=n), size=(width, height))
    out = []
    for frame, t in zip(video.frames, video.timestamps):
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="JPEG", quality=80)
        out.append(("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), float(t)))
    return out


def _strip(label: str, thumbs: list[tuple[str, float]], kind: str) -> str:
    figs = "".join(f'<figure><img class="{kind}" src="{uri}" alt="{kind} at {t:.2f} s">'
                   f"<figcaption>{_fmt(t)}</figcaption></figure>" for uri, t in thumbs)
    return f'<div class="label">{html.escape(label)}</div><div class="strip">{figs}</div>'


@dataclass
class ReportSection:
    """One query in a report: its file, id, matches (VSC 2022 attributes, seconds; or
    video-level hits with query_id, ref_id, score), what of it decoded (the CLI's coverage
    dict: decoded / declared spans and complete), and the error if it failed."""

    query_path: Any
    query_id: str
    matches: Sequence[Any]
    coverage: Mapping[str, Any] | None = None
    error: str | None = None


def write_html_report(matches: Iterable[Any], out_html, *, query_path, ref_paths: Mapping[Any, Any],
                      title: str | None = None, thumbnails: int = 4, thumb_width: int = 160) -> Path:
    """write_report() for one query: one table row per match with its reference, times, score,
    and query and reference thumbnails of the copied segment side by side. `matches` are
    objects with the VSC 2022 attributes (query_id, ref_id, query_start, query_end, ref_start,
    ref_end, score), in seconds; `ref_paths` maps each ref_id to its video file."""
    section = ReportSection(query_path, Path(query_path).stem, list(matches))
    return write_report([section], out_html, ref_paths=ref_paths,
                        title=title or f"Copies found in {Path(query_path).name}", thumbnails=thumbnails,
                        thumb_width=thumb_width)


def write_report(sections: Sequence[ReportSection], out_html, *, ref_paths: Mapping[Any, Any],
                 title: str | None = None, video_level: bool = False, thumbnails: int = 4,
                 thumb_width: int = 160) -> Path:
    """Write a self-contained HTML page (images embedded as data URIs) with a section per
    query: its matches ordered by score, best first, each a table row with thumbnails of the
    copied segment (no thumbnails for video-level hits), or a line saying that nothing was
    found or why the query failed. A damaged query's section says what part of it decoded."""
    missing = sorted({str(m.ref_id) for s in sections for m in s.matches if m.ref_id not in ref_paths})
    if missing:
        raise ValueError(f"ref_paths has no file for reference id(s) {missing}; pass ref_paths={{id: path}}")
    if thumbnails < 1 or thumb_width < 16:
        raise ValueError(f"thumbnails must be >= 1 and thumb_width >= 16, got {thumbnails}, {thumb_width}")
    heading = html.escape(title or f"Copies found in {len(sections)} quer{'y' if len(sections) == 1 else 'ies'}")
    body = "".join(_section(s, ref_paths, video_level, thumbnails, thumb_width) for s in sections)
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{heading}</h1>{body}</body></html>")
    out = Path(out_html)
    out.write_text(page, encoding="utf-8")
    return out


def _section(s: ReportSection, ref_paths, video_level: bool, thumbnails: int, thumb_width: int) -> str:
    matches = sorted(s.matches, key=lambda m: -float(m.score))
    notes = []
    if s.coverage is not None and not s.coverage.get("complete", True):
        (_, end), declared = s.coverage["decoded"], s.coverage.get("declared")
        notes.append(f"damaged file: only 0–{end:.1f} s decoded"
                     + (f" of the declared 0–{declared[1]:.1f} s" if declared else ""))
    head = (f'<section class="query" data-query="{html.escape(str(s.query_id), quote=True)}">'
            f"<h2>{html.escape(str(s.query_id))}</h2><p>Query: <code>{html.escape(str(s.query_path))}</code> — "
            f"{len(matches)} match(es)</p>" + "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes))
    if s.error is not None:
        return head + f'<p class="error">Failed: {html.escape(s.error)}</p></section>'
    if video_level:
        rows = [f'<tr class="match" data-ref="{html.escape(str(m.ref_id), quote=True)}"><td class="num">{i}</td>'
                f'<td>{html.escape(str(m.ref_id))}</td><td class="num">{float(m.score):.3f}</td></tr>'
                for i, m in enumerate(matches, start=1)]
        columns = "<th>#</th><th>reference</th><th>score</th>"
    else:
        rows = [_match_row(i, m, s.query_path, ref_paths[m.ref_id], thumbnails, thumb_width)
                for i, m in enumerate(matches, start=1)]
        columns = ("<th>#</th><th>reference</th><th>query segment</th><th>reference segment</th>"
                   "<th>score</th><th>query / reference frames</th>")
    if not rows:
        return head + '<p class="nomatch">No copied segment found.</p></section>'
    return head + f"<table><thead><tr>{columns}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"


def _match_row(i: int, m, query_path, ref_path, thumbnails: int, thumb_width: int) -> str:
    q = _thumbs(query_path, m.query_start, m.query_end, thumbnails, thumb_width)
    r = _thumbs(ref_path, m.ref_start, m.ref_end, thumbnails, thumb_width)
    return (f'<tr class="match" data-ref="{html.escape(str(m.ref_id), quote=True)}">'
            f'<td class="num">{i}</td><td>{html.escape(str(m.ref_id))}</td>'
            f'<td class="num">{_fmt(m.query_start)} – {_fmt(m.query_end)}<br>'
            f'<span class="label">{m.query_end - m.query_start:.2f} s</span></td>'
            f'<td class="num">{_fmt(m.ref_start)} – {_fmt(m.ref_end)}<br>'
            f'<span class="label">{m.ref_end - m.ref_start:.2f} s</span></td>'
            f'<td class="num">{float(m.score):.3f}</td>'
            f'<td>{_strip("query", q, "query")}{_strip("reference", r, "ref")}</td></tr>')
