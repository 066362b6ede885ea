"""The `vcdfast` command line: index videos, query them, compare two, maintain the index.

Every command that reads many files goes on when one fails, reports each failure on stderr
(and as JSON with --errors FILE), and exits with status 1 if any input failed; 2 is a usage
error. Results go to stdout as a table, JSON or VSC 2022 CSV (--format).
"""

from __future__ import annotations

import argparse
import csv
import enum
import glob
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".flv", ".ts", ".mpg", ".mpeg", ".wmv", ".3gp"}
DEFAULT_INDEX = "vcdfast-index"


class Format(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _choices(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


class Failures:
    """Per-input errors: printed as they happen, written as JSON at the end."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, path, error) -> None:
        self.items.append({"path": str(path), "error": str(error)})
        print(f"vcdfast: error: {error}", file=sys.stderr)

    def finish(self, errors_file: str | None) -> int:
        if errors_file:
            Path(errors_file).write_text(json.dumps(self.items, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if self.items:
            print(f"vcdfast: {len(self.items)} input(s) failed", file=sys.stderr)
        return 1 if self.items else 0


def expand_inputs(specs: list[str], failures: Failures) -> list[str]:
    """Files, folders (searched recursively for video files), glob patterns and @list files
    (one path per line; blank lines and # comments skipped) -> paths, in order, once each."""
    out: list[str] = []
    for spec in specs:
        if spec.startswith("@"):
            try:
                lines = Path(spec[1:]).read_text(encoding="utf-8").splitlines()
            except OSError as e:
                failures.add(spec, f"cannot read file list {spec[1:]!r}: {e.strerror}")
                continue
            out += expand_inputs([s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")], failures)
        elif os.path.isdir(spec):
            found = sorted(str(p) for p in Path(spec).rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                failures.add(spec, f"no video files found in {spec!r} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
            out += found
        elif os.path.exists(spec):
            out.append(spec)
        elif glob.has_magic(spec):
            found = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            if not found:
                failures.add(spec, f"no files match {spec!r}")
            out += found
        else:
            failures.add(spec, f"no such file or folder: {spec!r}")
    return list(dict.fromkeys(out))


def _progress_enabled(args) -> bool | None:
    return False if args.quiet else None  # None: on when stderr is a terminal


def _sampling(args):
    from vcdfast.decode import Sampling

    return Sampling(fps=args.fps) if args.fps is not None else None


def _open_index(args, *, create: bool, read_only: bool = False):
    from vcdfast.index import Index

    return Index.open(args.index, model=args.model, sampling=_sampling(args),
                      views=args.views.split(",") if args.views else None, uri=args.uri, create=create,
                      read_only=read_only, **({"index_type": args.index_type} if create else {}))


def _print_rows(rows: list[dict], columns: list[str], fmt: Format) -> None:
    if fmt is Format.JSON:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt is Format.CSV:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([r[c] for c in columns])
    else:
        cells = [[_cell(r[c]) for c in columns] for r in rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def _match_rows(matches) -> list[dict]:
    from vcdfast.query import Match

    return [{c: getattr(m, c) for c in Match.CSV_FIELDS} for m in matches]


# --- commands ---


def cmd_index(args) -> int:
    failures = Failures()
    paths = expand_inputs(args.paths, failures)
    with _open_index(args, create=True) as ix:
        if ix.repaired:
            print(f"vcdfast: rolled back {len(ix.repaired)} unfinished video(s): {ix.repaired}", file=sys.stderr)
        report = ix.add(paths, id_from=args.id_from, progress=_progress_enabled(args)) if paths else None
    if report is not None:
        for path, err in report.failed.items():
            failures.add(path, err)
        rows = ([{"id": i, "status": "added"} for i in report.added]
                + [{"id": i, "status": "replaced"} for i in report.replaced]
                + [{"id": i, "status": "skipped (unchanged)"} for i in report.skipped])
        _print_rows(rows, ["id", "status"], args.format)
    return failures.finish(args.errors)


def cmd_query(args) -> int:
    failures = Failures()
    paths = expand_inputs(args.videos, failures)
    params = dict(args.param or [])
    all_matches = []
    with _open_index(args, create=False, read_only=args.read_only) as ix:
        from vcdfast.errors import VideoDecodeError

        from tqdm import tqdm

        bar = tqdm(paths, desc="querying", unit="video", file=sys.stderr, leave=False,
                   disable=args.quiet or not sys.stderr.isatty())
        for p in bar:
            try:
                if args.video_level:
                    hits = ix.query_videos(p, top_n=args.candidates)
                    all_matches += hits
                else:
                    all_matches += ix.query(p, frame_neighbours=args.top_k, candidates=args.candidates,
                                            method=args.method, params=params or None)
            except (VideoDecodeError, OSError, ValueError) as e:
                failures.add(p, e)
        if args.video_level:
            _print_rows([vars(h) for h in all_matches], ["query_id", "ref_id", "score"], args.format)
        else:
            _print_rows(_match_rows(all_matches), list(_match_fields()), args.format)
            if args.report:
                from vcdfast.report import write_html_report

                refs = {m.ref_id: ix.record(m.ref_id).source for m in all_matches}
                if len(paths) != 1:
                    failures.add(args.report, "--report takes exactly one query video")
                else:
                    write_html_report(all_matches, args.report, query_path=paths[0], ref_paths=refs)
    return failures.finish(args.errors)


def _match_fields():
    from vcdfast.query import Match

    return Match.CSV_FIELDS


def cmd_compare(args) -> int:
    from vcdfast.pairwise import compare

    params = dict(args.param or [])
    matches, sim_map = compare(args.a, args.b, model=args.model or "sscd", sampling=_sampling(args),
                               views=args.views.split(",") if args.views else None, method=args.method,
                               params=params or None)
    _print_rows(_match_rows(matches), list(_match_fields()), args.format)
    if args.plot:
        import numpy as np

        from vcdfast.report import plot_alignment

        boxes = np.array([m.frames for m in matches], np.int64).reshape(-1, 4)
        plot_alignment(sim_map, boxes, args.plot, scores=[m.score for m in matches],
                       title=f"{Path(args.a).name} vs {Path(args.b).name}")
    return 0


def cmd_list(args) -> int:
    with _open_index(args, create=False, read_only=True) as ix:
        rows = [{"id": r.id, "frames": r.frames, "duration": r.duration, "source": r.source, "added": r.added}
                for r in ix.videos()]
    _print_rows(rows, ["id", "frames", "duration", "source", "added"], args.format)
    return 0


def cmd_remove(args) -> int:
    from vcdfast.errors import VideoNotFoundError

    failures = Failures()
    with _open_index(args, create=False) as ix:
        for vid in args.ids:
            try:
                ix.remove(vid)
            except VideoNotFoundError as e:
                failures.add(vid, e)
    return failures.finish(args.errors)


def cmd_stats(args) -> int:
    with _open_index(args, create=False, read_only=True) as ix:
        stats = ix.stats()
    if args.format is Format.JSON:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        _print_rows([{"key": k, "value": json.dumps(v) if isinstance(v, (dict, list)) else v}
                     for k, v in stats.items()], ["key", "value"], args.format)
    return 0


def cmd_verify(args) -> int:
    with _open_index(args, create=False, read_only=True) as ix:
        report = ix.verify()
    if args.format is Format.JSON:
        print(json.dumps({"ok": report.ok, "videos": report.videos, "rows": report.rows,
                          "problems": report.problems}, indent=2, ensure_ascii=False))
    else:
        print(f"{'ok' if report.ok else 'PROBLEMS'}: {report.videos} videos, {report.rows} vector rows")
        for p in report.problems:
            print(f"  {p}")
    return 0 if report.ok else 1


def cmd_models_list(args) -> int:
    from vcdfast.models import list_models

    rows = [{"name": m.name, "version": m.version, "dim": m.dim, "input": f"{m.input_size[0]}x{m.input_size[1]}",
             "path": m.path} for m in list_models()]
    _print_rows(rows, ["name", "version", "dim", "input", "path"], args.format)
    return 0


def cmd_models_export_isc(args) -> int:
    from vcdfast.export_isc import export_isc

    for p in export_isc(args.checkpoint, args.out, fp16=not args.no_fp16, trust=args.trust):
        print(p)
    return 0


def cmd_eval(args) -> int:
    from vcdfast.metrics import evaluate_files

    result = evaluate_files(args.pred, args.gt)
    if args.format is Format.JSON:
        print(json.dumps(result, indent=2))
    else:
        _print_rows([{"metric": k, "value": v} for k, v in result.items()], ["metric", "value"], args.format)
    return 0


def cmd_demo(args) -> int:
    from vcdfast.demo import run_demo

    result = run_demo(args.dir, model=args.model or "sscd-mobile", progress=_progress_enabled(args))
    print(f"demo videos and index in {result.folder}")
    print("known copies (truth):")
    _print_rows([{"ref_id": r, "query_start": qs, "query_end": qe, "ref_start": rs, "ref_end": re_}
                 for r, qs, qe, rs, re_ in result.truth],
                ["ref_id", "query_start", "query_end", "ref_start", "ref_end"], Format.TABLE)
    print("found:")
    _print_rows(_match_rows(result.matches), list(_match_fields()), args.format)
    found = {m.ref_id for m in result.matches}
    return 0 if found == {t[0] for t in result.truth} else 1


# --- parser ---


def _param(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value!r}") from None
    return key, int(number) if number.is_integer() and "." not in value else number


def build_parser() -> argparse.ArgumentParser:
    from vcdfast.index import IdFrom
    from vcdfast.query import AlignMethod
    from vcdfast.store import IndexType

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", default=os.environ.get("VCDFAST_INDEX", DEFAULT_INDEX),
                        help=f"index folder (default: $VCDFAST_INDEX or ./{DEFAULT_INDEX})")
    common.add_argument("--uri", default=None, help="Milvus server URI (http://host:19530) instead of the in-process search")
    common.add_argument("--format", type=Format, choices=list(Format), default=Format.TABLE,
                        metavar="{" + ",".join(_choices(Format)) + "}")
    common.add_argument("--errors", metavar="FILE", help="write per-input errors as JSON")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", default=None, help="model name or .onnx path (default: the index's, else sscd)")
    model.add_argument("--fps", type=float, default=None, help="frames sampled per second (default: the index's, else 1)")
    model.add_argument("--views", default=None, help="comma-separated views, e.g. full,flip (default: full)")
    align = argparse.ArgumentParser(add_help=False)
    align.add_argument("--method", choices=_choices(AlignMethod), default=AlignMethod.TN.value)
    align.add_argument("--param", type=_param, action="append", metavar="KEY=VALUE",
                       help="alignment parameter, e.g. --param min_sim=0.6 (repeatable)")

    ap = argparse.ArgumentParser(prog="vcdfast", description="Segment-level video copy detection.")
    ap.add_argument("--version", action="version", version=_version())
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common, model], help="add videos to the index")
    p.add_argument("paths", nargs="+", metavar="PATH", help="video files, folders, glob patterns or @listfile")
    p.add_argument("--id-from", choices=_choices(IdFrom), default=IdFrom.STEM.value,
                   help="video id from the file's stem (default), name or absolute path")
    p.add_argument("--index-type", choices=_choices(IndexType), default=IndexType.HNSW.value,
                   help="vector index of a new index (default HNSW)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("query", parents=[common, model, align], help="find copied segments of videos in the index")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.add_argument("--top-k", type=int, default=64, help="nearest reference frames per query frame (default 64)")
    p.add_argument("--candidates", type=int, default=5, help="reference videos aligned per query (default 5)")
    p.add_argument("--video-level", action="store_true", help="whole-video near-duplicate search only")
    p.add_argument("--report", metavar="OUT_HTML", help="write an HTML report of the matches")
    p.add_argument("--read-only", action="store_true", help="open the index read-only")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("compare", parents=[common, model, align], help="copied segments between two videos")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--plot", metavar="OUT_PNG", help="draw the similarity map with the segments")
    p.set_defaults(func=cmd_compare)

    for name, func, text in (("list", cmd_list, "list indexed videos"), ("stats", cmd_stats, "index statistics"),
                             ("verify", cmd_verify, "check that both stores agree")):
        p = sub.add_parser(name, parents=[common, model], help=text)
        p.set_defaults(func=func)

    p = sub.add_parser("remove", parents=[common, model], help="remove videos by id")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("models", help="list or export models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    q = msub.add_parser("list", parents=[common], help="models available here")
    q.set_defaults(func=cmd_models_list)
    q = msub.add_parser("export-isc", parents=[common], help="export the ISC 2021 model to ONNX from a checkpoint")
    q.add_argument("checkpoint")
    q.add_argument("--out", default=None, help="output folder (default: the model folder)")
    q.add_argument("--no-fp16", action="store_true", help="skip the fp16 file")
    q.add_argument("--trust", action="store_true", help="allow a pickled (non weights-only) checkpoint")
    q.set_defaults(func=cmd_models_export_isc)

    p = sub.add_parser("eval", parents=[common], help="score predicted matches (VSC CSV) against ground truth")
    p.add_argument("pred")
    p.add_argument("gt")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("demo", parents=[common, model], help="generate videos, index, query, show matches")
    p.add_argument("--dir", default=None, help="folder for the demo files (default: a new temp folder)")
    p.set_defaults(func=cmd_demo)
    return ap


def _version() -> str:
    import vcdfast

    return f"vcdfast {vcdfast.__version__}"


def main(argv=None) -> int:
    from vcdfast.errors import VcdfastError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (VcdfastError, FileNotFoundError, PermissionError) as e:
        print(f"vcdfast: error: {e}", file=sys.stderr)
        if getattr(args, "errors", None):
            Path(args.errors).write_text(json.dumps([{"path": None, "error": str(e)}], indent=2) + "\n",
                                         encoding="utf-8")
        return 1
    except KeyboardInterrupt:
        print("vcdfast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
