#!/usr/bin/env python3
"""What the background bias takes from the copies, per split of bench/make_dataset.py.

    python3 bench/bias_oracle.py DATASET/tune DATASET/heldout1 ... --work W [--md FILE]

Score normalisation (vcdfast.normalise) subtracts beta times a query frame's k-th background
neighbour from its similarities, so that generic frames (black, fades, flat graphics) match
nothing by chance. Where a copy's own frames look generic to the model, the bias can exceed
the copy's similarity too. For every copied segment, at the query samples inside the copy,
each against the reference sample nearest the copy's moment on its true line (the ground
truth): the raw cosine and the normalised similarity, each the best over the default query
views, as the alignment's map takes them (vcdfast.similarity.query_view_max with the query
path's bias). A cell is *suppressed* where its raw cosine is at least RAW_HIGH and its
normalised similarity is under the chains' floor (QueryOptions' min_sim). Also, per split, the
share of the reference samples whose own bias (the whole frame as a query frame) is above
GENERIC_BIAS: how much of the catalogue the background calls generic.

It reads the ground truth: a diagnosis of where the bias costs, never a way to choose a
setting (bench/sweep_query.py chooses, on the tuning split only). W/<split> holds each split's
index of its references (the default model), built on the first run as bench/requery.py builds
its own (requery.open_index: a folder holding another split's index is refused).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_e2e import Judge  # noqa: E402
from requery import open_index  # noqa: E402

RAW_HIGH = 0.6  # a cell this similar before normalisation is a copy the model sees
GENERIC_BIAS = 0.7


def copy_cells(q: np.ndarray, q_times: np.ndarray, bias: np.ndarray | None, ref: np.ndarray, ref_times: np.ndarray,
               seg: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells of one copied segment: for each query sample of (T, V, D) descriptors `q` at
    `q_times` inside [query_start, query_end), against the sample of `ref` (R, W, D) nearest
    the copy's moment on the line from (query_start, ref_start) to (query_end, ref_end) ->
    (raw, normalised, the sample's largest bias over views, reference sample index), each (n,)."""
    from vcdfast.similarity import query_view_max

    inside = np.flatnonzero((q_times >= seg["query_start"]) & (q_times < seg["query_end"]))
    rate = (seg["ref_end"] - seg["ref_start"]) / (seg["query_end"] - seg["query_start"])
    cols = np.array([int(np.argmin(np.abs(ref_times - (seg["ref_start"] + (q_times[i] - seg["query_start"]) * rate))))
                     for i in inside], np.int64)
    qi = np.ascontiguousarray(q[inside], np.float32)
    r = np.ascontiguousarray(ref, np.float32)
    b = None if bias is None else np.ascontiguousarray(bias[inside], np.float32)
    rows = np.arange(len(inside))
    raw = query_view_max(qi, r)[rows, cols] if len(inside) else np.zeros(0)
    norm = query_view_max(qi, r, bias=b)[rows, cols] if len(inside) else np.zeros(0)
    top = np.zeros(len(inside)) if b is None else b.max(axis=1)
    return raw, norm, top, cols


def source_at(judge: Judge, ref_id: str, t: float) -> str:
    """The source a reference shows at time t (Judge.showing; a shipped video is its own)."""
    return judge.showing(ref_id, t)[1] if ref_id in judge.shots else ref_id


def split_row(split: Path, work: Path) -> dict:
    from vcdfast.normalise import query_bias
    from vcdfast.query import QueryOptions

    options = QueryOptions()
    floor = options.alignment_params()["min_sim"]
    meta = json.loads((split / "dataset.json").read_text())
    judge = Judge(split)
    paths = {q["id"]: split / q["path"] for q in meta["queries"]}
    with open_index(split, meta, work / split.name) as index:
        background = index.background(options.background)
        refs = {r["id"]: index.get(r["id"]) for r in meta["references"]}
        generic = np.concatenate([background.bias(np.ascontiguousarray(e.vectors[:, 0], np.float32))
                                  for e in refs.values()]) > GENERIC_BIAS
        raw, norm, top, sources, queries = [], [], [], [], []
        embedded = {}  # the last query's only: the log lists a query's segments together
        for seg in judge.log:
            qid, rid = seg["query_id"], seg["ref_id"]
            if qid not in embedded:
                emb = index.embed_query(paths[qid], options.views)
                q = np.ascontiguousarray(emb.vectors, np.float32)
                embedded = {qid: (q, emb.timestamps, query_bias(background, q, emb.views, options.part_margin))}
            q, q_times, bias = embedded[qid]
            ref = refs[rid]
            r, n, b, cols = copy_cells(q, q_times, bias, ref.vectors, ref.timestamps, seg)
            raw.append(r)
            norm.append(n)
            top.append(b)
            sources += [source_at(judge, rid, float(ref.timestamps[c])) for c in cols]
            queries += [qid] * len(cols)
    raw, norm, top = np.concatenate(raw), np.concatenate(norm), np.concatenate(top)
    high = raw >= RAW_HIGH
    suppressed = high & (norm < floor)
    return {"split": split.name, "cells": int(len(raw)), "raw_high": int(high.sum()),
            "suppressed": int(suppressed.sum()),
            "suppressed_share": round(float(suppressed.sum() / max(1, high.sum())), 4),
            "bias_p90_raw_high": round(float(np.quantile(top[high], 0.9)), 3) if high.any() else None,
            "suppressed_queries": len({q for q, s in zip(queries, suppressed) if s}),
            "suppressed_sources": Counter(s for s, x in zip(sources, suppressed) if x).most_common(8),
            "reference_samples": int(len(generic)), "generic_reference_share": round(float(generic.mean()), 4)}


def markdown(rows: list[dict]) -> str:
    out = [f"| split | copy cells with raw cosine >= {RAW_HIGH} | suppressed (share) | queries | bias, 90th percentile "
           f"| reference samples with bias > {GENERIC_BIAS} |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['split']} | {r['raw_high']} | {r['suppressed']} ({r['suppressed_share']:.3f}) | "
                   f"{r['suppressed_queries']} | {r['bias_p90_raw_high']} | "
                   f"{r['generic_reference_share']:.3f} of {r['reference_samples']} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("splits", nargs="+", type=Path, help="split folders written by bench/make_dataset.py")
    ap.add_argument("--work", type=Path, default=Path("bench/out/bias"), help="each split's index goes here")
    ap.add_argument("--md", type=Path, help="also write the table to this file")
    args = ap.parse_args()
    rows = []
    for split in args.splits:
        rows.append(split_row(split, args.work))
        print(json.dumps(rows[-1]), flush=True)
    table = markdown(rows)
    print(table)
    if args.md:
        args.md.write_text(table + "\n")


if __name__ == "__main__":
    main()
