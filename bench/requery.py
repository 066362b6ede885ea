#!/usr/bin/env python3
"""Query settings on the tuning split, one or a grid, through the index's own query path: for
trying a change to the query stages (an option, or an edited module) in about a minute a
setting, where bench/sweep_query.py scores a whole grid on arrays.

    python3 bench/requery.py DATASET/tune --work W [--options '{"speed_prior": 0.2}'] [--tag NAME] [--jsonl FILE]
        [--matches OUT.csv] [--against EARLIER.csv] [--true-insets]
    python3 bench/requery.py DATASET/tune --work W --grid '{"min_score": [0.2, 0.15]}' [--against EARLIER.csv]

The first run indexes the split's references into W/index-<views> (the default model, and the
index's default reference views or a setting's "reference_views", the one field that is not a
QueryOptions field: each set is indexed once) and embeds its queries once per set of query views
(W/queries-<views>.pkl; W is tied to the split's gt.csv and refused for another split). Every
run then calls Index.query on each cached embedding with QueryOptions() changed by --options
(its field names, as QueryOptions.from_dict reads them), the ends refined on frames probed from
the query files as a query on a path does, and prints one JSON line: bench_e2e.py's Judge
figures, sweep_query.py's objective, where segment recall goes (bench_e2e.recall_losses), the
recall per edit and where each edit's goes (recall_losses_by_edit). With --against (the matches
another run wrote with --matches), also the 95% interval of the difference in F1, µAP and their
mean over resamplings of the queries, paired (Judge.intervals): a change whose interval holds 0
is inside what the split's draw of queries can do. It refuses a held-out split, as the sweep
does: those are for bench_e2e.py's report, never for choosing.

With --grid, every combination of the given fields' values runs, each also at its min score
0.05 lower, and after their lines come the table BENCHMARKS.md shows and the choice of
sweep_query.py's rule: the best objective among the settings that flag at most 5% of the
copy-free queries, also at the lower min score (ties to the higher min score). It chooses among
changes to the query stages, through the same path a user's query takes. Index.query does not
return its candidates, so the rule's candidate recall is not checked here: settings of the
first stage (candidates, frame neighbours, votes) are bench/sweep_query.py's to choose.

With --true-insets, the inset views' descriptors at the query samples inside each
picture-in-picture copy are those of the true rectangle (bench/layout_oracle.py's) instead of
the detected one: the bound any inset detection reaches end to end on the split (the ends'
refinement still probes with the detected boxes).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_e2e import Judge  # noqa: E402
from sweep_query import MAX_NEGATIVES_FLAGGED, SCORE_MARGIN, objective, require_tuning_split  # noqa: E402


def cached_queries(index, split: Path, meta: dict, views: tuple[str, ...], work: Path) -> dict:
    """{query id: VideoEmbedding with `views` (as Index.query_views gives them)}, embedded once
    per set of views (a pickle this script alone writes and reads, in `work`)."""
    from vcdfast.views import needs_insets

    path = work / f"queries-{'+'.join(views)}.pkl"
    if path.exists():
        embs = pickle.loads(path.read_bytes())
        if needs_insets(views) and any(e.insets is None for e in embs.values()):
            sys.exit(f"{path} was embedded before embeddings kept their inset boxes (carried insets need them); "
                     "delete it to embed the queries again")
        return embs
    # an absolute path: the refinement probes the file the embedding names
    embs = {q["id"]: index.embed_query((split / q["path"]).resolve(), views) for q in meta["queries"]}
    path.write_bytes(pickle.dumps(embs))
    return embs


def with_true_insets(embs: dict, split: Path, meta: dict) -> dict:
    """embs with the "inset" / "inset-flip" views' descriptors, at the query samples inside each
    picture-in-picture copy of the split's transforms log, replaced by those of the true
    rectangle (mirrored for inset-flip) cut from the same decoded frames."""
    from collections import defaultdict
    from dataclasses import replace

    import layout_oracle
    import numpy as np

    from vcdfast.decode import iter_frames
    from vcdfast.embed import Embedder

    copies = defaultdict(list)  # query id -> (its picture-in-picture copies' times, true rectangle)
    for line in (split / meta["transforms"]).read_text().splitlines():
        seg = json.loads(line)
        for t in seg["transforms"]:
            if t["name"] == "pip":
                copies[seg["query_id"]].append((seg["query_start"], seg["query_end"],
                                                layout_oracle.true_box("pip", t["params"])))
    paths = {q["id"]: split / q["path"] for q in meta["queries"]}
    out, embedders = dict(embs), {}

    def embedder(model, views):
        if (model.name, views) not in embedders:
            embedders[model.name, views] = Embedder(model, views=views)
        return embedders[model.name, views]

    for qid, boxes in copies.items():
        emb = out[qid]
        wanted = {k: v == "inset-flip" for k, v in enumerate(emb.views) if v in ("inset", "inset-flip")}
        if not wanted:
            continue
        whole = embedder(emb.model, ("full", "flip"))
        # decoded as the query was embedded
        decoded = list(iter_frames(paths[qid], emb.sampling, size=embedder(emb.model, emb.views).decode_size))
        if len(decoded) != len(emb.timestamps):
            sys.exit(f"{qid}: {len(decoded)} frames decoded where its embedding has {len(emb.timestamps)}")
        frames, vectors = np.stack([f for f, _ in decoded]), np.array(emb.vectors, copy=True)
        for start, end, box in boxes:
            inside = np.flatnonzero((emb.timestamps >= start) & (emb.timestamps <= end))
            truth = whole.embed_frames(layout_oracle.true_rectangles(frames[inside], box, whole.decode_size))
            for k, mirrored in wanted.items():
                vectors[inside, k] = truth[:, int(mirrored)]
        out[qid] = replace(emb, vectors=vectors)
    return out


REFERENCE_VIEWS = "reference_views"  # the one setting field that is not a QueryOptions field


def reference_views(fields: dict) -> tuple[str, ...]:
    """A setting's reference views, expanded: its own, or the index's default."""
    from vcdfast.index.settings import DEFAULT_INDEX_VIEWS
    from vcdfast.views import expand_views

    return expand_views(fields.get(REFERENCE_VIEWS, DEFAULT_INDEX_VIEWS))


def query_options(fields: dict):
    """A setting's QueryOptions (its fields but the reference views)."""
    from vcdfast.query import QueryOptions

    return QueryOptions.from_dict({k: v for k, v in fields.items() if k != REFERENCE_VIEWS})


def open_index(split: Path, meta: dict, work: Path, views: tuple[str, ...]):
    """The index of the split's references with reference `views` (expanded) in
    work/index-<views>, built on first use; a work folder holding another split's, or an index
    that a run left unfinished, is refused."""
    from vcdfast.index import Index

    stamp = {"split": str(split.resolve()),
             "gt_sha256": hashlib.sha256((split / meta["ground_truth"]).read_bytes()).hexdigest()}
    stamp_path = work / "split.json"
    if stamp_path.exists():
        if json.loads(stamp_path.read_text()) != stamp:
            sys.exit(f"{work} holds another split's index and queries ({stamp_path}); use another --work")
    else:
        work.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(stamp))
    folder = work / ("index-" + "+".join(views))
    built = work / (folder.name + ".built")
    if built.exists():
        return Index.open(folder, views=views)
    if folder.exists():
        sys.exit(f"{folder} has no {built.name} (a run stopped while indexing?); delete it")
    index = Index.open(folder, views=views)
    index.add([split / r["path"] for r in meta["references"]], ids=[r["id"] for r in meta["references"]],
              progress=False)
    built.touch()
    return index


def summary(row: dict) -> dict:
    """The figures one line prints, from Judge(..., detail=True)'s row."""
    out = {k: row[k] for k in ("vcsl_precision", "vcsl_recall", "vcsl_f1", "vsc_micro_ap", "video_ap",
                               "negatives_flagged")}
    out["objective"] = round(objective(row), 4)
    out["recall_losses"] = row["recall_losses"]
    out["recall_by_edit"] = {k: round(v["recall"], 3) for k, v in row["recall_by_transform"].items()}
    out["recall_lost_by_edit"] = {k: {o: round(v[o]["recall_lost"], 3) for o in ("partial", "misplaced", "missed")}
                                  for k, v in row["recall_losses_by_edit"].items()}
    return out


def grid_settings(grid: dict | list[dict]) -> tuple[list[dict], list[dict]]:
    """--grid's settings (every combination of its fields' values, in order; a list of such
    grids: each one's, in turn) and the runs they need: each setting and its lower_setting,
    each run once."""
    settings: list[dict] = []
    for g in grid if isinstance(grid, list) else [grid]:
        for values in itertools.product(*g.values()):
            if dict(zip(g, values)) not in settings:
                settings.append(dict(zip(g, values)))
    runs: list[dict] = []
    for s in settings:
        for run in (s, lower_setting(s)):
            if run is not None and run not in runs:
                runs.append(run)
    return settings, runs


def min_score_of(setting: dict) -> float | None:
    """The setting's min score: its own, or QueryOptions' where it leaves it."""
    from vcdfast.query import QueryOptions

    return setting.get("min_score", QueryOptions().min_score)


def lower_setting(setting: dict) -> dict | None:
    """The setting at its min score minus SCORE_MARGIN, the rule's check; None where it reports
    every match."""
    score = min_score_of(setting)
    return None if score is None else {**setting, "min_score": round(score - SCORE_MARGIN, 6)}


def grid_choice(settings: list[dict], lines: list[dict]) -> tuple[dict | None, list[dict]]:
    """The rule's setting (sweep_query's: the best objective among the settings that flag at
    most MAX_NEGATIVES_FLAGGED of the copy-free queries, also at a min score SCORE_MARGIN lower;
    ties to the higher min score) and each setting's row: its run's line with "at_margin", the
    share flagged at the lower min score (None where it has no min score)."""
    by_options = {json.dumps(line["options"], sort_keys=True): line for line in lines}
    rows = []
    for s in settings:
        lower = lower_setting(s)
        rows.append({**by_options[json.dumps(s, sort_keys=True)], "at_margin": None if lower is None
                     else by_options[json.dumps(lower, sort_keys=True)]["negatives_flagged"]})
    admitted = [r for r in rows if r["negatives_flagged"] <= MAX_NEGATIVES_FLAGGED
                and (r["at_margin"] or 0.0) <= MAX_NEGATIVES_FLAGGED]
    best = max(admitted, default=None, key=lambda r: (r["objective"], min_score_of(r["options"]) or 0.0))
    return best, rows


GRID_EDITS = ("crop", "pip", "padding", "aspect", "side_by_side")


def grid_table(rows: list[dict], chosen: dict | None) -> str:
    """The grid's rows as the Markdown table BENCHMARKS.md shows, and the rule's choice."""
    def f(x) -> str:
        return "–" if x is None else f"{x:.3f}"

    def interval(r) -> str:
        # + 0.0: a difference that rounds to zero prints as +0.0000, not -0.0000
        return "–" if "against" not in r else "{:+.4f} to {:+.4f}".format(
            *(round(x, 4) + 0.0 for x in r["against"]["objective"]))

    lines = [f"| options | VCSL P | VCSL R | VCSL F1 | segment µAP | video AP | copy-free flagged | at min score − "
             f"{SCORE_MARGIN} | objective | paired interval | {' / '.join(GRID_EDITS)} |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        edits = " / ".join(f"{r['recall_by_edit'][e]:.2f}" if e in r["recall_by_edit"] else "–" for e in GRID_EDITS)
        at_margin = "–" if r["at_margin"] is None else f"{r['at_margin']:.2f}"
        lines.append(f"| `{json.dumps(r['options'], sort_keys=True)}` | {f(r['vcsl_precision'])} | "
                     f"{f(r['vcsl_recall'])} | {f(r['vcsl_f1'])} | {f(r['vsc_micro_ap'])} | {f(r['video_ap'])} | "
                     f"{r['negatives_flagged']:.2f} | {at_margin} | {r['objective']:.4f} | {interval(r)} | {edits} |")
    lines += ["", "Rule's choice: " + ("none admitted" if chosen is None else
                                        f"`{json.dumps(chosen['options'], sort_keys=True)}` (objective "
                                        f"{chosen['objective']:.4f})")]
    return "\n".join(lines) + "\n"


def run_options(index, embs: dict, judge: Judge, options_fields: dict, tag: str, true_insets: bool,
                against: Path | None) -> tuple[dict, list]:
    """One setting through Index.query on every cached query -> (its line, its matches)."""
    from vcdfast.metrics import read_matches_csv

    options = query_options(options_fields)
    t0 = time.process_time()
    pred = []
    for qid, emb in embs.items():
        pred += index.query(emb, query_id=qid, options=options)
    cpu = time.process_time() - t0
    row = {"tag": tag, "options": options_fields, "true_insets": true_insets,
           **summary(judge(pred, detail=True)), "query_cpu_s": round(cpu, 1)}
    if against:
        mine, theirs = (judge.onto_rows(p)[0] for p in (pred, read_matches_csv(against)))
        row["against"] = {"matches": str(against), **judge.intervals(mine, against=theirs)["difference"]}
    return row, pred


def main() -> None:
    from vcdfast.metrics import write_matches_csv

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("split", type=Path, help="a tuning split written by bench/make_dataset.py")
    ap.add_argument("--work", type=Path, default=Path("bench/out/requery"))
    ap.add_argument("--options", type=json.loads, default={},
                    help='QueryOptions fields to change, as JSON, e.g. \'{"speed_prior": 0.2}\'')
    ap.add_argument("--grid", type=json.loads, default=None,
                    help='QueryOptions fields (and "reference_views") and the values to try, as JSON, e.g. '
                         '\'{"min_score": [0.2, 0.15]}\' (or a list of such grids): every combination runs (each '
                         "also at its min score minus the rule's margin), then the table and the rule's choice "
                         "are printed")
    ap.add_argument("--tag", default="", help="a name for this run, printed with its figures")
    ap.add_argument("--jsonl", type=Path, default=None, help="append the line here too")
    ap.add_argument("--matches", type=Path, default=None, help="write this run's matches here (CSV)")
    ap.add_argument("--against", type=Path, default=None,
                    help="an earlier run's --matches: print the paired difference's 95%% intervals")
    ap.add_argument("--true-insets", action="store_true",
                    help="the inset views see the true picture-in-picture rectangle (the bound of inset detection)")
    args = ap.parse_args()
    if args.grid is not None and (args.options or args.matches):
        ap.error("--grid runs its own settings: --options and --matches are for one run")
    meta = require_tuning_split(args.split)
    settings, runs = grid_settings(args.grid) if args.grid is not None else ([], [args.options])
    for fields in runs:  # a wrong field or value is refused before any run
        query_options(fields)
        reference_views(fields)
    judge = Judge(args.split)
    lines, embs_of = [], {}  # views -> embeddings, loaded (and given true insets) once per grid
    for ref_views in dict.fromkeys(reference_views(f) for f in runs):  # one index open at a time
        with open_index(args.split, meta, args.work, ref_views) as index:
            for fields in (f for f in runs if reference_views(f) == ref_views):
                views = index.query_views(query_options(fields).views)  # a bare "blend": this index's own
                if views not in embs_of:
                    embs_of[views] = cached_queries(index, args.split, meta, views, args.work)
                    if args.true_insets:
                        embs_of[views] = with_true_insets(embs_of[views], args.split, meta)
                row, pred = run_options(index, embs_of[views], judge, fields, args.tag, args.true_insets,
                                        args.against)
                if args.matches:
                    write_matches_csv(pred, args.matches)
                line = json.dumps(row)
                print(line, flush=True)
                if args.jsonl:
                    with args.jsonl.open("a") as f:
                        f.write(line + "\n")
                lines.append(row)
    if args.grid is not None:
        chosen, rows = grid_choice(settings, lines)
        print(grid_table(rows, chosen), end="")


if __name__ == "__main__":
    main()
