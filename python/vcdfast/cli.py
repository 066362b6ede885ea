"""The `vcdfast` command line: index videos, query them, compare two, maintain the index.

Every option is checked before any video is decoded. A user mistake is one line on stderr:
exit status 2 for a bad option or argument, 1 for a bad input (a file that does not decode,
a CSV with the wrong header, an index opened with other settings). Commands that read many
files go on when one fails, report each failure on stderr (and as JSON with --errors FILE),
and exit with status 1 if any input failed. Results go to stdout as a table, JSON or VSC
2022 CSV (--format); progress, warnings and the end summary go to stderr. A closed output
pipe (`vcdfast query ... | head`) ends the command quietly with status 141, as a shell tool
killed by SIGPIPE does.
"""

from __future__ import annotations

import argparse
import csv
import enum
import glob
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from vcdfast.progress import InputProgress

__all__ = ["main"]

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".flv", ".ts", ".mpg", ".mpeg", ".wmv", ".3gp"}
DEFAULT_INDEX = "vcdfast-index"
REPORT_HINT = "pip install 'vcdfast[report]'"
SIGPIPE_STATUS = 141  # 128 + SIGPIPE, what a shell reports for a tool that wrote into a closed pipe


class Format(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class UsageError(Exception):
    """A bad option value found by the checks that run before any work (exit status 2)."""


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
        return 1 if self.items else 0


def summary(text: str, args) -> None:
    if not args.quiet:
        print(f"vcdfast: {text}", file=sys.stderr)


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


def _sampling(args):
    from vcdfast.decode import Sampling

    return Sampling(fps=args.fps) if args.fps is not None else None


def _views(args):
    return args.views.split(",") if args.views else None


def _open_index(args, *, create: bool, read_only: bool = False):
    from vcdfast.index import Index

    return Index.open(args.index, model=getattr(args, "model", None),
                      sampling=_sampling(args) if hasattr(args, "fps") else None,
                      views=_views(args) if hasattr(args, "views") else None, uri=args.uri, create=create,
                      read_only=read_only, **({"index_type": args.index_type} if create else {}))


def _print_rows(rows: list[dict], columns: list[str], fmt: Format) -> None:
    if fmt is Format.JSON:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt is Format.CSV:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c) for c in columns])
    else:
        cells = [[_cell(r.get(c)) for c in columns] for r in rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def _match_fields():
    from vcdfast.query import Match

    return list(Match.CSV_FIELDS)


def _match_rows(matches) -> list[dict]:
    return [{c: getattr(m, c) for c in _match_fields()} for m in matches]


def _coverage(emb) -> dict:
    """The part of the file that decoded, next to what the file declares (seconds)."""
    info = emb.info
    end = info.decoded_end if info.decoded_end is not None else emb.last_end()
    declared = None if info.duration is None else [0.0, round(info.duration, 3)]
    return {"decoded": [0.0, round(end, 3)], "declared": declared, "complete": info.damage is None}


# --- commands ---


def cmd_index(args) -> int:
    failures = Failures()
    paths = expand_inputs(args.paths, failures)
    progress = InputProgress(len(paths), quiet=args.quiet)
    report = None
    with _open_index(args, create=True) as ix:
        if ix.repaired:
            print(f"vcdfast: rolled back {len(ix.repaired)} unfinished video(s): {ix.repaired}", file=sys.stderr)
        if paths:
            report = ix.add(paths, id_from=args.id_from, on_conflict="replace" if args.replace else "error",
                            on_error="report", strict=args.strict, progress=False, on_progress=progress.finished,
                            on_media=progress.follow)
    if report is not None:
        for path, err in report.failed.items():
            failures.add(path, err)
        rows = ([{"id": i, "status": "added"} for i in report.added]
                + [{"id": i, "status": "replaced"} for i in report.replaced]
                + [{"id": i, "status": "skipped (unchanged)"} for i in report.skipped])
        for row in rows:
            if row["id"] in report.partial:
                row["status"] += " (partly: " + report.partial[row["id"]] + ")"
        _print_rows(rows, ["id", "status"], args.format)
        summary(f"{len(paths)} input(s): {len(report.added)} added, {len(report.replaced)} replaced, "
                f"{len(report.skipped)} unchanged, {len(report.failed)} failed"
                + (f"; {len(report.partial)} only partly decoded" if report.partial else ""), args)
    return failures.finish(args.errors)


@dataclass
class QueryResult:
    path: str
    query_id: str
    matches: list = field(default_factory=list)
    coverage: dict | None = None
    error: str | None = None


def cmd_query(args) -> int:
    from vcdfast.errors import VideoDecodeError
    from vcdfast.query import QueryOptions

    failures = Failures()
    paths = expand_inputs(args.videos, failures)
    params = dict(args.param or [])
    progress = InputProgress(len(paths), quiet=args.quiet)
    results: list[QueryResult] = []
    with _open_index(args, create=False, read_only=args.read_only) as ix:
        for p in paths:
            result = QueryResult(p, Path(p).stem)
            results.append(result)
            progress.start(p)
            try:
                # video-level search pools the index's own views; segment search embeds the query's views
                if args.video_level:
                    emb = ix.embed(p, strict=args.strict, on_progress=progress.media)
                else:
                    views = args.query_views.split(",") if args.query_views else (args.options or QueryOptions()).views
                    emb = ix.embed_query(p, views, strict=args.strict, on_progress=progress.media)
                result.coverage = _coverage(emb)
                progress.media(result.coverage["decoded"][1])
                if args.video_level:
                    result.matches = ix.query_videos(emb, query_id=result.query_id,
                                                     **({"top_n": args.candidates} if args.candidates else {}))
                else:
                    given = {"frame_neighbours": args.frame_neighbours, "candidates": args.candidates,
                             "method": args.method}
                    if params:
                        given["params"] = {**(args.options.params if args.options else {}), **params}
                    result.matches = ix.query(emb, query_id=result.query_id, options=args.options,
                                              **{k: v for k, v in given.items() if v is not None})
            except (VideoDecodeError, OSError, ValueError) as e:
                result.error = str(e)
                progress.done("failed")
                failures.add(p, e)
                continue
            progress.done(f"{len(result.matches)} match(es)" if result.matches else "no match")
        refs = {m.ref_id: ix.record(m.ref_id).source for r in results for m in r.matches}
    _print_query_results(results, args)
    if args.report:
        from vcdfast.report import ReportSection, write_report

        write_report([ReportSection(r.path, r.query_id, r.matches, r.coverage, r.error) for r in results],
                     args.report, ref_paths=refs, video_level=args.video_level)
        summary(f"report written to {args.report}", args)
    found = sum(1 for r in results if r.matches)
    failed = sum(1 for r in results if r.error)
    summary(f"{len(results)} queried, {found} with matches, {len(results) - found - failed} without, "
            f"{failed} failed", args)
    return failures.finish(args.errors)


def _print_query_results(results: list[QueryResult], args) -> None:
    """Every query is listed: its matches, or one `(no match)` line in the table and an
    empty list in JSON (CSV keeps the VSC 2022 columns, so a query without matches has no row)."""
    columns = ["query_id", "ref_id", "score"] if args.video_level else _match_fields()
    if args.format is Format.JSON:
        rows = [{"query_id": r.query_id, "path": r.path, "coverage": r.coverage,
                 "matches": [{c: getattr(m, c) for c in columns} for m in r.matches],
                 **({"error": r.error} if r.error else {})} for r in results]
        _print_rows(rows, [], Format.JSON)
        return
    rows = []
    for r in results:
        rows += [{c: getattr(m, c) for c in columns} for m in r.matches]
        if args.format is Format.TABLE and not r.matches:
            rows.append({"query_id": r.query_id, "ref_id": "(failed)" if r.error else "(no match)"})
    _print_rows(rows, columns, args.format)


def cmd_compare(args) -> int:
    from vcdfast.decode import Sampling
    from vcdfast.embed import Embedder
    from vcdfast.models import DEFAULT_MODEL
    from vcdfast.pairwise import compare

    embedder = Embedder(args.model or DEFAULT_MODEL, views=_views(args) or ("full",))
    progress = InputProgress(2, quiet=args.quiet)
    embs = []
    for path in (args.a, args.b):
        progress.start(path)
        embs.append(embedder.embed_video(path, _sampling(args) or Sampling(), strict=args.strict,
                                         on_progress=progress.media))
        progress.done()
    matches, sim_map = compare(*embs, query_id=Path(args.a).stem, ref_id=Path(args.b).stem, method=_method(args),
                               params=dict(args.param or []) or None)
    if args.format is Format.JSON:
        _print_rows([{"query_id": Path(args.a).stem, "ref_id": Path(args.b).stem,
                      "coverage": {"query": _coverage(embs[0]), "ref": _coverage(embs[1])},
                      "matches": _match_rows(matches)}], [], Format.JSON)
    else:
        _print_rows(_match_rows(matches), _match_fields(), args.format)
    if args.plot:
        import numpy as np

        from vcdfast.report import plot_alignment

        boxes = np.array([m.frames for m in matches], np.int64).reshape(-1, 4)
        plot_alignment(sim_map, boxes, args.plot, scores=[m.score for m in matches],
                       q_intervals=embs[0].intervals(), r_intervals=embs[1].intervals(),
                       title=f"{Path(args.a).name} vs {Path(args.b).name}")
    summary(f"compared: {len(matches)} copied segment(s)", args)
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

    pairs = _read_pairs(args.pairs) if args.pairs else None
    result = evaluate_files(args.pred, args.gt, pairs=pairs)
    if args.format is Format.JSON:
        print(json.dumps(result, indent=2))
    else:
        far_note = "n/a: needs the negative pairs (--pairs FILE)"
        _print_rows([{"metric": k, "value": far_note if v is None and k == "vcsl_far" else v}
                     for k, v in result.items()], ["metric", "value"], args.format)
    return 0


def _read_pairs(path) -> list[tuple[str, str]]:
    """query_id,ref_id rows (header required) -> pairs."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"query_id", "ref_id"} <= set(reader.fieldnames or []):
            raise ValueError(f"{path}: a pairs CSV has the header query_id,ref_id; got {reader.fieldnames}")
        return [(r["query_id"], r["ref_id"]) for r in reader]


def cmd_demo(args) -> int:
    from vcdfast.demo import run_demo

    result = run_demo(args.dir, model=args.model, progress=False if args.quiet else None)
    print(f"demo videos and index in {result.folder}")
    print("known copies (truth):")
    _print_rows([{"ref_id": r, "query_start": qs, "query_end": qe, "ref_start": rs, "ref_end": re_}
                 for r, qs, qe, rs, re_ in result.truth],
                ["ref_id", "query_start", "query_end", "ref_start", "ref_end"], Format.TABLE)
    print("found:")
    _print_rows(_match_rows(result.matches), _match_fields(), args.format)
    found = {m.ref_id for m in result.matches}
    return 0 if found == {t[0] for t in result.truth} else 1


# --- checks that run before any work ---


def _param(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value!r}") from None
    return key, int(number) if number.is_integer() and "." not in value else number


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not 0 < v < float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v

    parse.__name__ = kind.__name__
    return parse


def _check_params(method: str, params: dict) -> None:
    """Unknown names (the alignment table's, vcdfast.align.defaults) and out-of-range values, by
    running the aligner on a 2 x 2 map."""
    import numpy as np

    import vcdfast.align

    known = set(vcdfast.align.defaults(method))
    unknown = sorted(set(params) - known)
    if unknown:
        raise UsageError(f"argument --param: unknown {method} parameter(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    try:
        getattr(vcdfast.align, method)(np.zeros((2, 2), np.float32), **params)
    except (ValueError, TypeError) as e:
        raise UsageError(f"argument --param: {e}") from None


def _method(args) -> str:
    """The alignment method a command runs: --method, else the query options' (query) or TN
    (compare: two files, raw cosine)."""
    from vcdfast.query import AlignMethod, QueryOptions

    if args.method is not None:
        return args.method
    if args.command == "query":
        return (args.options or QueryOptions()).method.value
    return AlignMethod.TN.value


def _check_output(option: str, path: str | None) -> None:
    if path is not None:
        folder = Path(path).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise UsageError(f"argument {option}: cannot write {path!r}: folder {str(folder)!r} "
                             f"{'is not writable' if folder.is_dir() else 'does not exist'}")


def _query_options(text: str):
    """--options: inline JSON or a file of it -> QueryOptions; UsageError naming the problem."""
    from vcdfast.query import QueryOptions

    try:
        source = Path(text).read_text() if not text.lstrip().startswith("{") and Path(text).is_file() else text
        fields = json.loads(source)
        if not isinstance(fields, dict):
            raise ValueError("expected a JSON object")
        return QueryOptions.from_dict(fields)
    except (OSError, ValueError, TypeError) as e:
        raise UsageError(f"argument --options: {e}") from None


def check_args(args) -> None:
    """Everything about the options that can be known before decoding: raises UsageError."""
    from vcdfast.errors import ModelError

    for option in ("views", "query_views"):
        if getattr(args, option, None):
            from vcdfast.views import expand_views

            try:
                expand_views(getattr(args, option).split(","))
            except ValueError as e:
                raise UsageError(f"argument --{option.replace('_', '-')}: {e}") from None
    if getattr(args, "model", None):
        from vcdfast.models import get_model

        try:
            get_model(args.model)
        except ModelError as e:
            raise UsageError(f"argument --model: {e}") from None
    if getattr(args, "param", None):
        _check_params(_method(args), dict(args.param))
    if getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError(f"argument --plot: drawing needs matplotlib: {REPORT_HINT}") from None
    if getattr(args, "video_level", False) and getattr(args, "param", None):
        raise UsageError("argument --param: --video-level does no alignment")
    if getattr(args, "options", None) is not None:
        args.options = _query_options(args.options)
    if getattr(args, "video_level", False) and getattr(args, "query_views", None):
        raise UsageError("argument --query-views: --video-level uses the index's views")
    for option in ("errors", "report", "plot"):
        _check_output(f"--{option}", getattr(args, option, None))


# --- parser ---


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, not the usage block: `vcdfast query: error: ... (see vcdfast query --help)`."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


VIEWS_HELP = ("comma-separated views embedded per frame (default: the index's; for a new index "
              "blend,blend:0.4:0.35, for compare full). full: the whole frame; blend: one descriptor of the whole "
              "frame and its centre (closer to cropped copies; two model runs), blend:K:W with centre K and "
              "weight W; flip: mirrored (catches flipped copies); 2x2, 1x2, "
              "2x1: quarters/halves (catch picture-in-picture, side-by-side and crops); halves: the two halves "
              "of a split screen, top/bottom or left/right as each frame is divided. Each view costs one more "
              "embedding per frame at ingest and query (full,2x2 is 5x full); a frame pair scores its best pair "
              "of query and reference views")


def build_parser() -> argparse.ArgumentParser:
    from vcdfast.index import IdFrom
    from vcdfast.models import DEFAULT_MODEL
    from vcdfast.query import AlignMethod
    from vcdfast.store import IndexType

    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", type=Format, choices=list(Format), default=Format.TABLE,
                        metavar="{" + ",".join(_choices(Format)) + "}",
                        help="table (default), json or csv (VSC 2022 columns)")
    output.add_argument("-q", "--quiet", action="store_true", help="no progress lines and no summary on stderr")
    errors = argparse.ArgumentParser(add_help=False)
    errors.add_argument("--errors", metavar="FILE", help="write per-input errors as JSON")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--index", default=os.environ.get("VCDFAST_INDEX", DEFAULT_INDEX),
                       help=f"index folder (default: $VCDFAST_INDEX or ./{DEFAULT_INDEX})")
    store.add_argument("--uri", default=None,
                       help="Milvus server URI (http://host:19530) instead of the in-process search")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", default=None,
                       help=f"model name or .onnx path (default: the index's; for a new index and compare, "
                            f"{DEFAULT_MODEL})")
    model.add_argument("--fps", type=_positive(float), default=None,
                       help="frames sampled per second (default: the index's, else 1)")
    model.add_argument("--views", default=None, help=VIEWS_HELP)
    decoding = argparse.ArgumentParser(add_help=False)
    decoding.add_argument("--strict", action="store_true",
                          help="refuse damaged files (truncated, or corrupt from some point on) instead of "
                               "using their decodable part with a warning")
    align = argparse.ArgumentParser(add_help=False)
    align.add_argument("--method", choices=_choices(AlignMethod), default=None,
                       help="temporal alignment (default: query chain, as its options say; compare tn)")
    align.add_argument("--param", type=_param, action="append", metavar="KEY=VALUE",
                       help="alignment parameter, e.g. --param min_sim=0.6 (repeatable; names: see README)")

    ap = _Parser(prog="vcdfast", description="Segment-level video copy detection.")
    ap.add_argument("--version", action="version", version=_version())
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[store, model, decoding, output, errors], help="add videos to the index")
    p.add_argument("paths", nargs="+", metavar="PATH", help="video files, folders, glob patterns or @listfile")
    p.add_argument("--id-from", choices=_choices(IdFrom), default=IdFrom.STEM.value,
                   help="video id from the file's stem (default), name or absolute path")
    p.add_argument("--replace", action="store_true",
                   help="a file whose id is indexed with other content replaces it (default: refused)")
    p.add_argument("--index-type", choices=_choices(IndexType), default=IndexType.HNSW.value,
                   help="vector index of a new index (default HNSW)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("query", parents=[store, model, align, decoding, output, errors],
                       help="find copied segments of videos in the index")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files, folders, glob patterns or @listfile")
    p.add_argument("--frame-neighbours", type=_positive(int), default=None,
                   help="nearest reference frames per query descriptor (default: vcdfast.query.QueryOptions)")
    p.add_argument("--candidates", type=_positive(int), default=None,
                   help="reference videos aligned per query (default: vcdfast.query.QueryOptions)")
    p.add_argument("--options", default=None, metavar="JSON",
                   help="query options as a JSON object (or a file holding one) of vcdfast.query.QueryOptions fields, "
                        "e.g. '{\"min_score\": 0.5}' or a setting printed by bench/sweep_query.py; the options below "
                        "apply on top")
    p.add_argument("--query-views", default=None,
                   help="comma-separated views the query is embedded with; a frame pair scores its best view "
                        "(default: vcdfast.query.QueryOptions().views). inset: the "
                        "picture-in-picture or letterboxed rectangle found in the query itself; halves: the two "
                        "halves of a split screen, divided the way each query frame is; blend: the index's "
                        "own blend descriptor. Each view is one more model run per sampled query frame")
    p.add_argument("--video-level", action="store_true", help="whole-video near-duplicate search only")
    p.add_argument("--report", metavar="OUT_HTML",
                   help="write one HTML page with a section per query: each match with thumbnails")
    p.add_argument("--read-only", action="store_true", help="open the index read-only")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("compare", parents=[model, align, decoding, output], help="copied segments between two videos")
    p.add_argument("a", metavar="A", help="query video")
    p.add_argument("b", metavar="B", help="reference video")
    p.add_argument("--plot", metavar="OUT_PNG",
                   help=f"draw the similarity map (seconds on both axes) with the segments; needs {REPORT_HINT}")
    p.set_defaults(func=cmd_compare)

    for name, func, text in (("list", cmd_list, "list indexed videos"), ("stats", cmd_stats, "index statistics"),
                             ("verify", cmd_verify, "check that both stores agree")):
        p = sub.add_parser(name, parents=[store, output], help=text)
        p.set_defaults(func=func)

    p = sub.add_parser("remove", parents=[store, output, errors], help="remove videos by id")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("models", help="list or export models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    q = msub.add_parser("list", parents=[output], help="models available here")
    q.set_defaults(func=cmd_models_list)
    q = msub.add_parser("export-isc", parents=[output], help="export the ISC 2021 model to ONNX from a checkpoint")
    q.add_argument("checkpoint")
    q.add_argument("--out", default=None, help="output folder (default: the model folder)")
    q.add_argument("--no-fp16", action="store_true", help="skip the fp16 file")
    q.add_argument("--trust", action="store_true", help="allow a pickled (non weights-only) checkpoint")
    q.set_defaults(func=cmd_models_export_isc)

    p = sub.add_parser("eval", parents=[output], help="score predicted matches (VSC CSV) against ground truth")
    p.add_argument("pred", help="predictions: VSC 2022 CSV with a score column")
    p.add_argument("gt", help="ground truth: VSC 2022 CSV (the score column is optional)")
    p.add_argument("--pairs", metavar="CSV",
                   help="every (query_id, ref_id) pair searched, with or without a copy: gives vcsl_far")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("demo", parents=[output], help="generate videos, index, query, show matches")
    p.add_argument("--model", default=None, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument("--dir", default=None, help="folder for the demo files (default: a new temp folder)")
    p.set_defaults(func=cmd_demo)
    return ap


def _version() -> str:
    import vcdfast

    return f"vcdfast {vcdfast.__version__}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""  # over a progress line being drawn
    print(f"{clear}vcdfast: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    from vcdfast.errors import PartialDecodeWarning, VcdfastError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default", PartialDecodeWarning)
        warnings.showwarning = _show_warning
        try:
            check_args(args)
            rc = args.func(args)
            sys.stdout.flush()
            return rc
        except UsageError as e:
            print(f"vcdfast {args.command}: error: {e}", file=sys.stderr)
            return 2
        except (VcdfastError, OSError, ValueError) as e:
            if isinstance(e, BrokenPipeError):
                return _closed_pipe()
            print(f"vcdfast: error: {e}", file=sys.stderr)
            if getattr(args, "errors", None):
                Path(args.errors).write_text(json.dumps([{"path": None, "error": str(e)}], indent=2) + "\n",
                                             encoding="utf-8")
            return 1
        except KeyboardInterrupt:
            print("vcdfast: interrupted", file=sys.stderr)
            return 130


def _closed_pipe() -> int:
    """The reader of stdout went away: point stdout at /dev/null, so that the interpreter's
    last flush does not fail again, and end as a tool killed by SIGPIPE would."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file descriptor (captured)
        pass
    return SIGPIPE_STATUS


if __name__ == "__main__":
    sys.exit(main())
