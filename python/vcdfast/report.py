"""Visual reports: the similarity map with the detected segments, and an HTML page that shows
each match as query and reference thumbnails side by side.

matplotlib (the `report` extra) and PyAV are imported inside the functions that need them.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["plot_alignment", "write_html_report"]

BOX_COLOUR = "#ff1a1a"  # detected segments: saturated red, absent from the grey colour map
GT_COLOUR = "#1ad1ff"  # ground truth (optional): cyan, dashed


def plot_alignment(sim_map, boxes, out_png, *, gt_boxes=None, scores: Sequence[float] | None = None,
                   title: str | None = None, query_label: str = "query frame", ref_label: str = "reference frame",
                   dpi: int = 100, max_inches: float = 8.0) -> list[tuple[float, float, float, float]]:
    """Draw `sim_map` (query rows × reference columns) with each box outlined; write a PNG.

    boxes / gt_boxes: (N, 4) in VCSL order [q_start, r_start, q_end, r_end], in the map's
    index units (frame i is drawn centred on i). Returns each box's outline in PNG pixel
    coordinates (x0, y0, x1, y1), origin top-left, so callers can link or crop regions.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    from matplotlib.patches import Rectangle

    sim = np.asarray(sim_map, dtype=np.float32)
    if sim.ndim != 2 or 0 in sim.shape:
        raise ValueError(f"sim_map must be a non-empty 2-D array (query × reference), got shape {sim.shape}")
    box_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if scores is not None and len(scores) != len(box_arr):
        raise ValueError(f"scores has {len(scores)} entries for {len(box_arr)} boxes")
    tq, tr = sim.shape
    scale = max_inches / max(tq, tr)
    fig = Figure(figsize=(max(tr * scale, 2.5) + 1.5, max(tq * scale, 2.5) + 1.0), dpi=dpi)
    ax = fig.add_subplot()
    finite = sim[np.isfinite(sim)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    im = ax.imshow(sim, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest",
                   aspect="auto", extent=(-0.5, tr - 0.5, tq - 0.5, -0.5))
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="similarity")
    for q0, r0, q1, r1 in np.asarray(gt_boxes if gt_boxes is not None else [], np.float64).reshape(-1, 4):
        ax.add_patch(Rectangle((r0, q0), r1 - r0, q1 - q0, fill=False, edgecolor=GT_COLOUR, linewidth=1.5,
                               linestyle="--"))
    for i, (q0, r0, q1, r1) in enumerate(box_arr):
        ax.add_patch(Rectangle((r0, q0), r1 - r0, q1 - q0, fill=False, edgecolor=BOX_COLOUR, linewidth=2))
        if scores is not None:
            ax.annotate(f"{scores[i]:.2f}", (r1, q0), color=BOX_COLOUR, fontsize=8, va="bottom", ha="right")
    ax.set_xlim(-0.5, tr - 0.5)
    ax.set_ylim(tq - 0.5, -0.5)
    ax.set_xlabel(ref_label)
    ax.set_ylabel(query_label)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.canvas.draw()
    height = fig.canvas.get_width_height()[1]
    pixels = []
    for q0, r0, q1, r1 in box_arr:
        (x0, y0), (x1, y1) = ax.transData.transform([(r0, q0), (r1, q1)])
        pixels.append((float(x0), float(height - y0), float(x1), float(height - y1)))
    fig.savefig(out_png, dpi=dpi)
    return pixels


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


def write_html_report(matches: Iterable[Any], out_html, *, query_path, ref_paths: Mapping[Any, Any],
                      title: str | None = None, thumbnails: int = 4, thumb_width: int = 160) -> Path:
    """Write a self-contained HTML page (images embedded as data URIs): one table row per
    match with its reference, times, score, and query and reference thumbnails of the
    copied segment side by side. `matches` are objects with the VSC 2022 attributes
    (query_id, ref_id, query_start, query_end, ref_start, ref_end, score), in seconds;
    `ref_paths` maps each ref_id to its video file. Rows are ordered by score, best first.
    """
    matches = sorted(matches, key=lambda m: -float(m.score))
    missing = sorted({str(m.ref_id) for m in matches if m.ref_id not in ref_paths})
    if missing:
        raise ValueError(f"ref_paths has no file for reference id(s) {missing}; pass ref_paths={{id: path}}")
    if thumbnails < 1 or thumb_width < 16:
        raise ValueError(f"thumbnails must be >= 1 and thumb_width >= 16, got {thumbnails}, {thumb_width}")
    rows = []
    for i, m in enumerate(matches, start=1):
        q = _thumbs(query_path, m.query_start, m.query_end, thumbnails, thumb_width)
        r = _thumbs(ref_paths[m.ref_id], m.ref_start, m.ref_end, thumbnails, thumb_width)
        rows.append(
            f'<tr class="match" data-ref="{html.escape(str(m.ref_id), quote=True)}">'
            f'<td class="num">{i}</td><td>{html.escape(str(m.ref_id))}</td>'
            f'<td class="num">{_fmt(m.query_start)} – {_fmt(m.query_end)}<br>'
            f'<span class="label">{m.query_end - m.query_start:.2f} s</span></td>'
            f'<td class="num">{_fmt(m.ref_start)} – {_fmt(m.ref_end)}<br>'
            f'<span class="label">{m.ref_end - m.ref_start:.2f} s</span></td>'
            f'<td class="num">{float(m.score):.3f}</td>'
            f'<td>{_strip("query", q, "query")}{_strip("reference", r, "ref")}</td></tr>'
        )
    heading = html.escape(title or f"Copies found in {Path(query_path).name}")
    body = "".join(rows) if rows else '<tr><td colspan="6">No copied segment found.</td></tr>'
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{heading}</h1>"
        f"<p>Query: <code>{html.escape(str(query_path))}</code> — {len(matches)} match(es)</p>"
        "<table><thead><tr><th>#</th><th>reference</th><th>query segment</th><th>reference segment</th>"
        f"<th>score</th><th>query / reference frames</th></tr></thead><tbody>{body}</tbody></table>"
        "</body></html>"
    )
    out = Path(out_html)
    out.write_text(page, encoding="utf-8")
    return out
