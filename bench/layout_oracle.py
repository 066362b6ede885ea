#!/usr/bin/env python3
"""What the layout views lose against the true rectangle, per split of bench/make_dataset.py.

    python3 bench/layout_oracle.py DATASET/tune DATASET/heldout1 ... [--md FILE]

For every copied segment composed into the frame (picture-in-picture, padding, side by side),
at the query samples inside the copy: how often the layout tests find the picture (the inset
box within IoU 0.7 of the true rectangle; for side by side, the split along the true axis),
and the copy's cosine similarity to the reference samples within 0.75 s of where the copy
shows, through the default query views (the best of them, as the index takes it) and through
the true rectangle cropped from the same decoded frames (the best of it and its mirror, as
full and flip). The rectangle and times come from the ground truth (make_dataset.picture_rect,
transforms.jsonl); the views are the index's own (vcdfast.inset, Embedder with
QueryOptions().views). The gap between the two similarities is what a better layout test
could win; where both are low, the copy's other edits decide.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dataset  # noqa: E402

LAYOUT_EDITS = ("pip", "padding", "side_by_side")
FOUND_IOU = 0.7
REF_WINDOW_S = 0.75  # reference samples this near the copy's true position (1 fps: one or two)


def iou(a, b) -> float:
    """IoU of two [x0, y0, x1, y1] boxes; 0 where either is not finite."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return 0.0
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def true_box(edit: str, params: dict) -> np.ndarray:
    """The copied picture as shares of the frame [x0, y0, x1, y1]."""
    x, y, w, h = make_dataset.picture_rect(edit, params)
    W, H = make_dataset.W, make_dataset.H
    return np.array([x / W, y / H, (x + w) / W, (y + h) / H])


def true_rectangles(frames: np.ndarray, box, size: tuple[int, int]) -> np.ndarray:
    """The rectangle `box` ([x0, y0, x1, y1] as shares) cut from each of (n, H, W, 3) frames and
    resized to `size` (w, h) as the dataset resizes -> (n, h, w, 3) uint8."""
    fh, fw = frames.shape[1:3]
    y0, y1, x0, x1 = round(box[1] * fh), round(box[3] * fh), round(box[0] * fw), round(box[2] * fw)
    return np.stack([make_dataset._resize(np.ascontiguousarray(f[y0:y1, x0:x1]), *size) for f in frames])


def copy_similarity(vectors: np.ndarray, times: np.ndarray, seg: dict, ref) -> np.ndarray:
    """(n, K, D) descriptors of the copy's query samples -> (n,) the best over K of the cosine
    to the reference samples near where each sample's moment shows."""
    rate = (seg["ref_end"] - seg["ref_start"]) / (seg["query_end"] - seg["query_start"])
    out = np.full(len(times), np.nan)
    for i, t in enumerate(times):
        near = np.abs(ref.timestamps - (seg["ref_start"] + (t - seg["query_start"]) * rate)) <= REF_WINDOW_S
        if near.any():
            out[i] = (vectors[i] @ ref.vectors[near, 0].T).max()
    return out


def split_rows(split: Path) -> list[dict]:
    from vcdfast.decode import iter_frames
    from vcdfast.embed import Embedder
    from vcdfast.index.settings import DEFAULT_MODEL
    from vcdfast.inset import SPLIT_LEFT_RIGHT, SPLIT_TOP_BOTTOM, detect_insets, detect_splits, edge_maps
    from vcdfast.query import QueryOptions

    views = QueryOptions().views
    query_embedder = Embedder(DEFAULT_MODEL, views=views)
    whole = Embedder(DEFAULT_MODEL, views=("full", "flip"))
    segs = [json.loads(line) for line in (split / "transforms.jsonl").read_text().splitlines()]
    meta = json.loads((split / "dataset.json").read_text())
    paths = {v["id"]: split / v["path"] for v in meta["references"] + meta["queries"]}
    refs, queries, rows = {}, {}, []
    for seg in segs:
        edits = [t for t in seg["transforms"] if t["name"] in LAYOUT_EDITS]
        if not edits:
            continue
        edit, params = edits[0]["name"], edits[0]["params"]
        qid, rid = seg["query_id"], seg["ref_id"]
        if qid not in queries:  # one decode: embed_frames treats the samples as one clip, as embed_video does
            decoded = list(iter_frames(paths[qid], size=query_embedder.decode_size))
            frames, stamps = np.stack([f for f, _ in decoded]), np.array([t for _, t in decoded])
            edges = edge_maps(frames)
            queries[qid] = (query_embedder.embed_frames(frames), stamps, frames, detect_insets(frames, edges=edges),
                            detect_splits(frames, edges=edges))
        if rid not in refs:
            refs[rid] = Embedder(DEFAULT_MODEL).embed_video(paths[rid])
        vectors, stamps, frames, insets, splits = queries[qid]
        inside = np.flatnonzero((stamps >= seg["query_start"]) & (stamps <= seg["query_end"]))
        if not len(inside):
            continue
        box = true_box(edit, params)
        if edit == "side_by_side":
            axis = SPLIT_LEFT_RIGHT if params["split"] == "vertical" else SPLIT_TOP_BOTTOM
            found = splits[inside] == axis
        else:
            found = np.array([iou(insets[i], box) >= FOUND_IOU for i in inside])
        truth = whole.embed_frames(true_rectangles(frames[inside], box, whole.decode_size))
        times = stamps[inside]
        by_views = copy_similarity(vectors[inside], times, seg, refs[rid])
        by_truth = copy_similarity(truth, times, seg, refs[rid])
        rows.append({"split": split.name, "edit": edit, "query": qid, "ref": rid, "samples": len(inside),
                     "found": float(found.mean()), "views": float(np.nanmedian(by_views)),
                     "truth": float(np.nanmedian(by_truth)), "gap_samples": float(np.mean(by_truth - by_views >= 0.1)),
                     "other_edits": [t["name"] for t in seg["transforms"] if t["name"] != edit]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| split | edit | segments | samples | layout found | similarity, default views | similarity, true "
           "rectangle | samples the rectangle beats by >= 0.1 |", "|---|---|---|---|---|---|---|---|"]
    for split in dict.fromkeys(r["split"] for r in rows):
        for edit in LAYOUT_EDITS:
            rs = [r for r in rows if r["split"] == split and r["edit"] == edit]
            if not rs:
                continue
            n = np.array([r["samples"] for r in rs])

            def w(key):
                return float(np.sum(n * np.array([r[key] for r in rs])) / n.sum())  # per sample

            def m(key):
                return float(np.mean([r[key] for r in rs]))  # per segment (the median of its samples)

            out.append(f"| {split} | {edit} | {len(rs)} | {n.sum()} | {w('found'):.2f} | {m('views'):.3f} | "
                       f"{m('truth'):.3f} | {w('gap_samples'):.2f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("splits", nargs="+", type=Path, help="split folders written by bench/make_dataset.py")
    ap.add_argument("--md", type=Path, help="also write the table to this file")
    args = ap.parse_args()
    rows = [r for split in args.splits for r in split_rows(split)]
    table = markdown(rows)
    print(table)
    if args.md:
        args.md.write_text(table + "\n")


if __name__ == "__main__":
    main()
