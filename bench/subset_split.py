"""A split folder that holds a range of another split's queries, for bench_e2e to score alone.

    python3 bench/subset_split.py OUT/heldout1 OUT/heldout1-new --first Q060

make_dataset's --held-out-extra appends queries to each held-out split (ids from Q060 on);
scoring them apart is the held-out evidence that no earlier run has seen. The new folder
keeps the references and lists the chosen queries only: dataset.json, gt.csv and
transforms.jsonl filtered by query id, refs/ and queries/ linked to the split's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path


def subset_split(split: Path, out: Path, first: str, last: str | None = None) -> int:
    """Write `out` with the queries of `split` whose ids lie in [first, last] (ids are
    zero-padded, so they order as strings); returns how many. Refuses an empty range."""
    meta = json.loads((split / "dataset.json").read_text())
    keep = {q["id"] for q in meta["queries"] if first <= q["id"] and (last is None or q["id"] <= last)}
    if not keep:
        raise ValueError(f"{split}: no query id in [{first}, {last or 'end'}]")
    out.mkdir(parents=True, exist_ok=True)
    for d in ("refs", "queries"):
        link = out / d
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath((split / d).resolve(), out.resolve()))
    gt_lines = (split / meta["ground_truth"]).read_text().splitlines(keepends=True)
    (out / "gt.csv").write_text(gt_lines[0] + "".join(
        line for line in gt_lines[1:] if line.split(",", 1)[0] in keep))
    (out / "transforms.jsonl").write_text("".join(
        line + "\n" for line in (split / meta["transforms"]).read_text().splitlines()
        if json.loads(line)["query_id"] in keep))
    shutil.copyfile(split / meta["sources"], out / "sources.json")
    (out / "dataset.json").write_text(json.dumps({
        **meta, "split": out.name, "subset_of": meta.get("subset_of", meta["split"]),  # the root split
        "queries": [q for q in meta["queries"] if q["id"] in keep],
        "plan": [q for q in meta["plan"] if q["id"] in keep], "ground_truth": "gt.csv",
        "transforms": "transforms.jsonl", "sources": "sources.json"}, indent=1))
    return len(keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("split", type=Path, help="a split folder written by bench/make_dataset.py")
    ap.add_argument("out", type=Path)
    ap.add_argument("--first", required=True, help="the first query id kept, e.g. Q060")
    ap.add_argument("--last", default=None, help="the last query id kept (default: to the end)")
    args = ap.parse_args()
    try:
        n = subset_split(args.split, args.out, args.first, args.last)
    except ValueError as e:
        sys.exit(f"subset_split: {e}")
    print(json.dumps({"split": str(args.out), "of": str(args.split), "queries": n}))


if __name__ == "__main__":
    main()
