#!/usr/bin/env python3
"""End-to-end benchmark: index each split's references, run every query, score it.

    python3 bench/make_dataset.py bench/out/dataset              # once (see bench/datasets.md)
    python3 bench/bench_e2e.py bench/out/dataset [--splits tune,heldout1,heldout2] [--md BENCHMARKS.md]
    python3 bench/bench_e2e.py bench/out/dataset --splits heldout1 --config vcdfast   # some: no --md

Configurations, all in the same run and machine, each on an index of its model and reference
views (built once per split and shared):
- `seed recipe (sscd)`: the seeds' plain recipe (vcdfast.query.SEED_RECIPE: 1 fps, SSCD int8,
  whole frame on both sides, per-frame top-64, 5 candidates by summed scores, VCSL TN with
  towhee's defaults, boxes untrimmed), and the same with sscd-mobile;
- `raw-cosine TN defaults (sscd)`: the query defaults before the tuning split existed (TN on
  raw cosine; vcdfast.synthetic.QUERY_OPTIONS);
- `vcdfast, TN + trim instead of chains`: vcdfast's defaults with TN and trimming, the
  previous round's alignment;
- `vcdfast`: vcdfast's defaults (Index.open / Index.query without options; the two vcdfast
  rows index the default reference views, vcdfast.index.settings.DEFAULT_INDEX_VIEWS).
Quality per split: VCSL segment P/R/F1 over every (query, reference) pair, VSC 2022 segment
µAP, 95% intervals of both over resampled queries, video-level AP, the share of true (query,
reference) pairs among the aligned candidates, the share of copy-free queries with any match,
VCSL recall per edit and per copy length, where segment recall goes (found, partial,
misplaced, missed), and a check of the labels (boxes on other footage of a copy's source in
the same reference).
Cost: ingest realtime factor per index, and query CPU seconds per second of query video
(decode + embed with the configuration's views + search + align; process CPU time, all threads).
Prints one JSON line per (split, configuration) and writes its matches to
WORK/<split>/<configuration>.csv; with --md, rewrites the e2e section. --config scores some of
the configurations (to check a figure again, or on another machine, without the seed recipe's
ResNet-50 runs); its figures never go to --md, whose table holds the seed recipe beside vcdfast.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

LENGTH_BUCKETS = [(0.0, 5.0, "< 5 s"), (5.0, 10.0, "5-10 s"), (10.0, float("inf"), ">= 10 s")]
# 95% intervals from this many resamplings of a split's queries (fixed seed: a rerun prints the same)
BOOTSTRAP_DRAWS, BOOTSTRAP_SEED = 1000, 0
# a copied segment's outcome (recall_losses): found at this recall or above, else partial,
# misplaced or missed
FOUND_RECALL = 0.9
SEGMENT_OUTCOMES = ("found", "partial", "misplaced", "missed")
MD_BEGIN, MD_END = "<!-- bench_e2e:begin -->", "<!-- bench_e2e:end -->"


def configs() -> dict:
    """{name: (model, reference views, QueryOptions)}."""
    from vcdfast.index.settings import DEFAULT_INDEX_VIEWS, DEFAULT_MODEL
    from vcdfast.query import SEED_RECIPE, AlignMethod, QueryOptions
    from vcdfast.synthetic import QUERY_OPTIONS as raw_cosine  # the defaults before normalisation

    # the TN row: vcdfast's defaults with TN and trimming (its query preset) in place of chains,
    # on the same query embeddings, so that it costs query time only
    whole = ("full",)
    return {"seed recipe (sscd)": ("sscd", whole, SEED_RECIPE),
            "seed recipe (sscd-mobile)": ("sscd-mobile", whole, SEED_RECIPE),
            "raw-cosine TN defaults (sscd)": ("sscd", whole, raw_cosine),
            "vcdfast, TN + trim instead of chains": (DEFAULT_MODEL, DEFAULT_INDEX_VIEWS, QueryOptions(
                method=AlignMethod.TN, full_score_seconds=None, min_score=0.3)),
            "vcdfast": (DEFAULT_MODEL, DEFAULT_INDEX_VIEWS, QueryOptions())}


def chosen_configs(names: list[str] | None) -> dict:
    """configs(), or those `names` in their order (None: all); an unknown name is a ValueError
    that lists the known ones."""
    every = configs()
    if names is None:
        return every
    unknown = [n for n in names if n not in every]
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(map(repr, every))}")
    return {n: every[n] for n in dict.fromkeys(names)}


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
    return {"cpu": cpu, "cores": os.cpu_count(), "simd": vcdfast.simd_level(), "git": sha or "unknown",
            "python": platform.python_version(), "load": round(os.getloadavg()[0], 1)}


def segment_recalls(pred, log: list[dict]) -> list[tuple[dict, float, bool]]:
    """Per copied segment (an entry of transforms.jsonl): its VCSL recall alone against its
    pair's predictions, the best over the reference's showings of its frames, and whether any
    of the pair's boxes covers part of its query span."""
    from vcdfast.metrics import vcsl_pair_precision_recall

    boxes = defaultdict(list)
    for m in pred:
        boxes[(m.query_id, m.ref_id)].append([m.query_start, m.ref_start, m.query_end, m.ref_end])
    out = []
    for e in log:
        found = np.array(boxes.get((e["query_id"], e["ref_id"]), []))
        # a segment whose frames the reference shows twice is found on either showing
        showings = [[e["query_start"], e["query_end"], e["ref_start"], e["ref_end"]], *e.get("repeats", [])]
        recall = max(vcsl_pair_precision_recall(found, [[qs, rs, qe, re]])[1] for qs, qe, rs, re in showings)
        on_rows = any(_overlap(b[0], b[2], e["query_start"], e["query_end"]) for b in found)
        out.append((e, recall, on_rows))
    return out


def segment_edits(e: dict) -> set[str]:
    """The names a copied segment is counted under per edit: its edits and the query's
    re-encodings, or "plain" for none."""
    return ({t["name"] for t in e["transforms"]} | set(e.get("encoding", []))) or {"plain"}


def _losses(rows: list[tuple[float, bool]]) -> dict:
    out = {k: {"segments": 0, "recall_lost": 0.0} for k in SEGMENT_OUTCOMES}
    for recall, on_rows in rows:
        kind = ("found" if recall >= FOUND_RECALL else "partial" if recall > 0 else
                "misplaced" if on_rows else "missed")
        out[kind]["segments"] += 1
        out[kind]["recall_lost"] += (1.0 - recall) / len(rows)
    return {k: {"segments": v["segments"], "recall_lost": round(v["recall_lost"], 4)} for k, v in out.items()}


def recall_losses(pred, log: list[dict]) -> dict:
    """Where the split's segment recall goes, per segment outcome: "found" (recall >=
    FOUND_RECALL), "partial" (a box covers part of the copy), "misplaced" (boxes on the copy's
    query moments, none on its reference moments) and "missed" (no box of the pair there);
    each with its segments and the recall it loses (the sum of 1 - recall over the split's
    segments: the four add up to 1 - mean segment recall)."""
    return _losses([(recall, on_rows) for _, recall, on_rows in segment_recalls(pred, log)])


def recall_losses_by_edit(pred, log: list[dict]) -> dict:
    """recall_losses over each edit's segments alone (segment_edits): per edit, the four add
    up to 1 - its recall in per_segment_recall. A crop lost to another pan of the photograph
    (misplaced) and one the descriptor does not see (missed) call for different work."""
    by_edit = defaultdict(list)
    for e, recall, on_rows in segment_recalls(pred, log):
        for name in segment_edits(e):
            by_edit[name].append((recall, on_rows))
    return {name: _losses(rows) for name, rows in sorted(by_edit.items())}


def per_segment_recall(pred, log: list[dict], draws: int = BOOTSTRAP_DRAWS,
                       seed: int = BOOTSTRAP_SEED) -> tuple[dict, dict]:
    """VCSL recall of each copied segment (segment_recalls), grouped by edit name (and
    query-level encodings) and by copy length (reference side); each group's mean with a 95%
    percentile interval over `draws` resamplings of its segments with replacement (a handful
    of segments per edit on a split: the interval says how little one figure settles)."""
    by_t, by_len = defaultdict(list), defaultdict(list)
    for e, recall, _ in segment_recalls(pred, log):
        for name in segment_edits(e):
            by_t[name].append(recall)
        length = e["ref_end"] - e["ref_start"]
        by_len[next(label for lo, hi, label in LENGTH_BUCKETS if lo <= length < hi)].append(recall)

    rng = np.random.default_rng(seed)

    def summary(d: dict, order: list[str]) -> dict:
        out = {}
        for k in order:
            if k in d:
                x = np.array(d[k])
                means = x[rng.integers(0, len(x), (draws, len(x)))].mean(axis=1)
                out[k] = {"recall": float(x.mean()), "n": len(x), "ci95": _interval95(means)}
        return out

    return summary(by_t, sorted(by_t)), summary(by_len, [label for _, _, label in LENGTH_BUCKETS])


def _interval95(draws) -> list[float]:
    """The 2.5th and 97.5th percentiles of bootstrap draws, rounded for the tables."""
    return [round(float(x), 4) for x in np.percentile(draws, [2.5, 97.5])]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> bool:
    return min(a1, b1) > max(a0, b0)


class Judge:
    """Scores predictions on one split: VCSL P/R/F1, VSC segment µAP, video AP, candidate
    recall, share of copy-free queries with any match, recall per edit and per length, and
    per segment outcome, over the split and per edit (recall_losses, recall_losses_by_edit)."""

    def __init__(self, split: Path):
        from vcdfast.metrics import read_ground_truth_csv

        meta = json.loads((split / "dataset.json").read_text())
        self.gt = read_ground_truth_csv(split / meta["ground_truth"])
        self.log = [json.loads(line) for line in (split / meta["transforms"]).read_text().splitlines()]
        self.pairs = [(q["id"], r["id"]) for q in meta["queries"] for r in meta["references"]]
        self.shots = {r["id"]: r["shots"] for r in meta["references"] if r.get("shots")}
        self.copies = defaultdict(list)
        for m in self.gt:
            self.copies[(m.query_id, m.ref_id)].append(m)
        self.repeated = defaultdict(list)  # (query, ref) -> log entries with other showings
        for e in self.log:
            if e.get("repeats"):
                self.repeated[(e["query_id"], e["ref_id"])].append(e)
        self.true_pairs = set(self.copies)
        positives = {q for q, _ in self.true_pairs}
        self.query_ids = [q["id"] for q in meta["queries"]]
        self.negatives = [q for q in self.query_ids if q not in positives]

    def __call__(self, pred: list, candidates: dict[str, list[str]] | None = None, detail: bool = False) -> dict:
        from vcdfast.metrics import evaluate

        pred, on_repeated = self.onto_rows(pred)
        quality = evaluate(pred, self.gt, pairs=self.pairs, ks=(1,))
        flagged = {m.query_id for m in pred}
        row = {k: round(quality[k], 4) for k in ("vcsl_precision", "vcsl_recall", "vcsl_f1", "vsc_micro_ap",
                                                  "video_ap")}
        row["negatives_flagged"] = round(sum(q in flagged for q in self.negatives) / max(1, len(self.negatives)), 4)
        if candidates is not None:
            row["candidate_recall"] = round(sum(r in candidates.get(q, []) for q, r in self.true_pairs)
                                            / max(1, len(self.true_pairs)), 4)
        if detail:
            row["boxes_on_repeated_showings"] = on_repeated
            row["recall_by_transform"], row["recall_by_length"] = per_segment_recall(pred, self.log)
            row["recall_losses"] = recall_losses(pred, self.log)
            row["recall_losses_by_edit"] = recall_losses_by_edit(pred, self.log)
            moved, row["boxes_on_repeats"] = self.on_repeats(pred)
            counted = evaluate(moved, self.gt, pairs=self.pairs, ks=(1,))
            row["repeats_counted"] = {k: round(counted[k], 4) for k in ("vcsl_precision", "vcsl_recall", "vcsl_f1",
                                                                        "vsc_micro_ap")}
            row["ci95"] = self.intervals(pred)
            row["axes"] = self.axes(pred)
            row["by_footage"] = self.by_footage(pred)
        return row

    def axes(self, pred: list) -> dict:
        """VCSL precision and recall per axis (query, reference), averaged over the pairs with
        both a match and a copy: where the pairs that were found lose (vcsl_pair_axes).
        pred: as onto_rows leaves it."""
        from vcdfast.metrics import vcsl_pair_axes

        found = defaultdict(list)
        for m in pred:
            if (m.query_id, m.ref_id) in self.copies:
                found[(m.query_id, m.ref_id)].append([m.query_start, m.ref_start, m.query_end, m.ref_end])
        per_pair = [vcsl_pair_axes(boxes, [[g.query_start, g.ref_start, g.query_end, g.ref_end]
                                           for g in self.copies[pair]]) for pair, boxes in found.items()]
        mean = np.mean(per_pair, axis=0) if per_pair else np.full((2, 2), np.nan)
        return {"pairs": len(per_pair), "precision": [round(float(x), 4) for x in mean[0]],
                "recall": [round(float(x), 4) for x in mean[1]]}

    def footage(self, pair: tuple[str, str]) -> str:
        """What a true pair's copies show of their reference: "photographs" (pans over stills),
        "clips" (video, or a reference that is no montage) or "both", from five points inside
        each copy's reference span."""
        kinds = set()
        for g in self.copies[pair]:
            if pair[1] not in self.shots:
                kinds.add("clip")
                continue
            for t in np.linspace(g.ref_start, g.ref_end, 7)[1:-1].tolist():
                kinds.add(self.showing(pair[1], t)[0])
        return {"photo": "photographs", "clip": "clips"}[kinds.pop()] if len(kinds) == 1 else "both"

    def by_footage(self, pred: list) -> dict:
        """VCSL precision, recall and F1 over the true pairs whose copies show photographs, clips
        or both (Judge.footage); matches on pairs with no copy are left out. The montages pan
        over photographs, where a crop or a shift of the frame looks like another moment of
        the pan: this says how much of the score that is. pred: as onto_rows leaves it."""
        from vcdfast.metrics import vcsl_segment_metric

        groups = defaultdict(set)
        for pair in self.true_pairs:
            groups[self.footage(pair)].add(pair)
        out = {}
        for kind in ("photographs", "clips", "both"):
            if kind in groups:
                mine = groups[kind]
                m = vcsl_segment_metric([p for p in pred if (p.query_id, p.ref_id) in mine],
                                        [g for g in self.gt if (g.query_id, g.ref_id) in mine], pairs=mine)
                out[kind] = {"pairs": len(mine), **{f"vcsl_{k}": round(m[k], 4) for k in ("precision", "recall", "f1")}}
        return out

    def intervals(self, pred: list, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED,
                  against: list | None = None) -> dict:
        """95% percentile intervals of VCSL F1 and segment µAP over `draws` resamplings of the
        split's queries with replacement (copy-free ones included; a query drawn twice counts
        twice; a draw with no copy in it scores nothing and is drawn again): how far a split of
        this size can move the figures by which queries it holds. With `against` (another
        setting's predictions on the same split), also "difference": the intervals of pred's
        F1, µAP and their mean minus against's on the same draws, which say whether a change
        moved the figures by more than the queries' draw does. Both as onto_rows leaves them."""
        import dataclasses

        from vcdfast.metrics import vcsl_segment_metric, vsc_micro_ap

        def by_query(ms) -> dict:
            out = defaultdict(list)
            for m in ms:
                out[m.query_id].append(m)
            return out

        sets = [by_query(pred)] + ([by_query(against)] if against is not None else [])
        gt_by = by_query(self.gt)
        rng = np.random.default_rng(seed)
        scores = []  # per draw, per prediction set: (F1, µAP)
        while len(scores) < draws:
            drawn = [(f"{q}#{k}", q) for k, q in
                     enumerate(self.query_ids[i] for i in rng.integers(0, len(self.query_ids), len(self.query_ids)))]
            g = [dataclasses.replace(m, query_id=name) for name, q in drawn for m in gt_by[q]]
            if not g:
                continue
            draw = []
            for by in sets:
                p = [dataclasses.replace(m, query_id=name) for name, q in drawn for m in by[q]]
                draw.append((vcsl_segment_metric(p, g)["f1"], vsc_micro_ap(p, g)))
            scores.append(draw)
        x = np.array(scores)  # (draws, sets, 2)
        out = {"vcsl_f1": _interval95(x[:, 0, 0]), "vsc_micro_ap": _interval95(x[:, 0, 1])}
        if against is not None:
            d = x[:, 0] - x[:, 1]
            out["difference"] = {"vcsl_f1": _interval95(d[:, 0]), "vsc_micro_ap": _interval95(d[:, 1]),
                                 "objective": _interval95(d.mean(axis=1))}
        return out

    def _on_rows(self, p) -> bool:
        return any(_overlap(p.query_start, p.query_end, g.query_start, g.query_end)
                   and _overlap(p.ref_start, p.ref_end, g.ref_start, g.ref_end)
                   for g in self.copies.get((p.query_id, p.ref_id), []))

    def _repeat_shift(self, p) -> float | None:
        """How far to move box p along the reference to bring it from another showing of a
        copy's frames onto the copy's row (None: p lies on no other showing)."""
        for e in self.repeated.get((p.query_id, p.ref_id), []):
            speed = (e["ref_end"] - e["ref_start"]) / (e["query_end"] - e["query_start"])
            for qs, qe, rs, re in e["repeats"]:
                if _overlap(p.query_start, p.query_end, qs, qe) and _overlap(p.ref_start, p.ref_end, rs, re):
                    return e["ref_start"] + (qs - e["query_start"]) * speed - rs
        return None

    def onto_rows(self, pred: list) -> tuple[list, int]:
        """pred with every box that misses its pair's gt rows but lies on another showing of a
        copy's frames (transforms.jsonl "repeats") moved onto the copy's row, and how many boxes
        moved: a box on either showing is a true match, and one box is a complete answer."""
        import dataclasses

        out, moved = [], 0
        for p in pred:
            shift = None if self._on_rows(p) else self._repeat_shift(p)
            if shift is not None:
                p = dataclasses.replace(p, ref_start=max(0.0, p.ref_start + shift), ref_end=p.ref_end + shift)
                moved += 1
            out.append(p)
        return out, moved

    def showing(self, ref_id: str, t: float) -> tuple:
        """What a montage reference shows at t: ("clip", source, source time) or ("photo", source)."""
        shots = self.shots[ref_id]
        ends = np.cumsum([sh["seconds"] for sh in shots])
        i = min(int(np.searchsorted(ends, t, side="right")), len(shots) - 1)
        sh = shots[i]
        return ("clip", sh["source"], sh["start"] + t - (ends[i - 1] if i else 0.0)) if "start" in sh \
            else ("photo", sh["source"])

    def on_repeats(self, pred: list) -> tuple[list, int]:
        """A diagnostic of the labels, not of the detector: montage references return to their
        sources under another pan, and the ground truth names only showings of a copy's own
        frames. Returns pred with every box that misses its pair's rows but, at a query time
        inside one, lies on other footage of the same source (the same photograph under another
        pan, or a clip moment within 1 s) moved onto the row, and how many boxes moved."""
        import dataclasses

        out, moved = [], 0
        for p in pred:
            gts = self.copies.get((p.query_id, p.ref_id), [])
            hit = self._on_rows(p)
            for g in () if hit or p.ref_id not in self.shots else gts:
                lo, hi = max(p.query_start, g.query_start), min(p.query_end, g.query_end)
                if hi <= lo:
                    continue
                speed = (g.ref_end - g.ref_start) / (g.query_end - g.query_start)
                t = (lo + hi) / 2
                mine = self.showing(p.ref_id, p.ref_start + (t - p.query_start) * (p.ref_end - p.ref_start)
                                     / max(p.query_end - p.query_start, 1e-9))
                labelled = self.showing(p.ref_id, g.ref_start + (t - g.query_start) * speed)
                if mine[:2] == labelled[:2] and (mine[0] == "photo" or abs(mine[2] - labelled[2]) < 1.0):
                    start = g.ref_start + (p.query_start - g.query_start) * speed
                    end = g.ref_start + (p.query_end - g.query_start) * speed
                    p = dataclasses.replace(p, ref_start=max(0.0, start), ref_end=end)
                    moved += 1
                    break
            out.append(p)
        return out, moved


def run_split(split: Path, work: Path, cfgs: dict) -> tuple[list[dict], dict]:
    from vcdfast.index import Index
    from vcdfast.metrics import write_matches_csv

    meta = json.loads((split / "dataset.json").read_text())
    refs, queries = meta["references"], meta["queries"]
    judge = Judge(split)
    results, ingest = [], {}
    for built in dict.fromkeys((m, v) for m, v, _ in cfgs.values()):
        model, ref_views = built
        index_dir = work / split.name / "-".join([model, *ref_views])
        shutil.rmtree(index_dir, ignore_errors=True)
        with Index.open(index_dir, model=model, views=ref_views) as index:
            t0, c0 = time.perf_counter(), time.process_time()
            index.add([split / r["path"] for r in refs], ids=[r["id"] for r in refs], progress=False)
            ingest[built] = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
            embedded: dict = {}  # (views) -> ({query id: embedding}, CPU seconds)
            for name, (m, v, options) in cfgs.items():
                if (m, v) != built:
                    continue
                if options.views not in embedded:
                    c0, embs = time.process_time(), {}
                    for q in queries:
                        embs[q["id"]] = index.embed_query(split / q["path"], options.views)
                    embedded[options.views] = (embs, time.process_time() - c0)
                embs, embed_cpu = embedded[options.views]
                pred, cands = [], {}
                c0 = time.process_time()
                for q in queries:
                    pred += index.query(embs[q["id"]], query_id=q["id"], options=options)
                query_cpu = time.process_time() - c0
                write_matches_csv(pred, work / split.name / f"{name}.csv")  # for looking at misses
                for q in queries:  # candidates again, outside the timed loop
                    cands[q["id"]] = [m.id for m in index.candidates(embs[q["id"]], options)]
                q_seconds = sum(q["duration"] for q in queries)
                results.append({"bench": "e2e", "split": split.name, "config": name, "model": model,
                                "reference_views": list(ref_views), **judge(pred, cands, detail=True),
                                "ingest_realtime": round(sum(r["duration"] for r in refs) / ingest[built]["wall"], 1),
                                "ingest_cpu_per_s": round(ingest[built]["cpu"] / sum(r["duration"] for r in refs), 3),
                                "query_cpu_per_s": round((embed_cpu + query_cpu) / q_seconds, 3),
                                "search_align_ms_per_query": round(1000 * query_cpu / len(queries), 1)})
                print(json.dumps(results[-1]), flush=True)
    gt_sha = hashlib.sha256((split / meta["ground_truth"]).read_bytes()).hexdigest()
    info = {"split": split.name, "references": len(refs),
            "reference_seconds": round(sum(r["duration"] for r in refs), 1), "queries": len(queries),
            "negatives": len(judge.negatives), "copies": len(judge.log),
            "query_seconds": round(sum(q["duration"] for q in queries), 1), "gt_sha256": gt_sha}
    return results, info


def markdown(results: list[dict], infos: list[dict], env: dict, command: str) -> str:
    f = lambda x: f"{x:.3f}"  # noqa: E731
    lines = [MD_BEGIN, "## End to end (bench/bench_e2e.py)", "",
             f"Machine: {env['cpu']}, {env['cores']} cores, SIMD {env['simd']}, git {env['git']}, load average "
             f"{env['load']} at the start. Command: `{command}`.", "",
             "| split | references (s) | queries (s) | copy-free queries | copied segments | gt.csv sha256 |",
             "|---|---|---|---|---|---|"]
    for i in infos:
        lines.append(f"| {i['split']} | {i['references']} ({i['reference_seconds']}) | {i['queries']} "
                     f"({i['query_seconds']}) | {i['negatives']} | {i['copies']} | `{i['gt_sha256'][:16]}…` |")
    lines += ["", "| split | config | VCSL P | VCSL R | VCSL F1 | segment µAP | video AP | candidate recall "
              "| copy-free queries with a match | query CPU s per video s | ingest × realtime |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['split']} | {r['config']} | {f(r['vcsl_precision'])} | {f(r['vcsl_recall'])} | "
                     f"{f(r['vcsl_f1'])} | {f(r['vsc_micro_ap'])} | {f(r['video_ap'])} | {f(r['candidate_recall'])} | "
                     f"{f(r['negatives_flagged'])} | {r['query_cpu_per_s']} | {r['ingest_realtime']} |")
    lines += ["", "A check of the labels (`Judge.on_repeats`): montage references return to their sources. The "
              "ground truth names every showing of a copy's frames, not other footage of the same source. Boxes "
              "that miss their pair's labelled copies but lie on such footage (the same photograph under another "
              "pan), and the scores if they were moved onto the labelled showing; the acceptance figures are "
              "the labelled ones above.", "",
              "| split | config | boxes on another showing | VCSL F1 labelled → counted | segment µAP labelled → "
              "counted |", "|---|---|---|---|---|"]
    for r in results:
        c = r["repeats_counted"]
        lines.append(f"| {r['split']} | {r['config']} | {r['boxes_on_repeats']} | {f(r['vcsl_f1'])} → "
                     f"{f(c['vcsl_f1'])} | {f(r['vsc_micro_ap'])} → {f(c['vsc_micro_ap'])} |")
    shown = [r for r in results if r["config"] in ("vcdfast", "seed recipe (sscd)")]
    lines += ["", f"How much a split of this size can move: 95% intervals from {BOOTSTRAP_DRAWS} resamplings of "
              "each split's queries with replacement (`Judge.intervals`).", "",
              "| split | config | VCSL F1 (95% interval) | segment µAP (95% interval) |", "|---|---|---|---|"]
    for r in shown:
        (f_lo, f_hi), (a_lo, a_hi) = r["ci95"]["vcsl_f1"], r["ci95"]["vsc_micro_ap"]
        lines.append(f"| {r['split']} | {r['config']} | {f(r['vcsl_f1'])} ({f(f_lo)}–{f(f_hi)}) | "
                     f"{f(r['vsc_micro_ap'])} ({f(a_lo)}–{f(a_hi)}) |")
    lines += ["", "Where the pairs that were found lose: VCSL precision and recall per axis (a pair's figure is "
              "the product of its query and reference axes), averaged over the pairs with both a match and a copy "
              "(`Judge.axes`).", "",
              "| split | config | pairs | precision query / reference | recall query / reference |",
              "|---|---|---|---|---|"]
    for r in shown:
        a = r["axes"]
        lines.append(f"| {r['split']} | {r['config']} | {a['pairs']} | {f(a['precision'][0])} / "
                     f"{f(a['precision'][1])} | {f(a['recall'][0])} / {f(a['recall'][1])} |")
    lines += ["", "What the copies show: VCSL figures over the true pairs whose copied reference span pans over "
              "photographs, shows video clips, or both (`Judge.by_footage`; matches on pairs with no copy left "
              "out). A crop or shift of a panned photograph looks like another moment of the pan.", "",
              "| split | config | footage | pairs | VCSL P | VCSL R | VCSL F1 |", "|---|---|---|---|---|---|---|"]
    for r in shown:
        for kind, v in r["by_footage"].items():
            lines.append(f"| {r['split']} | {r['config']} | {kind} | {v['pairs']} | {f(v['vcsl_precision'])} | "
                         f"{f(v['vcsl_recall'])} | {f(v['vcsl_f1'])} |")
    lines += ["", "Where segment recall goes: each copied segment's VCSL recall alone (as per edit below), by "
              f"outcome: found (recall >= {FOUND_RECALL}), partial (a box covers part of the copy), misplaced "
              "(the pair's boxes cover the copy's query moments but none of its reference moments) or missed (no "
              "box of the pair there); segments, and the recall each outcome loses as a share of the split's "
              "segments (`recall_losses`; the four add up to 1 - mean segment recall).", "",
              "| split | config | " + " | ".join(f"{k}: segments, recall lost" for k in SEGMENT_OUTCOMES) + " |",
              "|---|---|" + "---|" * len(SEGMENT_OUTCOMES)]
    for r in shown:
        losses = r["recall_losses"]
        lines.append(f"| {r['split']} | {r['config']} | " + " | ".join(
            f"{losses[k]['segments']}, {f(losses[k]['recall_lost'])}" for k in SEGMENT_OUTCOMES) + " |")
    for key, title in (("recall_by_transform", "edit"), ("recall_by_length", "copy length")):
        lines += ["", f"VCSL recall per {title} (n = segments carrying it; 95% interval from {BOOTSTRAP_DRAWS} "
                  "resamplings of those segments, `per_segment_recall`):", "",
                  "| " + title + " | " + " | ".join(f"{r['split']} {r['config']} (n; interval)" for r in shown) + " |",
                  "|---|" + "---|" * len(shown)]
        names = sorted({n for r in shown for n in r[key]}, key=lambda n: (key == "recall_by_length", n))
        if key == "recall_by_length":
            names = [label for _, _, label in LENGTH_BUCKETS if label in names]
        for n in names:
            lines.append(f"| {n} | " + " | ".join(
                _recall_cell(r[key][n]) if n in r[key] else "–" for r in shown) + " |")
    lost = SEGMENT_OUTCOMES[1:]
    lines += ["", "Where each edit's recall goes: the recall its segments lose as " + ", ".join(lost)
              + " (`recall_losses_by_edit`; with what found segments lose, they add up to 1 - its recall above):",
              "", "| edit | " + " | ".join(f"{r['split']} {r['config']} ({' / '.join(lost)})" for r in shown) + " |",
              "|---|" + "---|" * len(shown)]
    for n in sorted({n for r in shown for n in r["recall_losses_by_edit"]}):
        lines.append(f"| {n} | " + " | ".join(
            " / ".join(f(r["recall_losses_by_edit"][n][k]["recall_lost"]) for k in lost)
            if n in r["recall_losses_by_edit"] else "–" for r in shown) + " |")
    lines.append(MD_END)
    return "\n".join(lines) + "\n"


def _recall_cell(v: dict) -> str:
    lo, hi = v["ci95"]
    return f"{v['recall']:.3f} ({v['n']}; {lo:.2f}–{hi:.2f})"


def write_section(md: Path, section: str, begin: str = MD_BEGIN, end: str = MD_END) -> None:
    """Replace the text between `begin` and `end` in md (or append the section)."""
    text = md.read_text() if md.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    md.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path, help="a folder written by bench/make_dataset.py (with split folders)")
    ap.add_argument("--splits", default=None, help="comma-separated split names (default: all in splits.json)")
    ap.add_argument("--work", type=Path, default=Path("bench/out/e2e"), help="indexes go here")
    ap.add_argument("--md", type=Path, default=None, help="rewrite the e2e section of this Markdown file")
    ap.add_argument("--config", dest="configs", action="append", default=None,
                    help="score this configuration (repeat for more; default: all); not with --md")
    args = ap.parse_args()
    try:
        cfgs = chosen_configs(args.configs)
    except ValueError as e:
        ap.error(str(e))
    if args.md and args.configs is not None:
        ap.error("--md rewrites the table that holds every configuration (the seed recipe beside vcdfast); "
                 "leave out --config")
    if args.splits:
        splits = args.splits.split(",")
    elif (args.dataset / "splits.json").exists():
        listing = json.loads((args.dataset / "splits.json").read_text())
        splits = [listing["tuning"], *listing["held_out"]]
    else:
        splits = [""]
    env = machine()
    results, infos = [], []
    for name in splits:
        r, info = run_split(args.dataset / name, args.work, cfgs)
        results += r
        infos.append(info)
    for r in results:
        print(json.dumps({**r, **env}))
    if args.md:
        write_section(args.md, markdown(results, infos, env, "python3 " + " ".join(sys.argv)))


if __name__ == "__main__":
    main()
