#!/usr/bin/env python3
"""What the sampling grid alone costs: VCSL P/R/F1 of boxes that know every copy but are
drawn on a sampling grid, per split of bench/make_dataset.py (ground truth only, no detector).

    python3 bench/grid_oracle.py DATASET/tune DATASET/heldout1 ...

A box takes the query samples inside its copy, each standing for the moments nearest it
(vcdfast.query.intervals), and on the reference side either the samples nearest where those
show ("nearest") or the copy's true line through the query ends ("slope"). Samples fall every
1/fps s from 0. The gap between the 1 fps rows and a detector's F1 is what detection loses;
the gap between them and 1.0 is what sampling loses (vcdfast.refine wins some of it back).
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_e2e import Judge  # noqa: E402

GRIDS = [(1.0, 1.0, "nearest"), (1.0, 1.0, "slope"), (2.0, 1.0, "nearest"), (2.0, 1.0, "slope"),
         (2.0, 2.0, "nearest"), (4.0, 4.0, "nearest")]


def grid(fps: float, seconds: float = 3600.0) -> tuple[np.ndarray, np.ndarray]:
    """Sample times every 1/fps s from 0 and their intervals (T, 2), meeting halfway."""
    t = np.arange(0.0, seconds, 1.0 / fps)
    return t, np.stack([np.maximum(t - 0.5 / fps, 0.0), t + 0.5 / fps], axis=1)


def oracle_boxes(log: list[dict], q_fps: float, r_fps: float, mode: str) -> list:
    qt, qi = grid(q_fps)
    rt, ri = grid(r_fps)
    out = []
    for e in log:
        inside = np.flatnonzero((qt >= e["query_start"]) & (qt <= e["query_end"]))
        if not len(inside):
            continue  # a copy shorter than a step between two samples: no box can find it
        slope = (e["ref_end"] - e["ref_start"]) / max(e["query_end"] - e["query_start"], 1e-9)
        q0, q1 = qi[inside[0], 0], qi[inside[-1], 1]
        if mode == "nearest":
            j0, j1 = (int(np.argmin(np.abs(rt - (e["ref_start"] + (qt[i] - e["query_start"]) * slope))))
                      for i in (inside[0], inside[-1]))
            r0, r1 = ri[j0, 0], ri[j1, 1]
        else:
            r0, r1 = (e["ref_start"] + (q - e["query_start"]) * slope for q in (q0, q1))
        out.append(types.SimpleNamespace(query_id=e["query_id"], ref_id=e["ref_id"], query_start=q0, query_end=q1,
                                         ref_start=r0, ref_end=r1, score=1.0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("splits", type=Path, nargs="+")
    args = ap.parse_args()
    from vcdfast.metrics import vcsl_segment_metric

    print("| split | query fps | reference fps | reference ends | VCSL P | VCSL R | VCSL F1 |")
    print("|---|---|---|---|---|---|---|")
    for split in args.splits:
        judge = Judge(split)
        for q_fps, r_fps, mode in GRIDS:
            m = vcsl_segment_metric(oracle_boxes(judge.log, q_fps, r_fps, mode), judge.gt)
            f1 = 2 * m["precision"] * m["recall"] / max(m["precision"] + m["recall"], 1e-12)
            print(f"| {split.name} | {q_fps:g} | {r_fps:g} | {mode} | {m['precision']:.3f} | {m['recall']:.3f} | "
                  f"{f1:.3f} |")


if __name__ == "__main__":
    main()
