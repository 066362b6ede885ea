#!/usr/bin/env python3
"""End-to-end benchmark: index the references of a dataset, run every query, score it.

    python3 bench/make_dataset.py bench/out/dataset          # once (see bench/datasets.md)
    python3 bench/bench_e2e.py bench/out/dataset [--md BENCHMARKS.md]

Two configurations run in the same process on the same index and machine:
- `vcdfast`: vcdfast's defaults (Index.open / Index.query without options);
- `seed-baseline`: the seeds' recipe, 1 fps, SSCD, per-frame top-64, 5 candidate videos,
  TN with towhee's defaults (max_step 10, top_k 5, max_path 10, min_sim 0.2, min_length 5,
  max_iou 0.3), boxes not trimmed.
Quality: VCSL segment P/R/F1 and FRR/FAR over every (query, reference) pair, VSC 2022
segment µAP and video-level µAP, mHR@K / mAP@K, and VCSL recall per transform and per
copied-segment length (from the dataset's transforms.jsonl). Cost: ingest realtime factor
(seconds of reference video per second of indexing) and per-query latency (decode + embed,
done once per query and shared, + the configuration's search + align). Prints one JSON line per configuration; with --md, rewrites the e2e
section of that Markdown file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

TOWHEE_TN = {"max_step": 10, "top_k": 5, "max_path": 10, "min_sim": 0.2, "min_length": 5, "max_iou": 0.3}
CONFIGS = {
    "vcdfast": {"query": {}},
    # trim_sim None: the seeds keep TN's boxes as they are (vcdfast trims them by default)
    "seed-baseline": {"query": {"top_k": 64, "candidates": 5, "method": "tn", "params": {**TOWHEE_TN, "trim_sim": None}}},
}
LENGTH_BUCKETS = [(0.0, 4.0, "< 4 s"), (4.0, 8.0, "4-8 s"), (8.0, float("inf"), ">= 8 s")]
MD_BEGIN, MD_END = "<!-- bench_e2e:begin -->", "<!-- bench_e2e:end -->"


def machine() -> dict:
    import vcdfast

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        sha = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "simd": vcdfast.simd_level(), "threads": os.cpu_count(),
            "git": sha or "unknown", "python": platform.python_version()}


def per_segment_recall(pred, log: list[dict]) -> tuple[dict, dict]:
    """VCSL recall of each ground-truth segment alone against its pair's predictions, grouped
    by transform name (primary, extra and query-level encodings) and by segment length."""
    from vcdfast.metrics import vcsl_pair_precision_recall

    boxes = defaultdict(list)
    for m in pred:
        boxes[(m.query_id, m.ref_id)].append([m.query_start, m.ref_start, m.query_end, m.ref_end])
    by_t, by_len = defaultdict(list), defaultdict(list)
    for e in log:
        gt = [[e["query_start"], e["ref_start"], e["query_end"], e["ref_end"]]]
        _, recall = vcsl_pair_precision_recall(np.array(boxes.get((e["query_id"], e["ref_id"]), [])), gt)
        for name in {t["name"] for t in e["transforms"]} | set(e["encoding"]):
            by_t[name].append(recall)
        length = e["ref_end"] - e["ref_start"]
        by_len[next(label for lo, hi, label in LENGTH_BUCKETS if lo <= length < hi)].append(recall)
    def summary(d: dict, order: list[str]) -> dict:
        return {k: {"recall": float(np.mean(d[k])), "n": len(d[k])} for k in order if k in d}

    return summary(by_t, sorted(by_t)), summary(by_len, [label for _, _, label in LENGTH_BUCKETS])


def run(dataset: Path, work: Path, model: str) -> tuple[list[dict], dict]:
    from vcdfast.index import Index
    from vcdfast.metrics import evaluate, read_ground_truth_csv, write_matches_csv

    meta = json.loads((dataset / "dataset.json").read_text())
    gt = read_ground_truth_csv(dataset / meta["ground_truth"])
    log = [json.loads(line) for line in (dataset / meta["transforms"]).read_text().splitlines()]
    refs, queries = meta["references"], meta["queries"]
    pairs = [(q["id"], r["id"]) for q in queries for r in refs]

    index_dir = work / "index"
    shutil.rmtree(index_dir, ignore_errors=True)
    index = Index.open(index_dir, model=model)
    try:
        t0 = time.perf_counter()
        report = index.add([dataset / r["path"] for r in refs], ids=[r["id"] for r in refs], progress=False)
        ingest_s = time.perf_counter() - t0
        if not report.ok:
            sys.exit(f"ingest failed: {report.failed}")
        ref_seconds = sum(r["duration"] for r in refs)
        # each query is decoded and embedded once; its latency in a configuration is that
        # time plus the configuration's search + alignment time
        pred = {name: [] for name in CONFIGS}
        latency = {name: [] for name in CONFIGS}
        for q in queries:
            t0 = time.perf_counter()
            emb = index.embed(dataset / q["path"])
            embed_s = time.perf_counter() - t0
            for name, cfg in CONFIGS.items():
                t0 = time.perf_counter()
                pred[name] += index.query(emb, query_id=q["id"], **cfg["query"])
                latency[name].append(embed_s + time.perf_counter() - t0)
        results = []
        for name, cfg in CONFIGS.items():
            write_matches_csv(pred[name], work / f"pred_{name}.csv")
            quality = evaluate(pred[name], gt, pairs=pairs, ks=(1, 5))
            by_t, by_len = per_segment_recall(pred[name], log)
            q_seconds = sum(q["duration"] for q in queries)
            results.append({
                "bench": "e2e", "config": name, "query_options": cfg["query"], "model": model, **quality,
                "ingest_seconds": round(ingest_s, 2), "ingest_realtime": round(ref_seconds / ingest_s, 1),
                "query_latency_p50_s": round(statistics.median(latency[name]), 3),
                "query_latency_p90_s": round(float(np.quantile(latency[name], 0.9)), 3),
                "query_realtime": round(q_seconds / sum(latency[name]), 1),
                "recall_by_transform": by_t, "recall_by_length": by_len,
            })
    finally:
        index.close()
    info = {"references": len(refs), "reference_seconds": round(ref_seconds, 1), "queries": len(queries),
            "query_seconds": round(sum(q["duration"] for q in queries), 1), "copies": len(gt), "seed": meta["seed"]}
    return results, info


def markdown(results: list[dict], info: dict, env: dict, gt_sha: str, command: str) -> str:
    f = lambda x: f"{x:.3f}"  # noqa: E731
    lines = [
        MD_BEGIN,
        "## End to end (bench/bench_e2e.py)",
        "",
        f"Dataset: `bench/make_dataset.py --seed {info['seed']}` (gt.csv sha256 `{gt_sha}`): "
        f"{info['references']} references ({info['reference_seconds']} s), {info['queries']} queries "
        f"({info['query_seconds']} s), {info['copies']} copied segments. Machine: {env['cpu']}, {env['cores']} cores, "
        f"SIMD {env['simd']}, git {env['git']}. Command: `{command}`.",
        "",
        "| config | VCSL P | VCSL R | VCSL F1 | FRR | FAR | segment µAP | video µAP | mHR@1 | mHR@5 | mAP@5 "
        "| ingest (× realtime) | query p50 / p90 (s) | query (× realtime) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['config']} | {f(r['vcsl_precision'])} | {f(r['vcsl_recall'])} | {f(r['vcsl_f1'])} | "
            f"{f(r['vcsl_frr'])} | {f(r['vcsl_far'])} | {f(r['vsc_micro_ap'])} | {f(r['video_ap'])} | "
            f"{f(r['mhr@1'])} | {f(r['mhr@5'])} | {f(r['map@5'])} | {r['ingest_realtime']} | "
            f"{r['query_latency_p50_s']} / {r['query_latency_p90_s']} | {r['query_realtime']} |")
    for key, title in (("recall_by_transform", "transform"), ("recall_by_length", "reference segment length")):
        names = list(results[0][key])
        lines += ["", f"VCSL recall per {title} (segments carrying it; n = count):", "",
                  f"| {title} | n | " + " | ".join(r["config"] for r in results) + " |",
                  "|---|---|" + "---|" * len(results)]
        for n in names:
            lines.append(f"| {n} | {results[0][key][n]['n']} | "
                         + " | ".join(f(r[key][n]["recall"]) for r in results) + " |")
    lines += ["", "Seed-baseline options: " + json.dumps(CONFIGS["seed-baseline"]["query"]) + ".", MD_END]
    return "\n".join(lines) + "\n"


def write_section(md: Path, section: str) -> None:
    text = md.read_text() if md.exists() else "# Benchmarks\n\n"
    if MD_BEGIN in text and MD_END in text:
        head, rest = text.split(MD_BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(MD_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    md.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path, help="a folder written by bench/make_dataset.py")
    ap.add_argument("--work", type=Path, default=Path("bench/out/e2e"), help="index and predictions go here")
    ap.add_argument("--model", default="sscd")
    ap.add_argument("--md", type=Path, default=None, help="rewrite the e2e section of this Markdown file")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    import hashlib

    gt_sha = hashlib.sha256((args.dataset / "gt.csv").read_bytes()).hexdigest()
    env = machine()
    results, info = run(args.dataset, args.work, args.model)
    for r in results:
        print(json.dumps({**r, **env, "dataset": info, "gt_sha256": gt_sha}))
    if args.md:
        write_section(args.md, markdown(results, info, env, gt_sha, "python3 " + " ".join(sys.argv)))


if __name__ == "__main__":
    main()
