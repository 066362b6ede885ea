"""A video index: ingest (decode, embed, store) and query (search, select, align, report).

An index is a folder holding `matrices/` (LevelDB: settings, ids, metadata, descriptor
matrices; see vcdfast.store.matrix_store) and, by default, `milvus.db` (a milvus-lite file).
Give `uri="http://host:19530"` at creation to keep the vectors on a Milvus server instead;
the folder then records that URI.

Settings. An index records its model identity (name, version, sha256, dim, preprocessing),
views and sampling at creation. Opening it with other ones raises IndexMismatchError;
passing None (the default) takes the recorded ones.

Video states, and the order of writes (each LevelDB step is one synced atomic batch):

    (absent) --put--> PENDING --vectors inserted + flushed--> COMMITTED
    COMMITTED --remove--> REMOVING --vectors deleted--> (absent)
    COMMITTED --re-add with new content--> PENDING (old vectors deleted first) --> COMMITTED

1. PENDING: id mapping, metadata (state "pending") and matrix written to LevelDB. From here
   on LevelDB names every key that may have rows in Milvus, so nothing can be orphaned.
2. Rows inserted into Milvus (frames and pooled video vector), batched across videos,
   then flushed once per batch.
3. COMMITTED: the batch's states set to "committed" in one batch.

Queries only ever return videos whose state is "committed", so a video becomes visible at
step 3 and only then; Milvus hits on other keys are ignored. Removal first marks
"removing" (invisible at once), then deletes the rows from Milvus, then the LevelDB records.
Opening an index writable rolls back every video not COMMITTED: its Milvus rows are deleted
and its records dropped (`Index.repaired` lists their ids). An interrupted re-add therefore
leaves the id absent, never half old and half new.

Video keys are 63-bit hashes of the ids (vcdfast.store.keys); two ids never share a key.

Processes. One process at a time opens an index, read-only or not: LevelDB and milvus-lite
each take an exclusive lock on their files. Many readers means many threads in one service
process sharing one open Index (one writer thread and reader threads together are tested).
A second process gets IndexLockedError naming the holder: each open writes `HOLDER` (pid,
host, since, argv[0]) into the folder after taking the locks and removes it on close. The
locks are the truth; the file only names the holder, and a stale one (its process died) is
reported as such and replaced by the next open.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vcdfast.errors import AddError, IndexLockedError, IndexMismatchError, VideoDecodeError, VideoNotFoundError
from vcdfast.query import (AlignMethod, Match, QueryOptions, Similarity, align_pairs, align_views, boxes_to_matches,
                           frame_votes, intervals, vote)
from vcdfast.store import IndexType, MatrixStore, MilvusStore, pool, video_key

__all__ = ["AddReport", "IdFrom", "Index", "Match", "VerifyReport", "VideoMatch", "VideoRecord", "compare",
           "content_hash"]

FORMAT = 1
DEFAULT_MODEL = "sscd"  # a new index's model when none is named
HOLDER = "HOLDER"  # names the process that has the index open (see the module docstring)
PENDING, COMMITTED, REMOVING = "pending", "committed", "removing"


class IdFrom(str, enum.Enum):
    """How `add` names a video when no id is given."""

    STEM = "stem"  # file name without extension: VSC / VCSL style ids
    NAME = "name"
    PATH = "path"  # the absolute path


@dataclass(frozen=True)
class VideoRecord:
    id: str
    key: int
    source: str | None
    content_hash: str | None
    duration: float | None
    frames: int
    views: int
    added: str


@dataclass(frozen=True)
class VideoMatch:
    """Video-level near-duplicate hit: cosine of the pooled descriptors."""

    query_id: str
    ref_id: str
    score: float


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # same id, same content: already indexed
    kept: list[str] = field(default_factory=list)  # same id, other content, on_conflict="skip": old entry kept
    failed: dict[str, str] = field(default_factory=dict)  # input path -> error message
    partial: dict[str, str] = field(default_factory=dict)  # id -> why only part of its file was indexed

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def count(self) -> int:
        """Inputs that did not fail."""
        return len(self.added) + len(self.replaced) + len(self.skipped) + len(self.kept)


@dataclass
class VerifyReport:
    videos: int
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def content_hash(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return "sha256:" + h.hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _default_id(path: str, id_from: IdFrom) -> str:
    p = Path(path)
    return {IdFrom.STEM: p.stem, IdFrom.NAME: p.name, IdFrom.PATH: str(p.resolve())}[IdFrom(id_from)]


def _progress(total: int, desc: str, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="video", disable=not enabled, file=sys.stderr, leave=False)


def _write_holder(path: Path, read_only: bool) -> bool:
    """Record this process as the holder (after the locks are taken). A read-only open of a
    folder it cannot write goes on unnamed. Returns whether the file was written."""
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now(),
              "argv0": sys.argv[0] if sys.argv else "", "read_only": read_only}
    tmp = path / f"{HOLDER}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
        os.replace(tmp, path / HOLDER)
    except OSError:
        if not read_only:
            raise
        return False
    return True


def _holder(path: Path) -> str:
    """Who holds the index, from its HOLDER file, in words."""
    try:
        h = json.loads((path / HOLDER).read_text(encoding="utf-8"))
        pid, host, since = int(h["pid"]), str(h["host"]), str(h["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process (no readable holder record)"
    who = f"pid {pid} on host {host!r} since {since} ({h.get('argv0') or '?'}"
    who += ", read-only)" if h.get("read_only") else ")"
    if host == socket.gethostname():
        if pid == os.getpid():
            return who + ", i.e. this process: close the other Index handle first"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"an unknown process (the holder record names {who}, which is no longer running)"
        except PermissionError:
            pass
    return who


def _resolve_settings(model, sampling, views):
    """Model spec, views and sampling as given (None -> the defaults of a new index)."""
    from vcdfast.decode import Sampling
    from vcdfast.models import get_model
    from vcdfast.views import expand_views

    spec = get_model(model if model is not None else DEFAULT_MODEL)
    return spec, expand_views(views if views is not None else ("full",)), (sampling or Sampling())


class Index:
    """See the module docstring. Use `Index.open(...)`; close() or use as a context manager."""

    def __init__(self, path, matrices: MatrixStore, vectors: MilvusStore, settings: dict, spec, sampling,
                 views: tuple[str, ...], read_only: bool):
        self.path = Path(path)
        self.matrices = matrices
        self.vectors = vectors
        self.settings = settings
        self.spec = spec
        self.sampling = sampling
        self.views = views
        self.read_only = read_only
        self.repaired: list[str] = []
        self._embedder = None
        self._query_embedders: dict[tuple[str, ...], object] = {}
        self._background = None  # (spec, generation, Background), see background()
        self._generation = 0  # bumped by every add and remove
        self._holder_written = False

    # --- opening ---

    @classmethod
    def open(cls, path, *, model=None, sampling=None, views=None, uri: str | None = None, read_only: bool = False,
             create: bool = True, index_type: IndexType | str = IndexType.HNSW) -> "Index":
        """Open the index in folder `path`, creating it when `create` and it does not exist.
        model/sampling/views: None takes the recorded ones (for a new index: "sscd", 1 fps,
        ("full",)); anything else must equal what the index recorded."""
        from vcdfast.decode import Sampling
        from vcdfast.models import get_model
        from vcdfast.views import expand_views

        path = Path(path)
        exists = (path / "matrices" / "CURRENT").exists()
        if not exists and not create:
            raise FileNotFoundError(f"no vcdfast index at {str(path)!r} (create it with `vcdfast index`)")
        if exists and read_only is False and not os.access(path, os.W_OK):
            raise PermissionError(f"index folder {str(path)!r} is not writable; open it with read_only=True")
        path.mkdir(parents=True, exist_ok=True)
        try:
            matrices = MatrixStore(path / "matrices", create=create)
        except IndexLockedError as e:
            raise _locked(path) from e
        try:
            settings = matrices.settings()
            if settings is None:
                if read_only:
                    raise FileNotFoundError(f"no vcdfast index at {str(path)!r}")
                spec, views_, sampling_ = _resolve_settings(model, sampling, views)
                settings = {"format": FORMAT, "model": spec.identity(), "model_name": spec.name,
                            "views": list(views_), "sampling": sampling_.to_dict(), "dim": spec.dim,
                            "dtype": "float32", "uri": uri, "collections": "vcdfast_" + uuid.uuid4().hex[:12],
                            "index_type": IndexType(index_type).value, "created": _now()}
            else:
                if settings.get("format") != FORMAT:
                    raise IndexMismatchError(f"index at {str(path)!r} has format {settings.get('format')}; "
                                             f"this vcdfast reads format {FORMAT}")
                spec = get_model(model if model is not None else settings["model_name"])
                views_ = expand_views(views) if views is not None else tuple(settings["views"])
                sampling_ = sampling if sampling is not None else Sampling.from_dict(settings["sampling"])
                _check_same(path, settings, spec, views_, sampling_)
            milvus_uri = uri or settings["uri"] or str(path / "milvus.db")
            try:
                vectors = MilvusStore(milvus_uri, settings["collections"], settings["dim"],
                                      index_type=IndexType(settings["index_type"]), create=not read_only)
            except IndexLockedError as e:
                raise _locked(path) from e
            if matrices.settings() is None:
                matrices.put_settings(settings)
        except BaseException:
            matrices.close()
            raise
        index = cls(path, matrices, vectors, settings, spec, sampling_, views_, read_only)
        try:
            index._holder_written = _write_holder(path, read_only)
            if not read_only:
                index._repair()
        except BaseException:
            index.close()
            raise
        return index

    def close(self) -> None:
        if self._holder_written:  # before the locks go: a next holder's file must not be removed
            self._holder_written = False
            try:
                (self.path / HOLDER).unlink()
            except FileNotFoundError:
                pass
        self.vectors.close()
        self.matrices.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- embedding ---

    @property
    def embedder(self):
        if self._embedder is None:
            from vcdfast.embed import Embedder

            self._embedder = Embedder(self.spec, views=self.views)
        return self._embedder

    def embed(self, path, **kw):
        """Embedder.embed_video(path, the index's sampling, **kw)."""
        return self.embedder.embed_video(path, self.sampling, **kw)

    def embed_query(self, path, views: Sequence[str] | None = None, **kw):
        """A query video embedded with query-side views (default: QueryOptions().views);
        **kw as for Embedder.embed_video."""
        from vcdfast.embed import Embedder
        from vcdfast.views import expand_views

        views = expand_views(views if views is not None else QueryOptions().views)
        if views not in self._query_embedders:
            self._query_embedders[views] = Embedder(self.spec, views=views)
        return self._query_embedders[views].embed_video(path, self.sampling, **kw)

    def _check_embedding(self, emb, what: str) -> None:
        if emb.model.identity() != self.settings["model"]:
            raise IndexMismatchError(f"{what} was embedded with model {emb.model.name!r} "
                                     f"{emb.model.identity()}, the index uses {self.settings['model']}")
        if tuple(emb.views) != self.views:
            raise IndexMismatchError(f"{what} has views {tuple(emb.views)}, the index uses {self.views}")
        if emb.sampling.to_dict() != self.settings["sampling"]:
            raise IndexMismatchError(f"{what} was sampled with {emb.sampling.to_dict()}, "
                                     f"the index uses {self.settings['sampling']}")
        if len(emb) == 0:
            raise ValueError(f"{what} has no frames")

    # --- ingest ---

    def add(self, path_or_paths, *, ids: Sequence[str] | None = None, id_from: IdFrom = IdFrom.STEM,
            on_conflict: str = "error", on_error: str = "raise", strict: bool = False, batch_rows: int = 32768,
            progress: bool | None = None, on_progress: Callable[[str], None] | None = None,
            on_media: Callable[[str, float], None] | None = None) -> AddReport:
        """Embed and index one video file or many. One id per file (`ids`, else from the
        file name per `id_from`). A file whose id is indexed with the same content hash is
        skipped. An id indexed with other content is a conflict, settled by `on_conflict`:
        "error" (default: the file fails, the indexed video stays), "replace" or "skip"
        (the indexed video stays, the id is listed in `.kept`).

        A file that fails (decode error, no frames, unreadable, conflict) does not stop the
        batch: the others are indexed. Then, with on_error="raise" (default), AddError lists
        the failures (its `.report` is the AddReport); with on_error="report" they are only in
        the returned report's `.failed`. A damaged file (truncated, or undecodable from some
        point on) is indexed for its decodable part with a PartialDecodeWarning and listed in
        `.partial`; strict=True makes it a failure instead. Rows reach the stores in batches
        of about `batch_rows`. on_progress(path) is called after each file, on_media(path,
        seconds of media embedded so far) during each one."""
        from vcdfast.decode import check_regular_file

        if on_conflict not in ("error", "replace", "skip"):
            raise ValueError(f"on_conflict must be 'error', 'replace' or 'skip', got {on_conflict!r}")
        if on_error not in ("raise", "report"):
            raise ValueError(f"on_error must be 'raise' or 'report', got {on_error!r}")
        self._writable()
        paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
        paths = [os.fspath(p) for p in paths]
        if ids is None:
            ids = [_default_id(p, id_from) for p in paths]
        elif len(ids) != len(paths):
            raise ValueError(f"got {len(ids)} ids for {len(paths)} paths")
        seen: dict[str, str] = {}
        report = AddReport()
        batch: list[tuple[str, object, dict]] = []
        rows = 0
        with _progress(len(paths), "indexing", progress) as bar:
            for p, vid in zip(paths, ids):
                try:
                    if vid in seen:
                        raise ValueError(f"id {vid!r} is also the id of {seen[vid]!r}; give distinct ids")
                    seen[vid] = p
                    check_regular_file(p)  # before hashing: a FIFO would never finish
                    digest = content_hash(p)
                    key = self.matrices.key_of(vid)
                    old = self.matrices.meta(key) if key is not None else None
                    if old is not None and old["state"] == COMMITTED and old.get("content_hash") == digest:
                        report.skipped.append(vid)
                    elif old is not None and on_conflict == "skip":
                        report.kept.append(vid)
                    elif old is not None and on_conflict == "error":
                        raise ValueError(
                            f"id {vid!r} is already indexed from {old.get('source')!r}, which has other content; "
                            f"{os.path.abspath(p)!r} was not added. Replace the indexed video (--replace, "
                            "on_conflict='replace') or give the files distinct ids (--id-from path, id_from='path')")
                    else:
                        emb = self.embed(p, strict=strict, on_progress=(
                            None if on_media is None else lambda t, p=p: on_media(p, t)))
                        self._check_embedding(emb, f"video {p!r}")
                        if emb.info.damage is not None:
                            report.partial[vid] = emb.info.damage
                        batch.append((vid, emb, {"source": os.path.abspath(p), "content_hash": digest}))
                        rows += emb.vectors.shape[0] * emb.vectors.shape[1]
                except (VideoDecodeError, OSError, ValueError) as e:
                    report.failed[p] = str(e) if isinstance(e, VideoDecodeError) else f"{p!r}: {e}"
                if rows >= batch_rows:
                    self._ingest(batch, report)
                    batch, rows = [], 0
                bar.update(1)
                if on_progress is not None:
                    on_progress(p)
            self._ingest(batch, report)
        if report.failed and on_error == "raise":
            raise AddError(report)
        return report

    def add_many(self, paths: Iterable, **kw) -> AddReport:
        """add() for an iterable of paths."""
        return self.add(list(paths), **kw)

    def add_embedding(self, video_id: str, emb, *, source: str | None = None, content_hash: str | None = None) -> None:
        """Index a VideoEmbedding (e.g. computed elsewhere) under `video_id`."""
        self.add_embeddings([(video_id, emb, {"source": source, "content_hash": content_hash})])

    def add_embeddings(self, items: Iterable[tuple[str, object, dict]]) -> AddReport:
        """Index many (video_id, VideoEmbedding, extra metadata) in one batch."""
        self._writable()
        items = list(items)
        ids = [vid for vid, _, _ in items]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate video ids in one batch")
        for vid, emb, _ in items:
            if not isinstance(vid, str) or not vid:
                raise ValueError(f"video ids must be non-empty str, got {vid!r}")
            self._check_embedding(emb, f"embedding of {vid!r}")
        report = AddReport()
        self._ingest(items, report)
        return report

    def _assign_key(self, video_id: str, taken: set[int]) -> int:
        key = self.matrices.key_of(video_id)
        if key is not None:
            return key
        salt = 0
        while True:
            key = video_key(video_id, salt)
            other = self.matrices.meta(key)
            if key not in taken and (other is None or other["id"] == video_id):
                return key
            salt += 1

    def _ingest(self, items: list[tuple[str, object, dict]], report: AddReport) -> None:
        """The state machine's add path (module docstring) for one batch."""
        if not items:
            return
        staged, replaced, taken = [], [], set()
        for vid, emb, extra in items:
            key = self._assign_key(vid, taken)
            taken.add(key)
            if self.matrices.meta(key) is not None:
                replaced.append(key)
            last_end = float(emb.intervals()[-1, 1])
            meta = {"id": vid, "state": PENDING, "source": extra.get("source"),
                    "content_hash": extra.get("content_hash"), "duration": emb.info.duration,
                    "last_end": last_end, "frames": int(emb.vectors.shape[0]), "views": int(emb.vectors.shape[1]),
                    "dim": int(emb.vectors.shape[2]), "added": _now()}
            staged.append((key, vid, emb, meta))
        self.matrices.put([(key, meta, emb.vectors, emb.timestamps) for key, _, emb, meta in staged])
        if replaced:
            self.vectors.delete(replaced)
        self.vectors.insert([(key, emb.vectors, emb.timestamps) for key, _, emb, _ in staged])
        self.vectors.flush()
        self.matrices.set_state([key for key, *_ in staged], COMMITTED)
        self._generation += 1
        replaced = set(replaced)
        for key, vid, _, _ in staged:
            (report.replaced if key in replaced else report.added).append(vid)

    def remove(self, video_ids: str | Iterable[str]) -> None:
        """Remove videos by id (VideoNotFoundError names the first unknown id; nothing is
        removed then)."""
        self._writable()
        ids = [video_ids] if isinstance(video_ids, str) else list(video_ids)
        keys = []
        for vid in ids:
            key = self.matrices.key_of(vid)
            if key is None or self.matrices.meta(key)["state"] != COMMITTED:
                raise VideoNotFoundError(f"no video {vid!r} in the index at {str(self.path)!r}")
            keys.append(key)
        self.matrices.set_state(keys, REMOVING)
        self._generation += 1
        self.vectors.delete(keys)
        self.vectors.flush()
        self.matrices.delete(keys)

    def _repair(self) -> None:
        stale = [(key, meta["id"]) for key, meta in self.matrices.items() if meta["state"] != COMMITTED]
        if stale:
            keys = [k for k, _ in stale]
            self.vectors.delete(keys)
            self.vectors.flush()
            self.matrices.delete(keys)
            self.repaired = [vid for _, vid in stale]

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the index at {str(self.path)!r} is open read-only")

    # --- reading ---

    def _committed(self, key: int) -> dict | None:
        meta = self.matrices.meta(key)
        return meta if meta is not None and meta["state"] == COMMITTED else None

    @staticmethod
    def _record(key: int, meta: dict) -> VideoRecord:
        return VideoRecord(meta["id"], key, meta["source"], meta["content_hash"], meta["duration"], meta["frames"],
                           meta["views"], meta["added"])

    def get(self, video_id: str):
        """The stored VideoEmbedding of `video_id` (exactly the vectors that were added)."""
        from vcdfast.decode import VideoInfo
        from vcdfast.embed import VideoEmbedding

        key = self.matrices.key_of(video_id)
        meta = self._committed(key) if key is not None else None
        if meta is None:
            raise VideoNotFoundError(f"no video {video_id!r} in the index at {str(self.path)!r}")
        vectors, timestamps = self.matrices.matrix(key)
        info = VideoInfo(path=meta["source"] or "", duration=meta["duration"], width=0, height=0, rotation=0,
                         codec="", avg_fps=None, start_time=0.0, frame_count=meta["frames"])
        return VideoEmbedding(vectors=vectors, timestamps=np.array(timestamps), info=info, model=self.spec,
                              sampling=self.sampling, views=self.views)

    def record(self, video_id: str) -> VideoRecord:
        key = self.matrices.key_of(video_id)
        meta = self._committed(key) if key is not None else None
        if meta is None:
            raise VideoNotFoundError(f"no video {video_id!r} in the index at {str(self.path)!r}")
        return self._record(key, meta)

    def list(self) -> list[VideoRecord]:
        return sorted((self._record(k, m) for k, m in self.matrices.items() if m["state"] == COMMITTED),
                      key=lambda r: r.id)

    def __len__(self) -> int:
        return sum(1 for _, m in self.matrices.items() if m["state"] == COMMITTED)

    def __contains__(self, video_id: str) -> bool:
        key = self.matrices.key_of(video_id)
        return key is not None and self._committed(key) is not None

    def stats(self) -> dict:
        videos = frames = rows = 0
        duration = 0.0
        for _, m in self.matrices.items():
            if m["state"] == COMMITTED:
                videos += 1
                frames += m["frames"]
                rows += m["frames"] * m["views"]
                duration += m["duration"] or 0.0
        disk = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return {"path": str(self.path), "uri": self.vectors.uri, "videos": videos, "frames": frames, "rows": rows,
                "duration_s": round(duration, 3), "model": self.spec.name, "dim": self.settings["dim"],
                "views": list(self.views), "sampling": self.settings["sampling"],
                "index_type": self.settings["index_type"], "dtype": self.settings["dtype"], "disk_bytes": disk}

    def verify(self) -> VerifyReport:
        """Check that LevelDB and Milvus agree: every committed video has its matrix and
        exactly T * V frame rows and one video row; no rows or records belong to nothing."""
        problems: list[str] = []
        dim, nviews = self.settings["dim"], len(self.views)
        metas = dict(self.matrices.items())
        expected: dict[int, int] = {}
        for key, m in metas.items():
            if m["state"] != COMMITTED:
                problems.append(f"video {m['id']!r} is {m['state']} (rolled back on the next writable open)")
                continue
            try:
                vectors, timestamps = self.matrices.matrix(key)
            except (KeyError, ValueError) as e:
                problems.append(f"video {m['id']!r}: matrix record unreadable: {e!r}")
                continue
            if vectors.shape != (m["frames"], nviews, dim) or timestamps.shape != (m["frames"],):
                problems.append(f"video {m['id']!r}: matrix {vectors.shape} does not match "
                                f"metadata ({m['frames']}, {nviews}, {dim})")
            if self.matrices.key_of(m["id"]) != key:
                problems.append(f"video {m['id']!r}: id record does not point to key {key}")
            expected[key] = m["frames"] * nviews
        for vid, key in self.matrices.id_keys():
            if key not in metas:
                problems.append(f"id {vid!r} points to key {key} which has no metadata")
        for key in self.matrices.matrix_keys():
            if key not in metas:
                problems.append(f"matrix for key {key} has no metadata")
        counts = self.vectors.frame_counts()
        for key, n in expected.items():
            if counts.get(key, 0) != n:
                problems.append(f"video {metas[key]['id']!r}: {counts.get(key, 0)} frame rows in Milvus, "
                                f"expected {n}")
        for key, n in counts.items():
            if key not in metas:
                problems.append(f"{n} frame rows in Milvus for key {key}, which no video has")
        pooled = self.vectors.video_keys()
        for key in set(expected) - pooled:
            problems.append(f"video {metas[key]['id']!r}: no video-level row in Milvus")
        for key in pooled - set(metas):
            problems.append(f"video-level row in Milvus for key {key}, which no video has")
        return VerifyReport(videos=len(expected), rows=sum(counts.values()), problems=problems)

    # --- querying ---

    def _as_embedding(self, path_or_embedding, query_id: str | None):
        if isinstance(path_or_embedding, (str, os.PathLike)):
            emb = self.embed(path_or_embedding)
            qid = query_id if query_id is not None else Path(path_or_embedding).stem
        else:
            emb = path_or_embedding
            qid = query_id if query_id is not None else "query"
        self._check_embedding(emb, f"query {qid!r}")
        return emb, qid

    def _as_query(self, path_or_embedding, query_id: str | None, views: tuple[str, ...]):
        """A query's embedding with its query-side views: embedded here from a path, or as
        given (queried with the views it has: same model and sampling as the index)."""
        if isinstance(path_or_embedding, (str, os.PathLike)):
            emb = self.embed_query(path_or_embedding, views)
            qid = query_id if query_id is not None else Path(path_or_embedding).stem
        else:
            emb = path_or_embedding
            qid = query_id if query_id is not None else "query"
        what = f"query {qid!r}"
        if emb.model.identity() != self.settings["model"]:
            raise IndexMismatchError(f"{what} was embedded with model {emb.model.name!r} "
                                     f"{emb.model.identity()}, the index uses {self.settings['model']}")
        if emb.sampling.to_dict() != self.settings["sampling"]:
            raise IndexMismatchError(f"{what} was sampled with {emb.sampling.to_dict()}, "
                                     f"the index uses {self.settings['sampling']}")
        if len(emb) == 0:
            raise ValueError(f"{what} has no frames")
        return emb, qid

    def background(self, spec):
        """Background descriptors for score normalisation (vcdfast.normalise), drawn from the
        committed videos in key order (keys are hashes: a fixed, content-blind sample),
        limit // per_video videos spread over the catalogue; cached until the next add/remove."""
        from vcdfast.normalise import Background

        cached = self._background
        if cached is None or cached[0] != spec or cached[1] != self._generation:
            generation = self._generation
            keys = sorted(k for k, meta in self.matrices.items() if meta["state"] == COMMITTED)
            want = max(1, spec.limit // spec.per_video)
            chosen = keys[::max(1, len(keys) // want)][:want]
            bg = Background.sample((self.matrices.matrix(k)[0] for k in chosen), spec)
            self._background = cached = (spec, generation, bg)
        return cached[2]

    def candidates(self, query_vectors: np.ndarray, options: QueryOptions | None = None,
                   bias: np.ndarray | None = None) -> list[tuple[int, dict, float]]:
        """Candidate videos of (T, V, D) query descriptors: options.frame_neighbours nearest
        reference frames per descriptor, votes per video (options.votes; bias (T, V) from
        score normalisation), the options.candidates committed videos with most votes as
        (key, metadata, votes)."""
        options = options or QueryOptions()
        q = np.ascontiguousarray(query_vectors, np.float32)
        t, v, d = q.shape
        keys, scores = self.vectors.search_frames(q.reshape(-1, d), options.frame_neighbours)
        if options.votes == "frame":
            ranked = frame_votes(np.repeat(np.arange(t), v), keys, scores, None if bias is None else bias.ravel())
        else:
            ranked = vote(keys, scores)
        out = []
        for key, total in zip(*ranked):
            meta = self._committed(int(key))
            if meta is not None:
                out.append((int(key), meta, float(total)))
                if len(out) == options.candidates:
                    break
        return out

    def query(self, path_or_embedding, *, query_id: str | None = None, options: QueryOptions | None = None,
              **changes) -> list[Match]:
        """Copied segments of a video (path or VideoEmbedding) in the indexed videos, best
        score first; several segments per pair when the alignment finds them. `options`
        (default QueryOptions()) with `changes` (its field names) applied."""
        options = dataclasses.replace(options or QueryOptions(), **changes)
        emb, qid = self._as_query(path_or_embedding, query_id, options.views)
        q = np.ascontiguousarray(emb.vectors, np.float32)
        bias = self.background(options.background).bias(q) if options.background is not None else None
        cands = self.candidates(q, options, bias)
        refs = [self.matrices.matrix(key) for key, _, _ in cands]
        found = align_views(q, [v for v, _ in refs], bias, options)
        q_int = emb.intervals()
        matches: list[Match] = []
        for (key, meta, _), (_, ts), (boxes, scores) in zip(cands, refs, found):
            matches += boxes_to_matches(qid, meta["id"], boxes, scores, q_int, intervals(ts, meta["last_end"]))
        matches.sort(key=lambda m: (-m.score, m.ref_id, m.query_start))
        return matches

    def query_videos(self, path_or_embedding, *, query_id: str | None = None, top_n: int = 5) -> list[VideoMatch]:
        """Video-level near duplicates: the `top_n` videos whose pooled descriptor is
        nearest the query's (one search; no alignment)."""
        emb, qid = self._as_embedding(path_or_embedding, query_id)
        keys, scores = self.vectors.search_videos(pool(emb.vectors)[None, :], top_n + 16)
        out = []
        for key, score in zip(keys[0].tolist(), scores[0].tolist()):
            meta = self._committed(key) if key >= 0 else None
            if meta is not None:
                out.append(VideoMatch(qid, meta["id"], float(score)))
                if len(out) == top_n:
                    break
        return out

    def compare(self, a, b, **kw):
        """compare() two videos (paths or embeddings) with this index's model and settings."""
        ea, ida = self._as_embedding(a, kw.pop("query_id", None))
        eb, idb = self._as_embedding(b, kw.pop("ref_id", None))
        return compare(ea, eb, query_id=ida, ref_id=idb, **kw)


def compare(a, b, *, model="sscd", sampling=None, views=None, query_id: str | None = None, ref_id: str | None = None,
            method: AlignMethod | str = AlignMethod.TN, params: dict | None = None,
            similarity: Similarity | str | None = None, num_threads: int | None = None,
            embedder=None) -> tuple[list[Match], np.ndarray]:
    """Copied segments between two videos, without an index. a, b: paths or VideoEmbeddings.
    Returns (matches, similarity map (Ta, Tb) float32)."""
    from vcdfast.query import default_similarity, similarity_map

    def embedding(x, given_id, fallback):
        if isinstance(x, (str, os.PathLike)):
            nonlocal embedder
            if embedder is None:
                from vcdfast.embed import Embedder

                spec, views_, _ = _resolve_settings(model, sampling, views)
                embedder = Embedder(spec, views=views_)
            emb = embedder.embed_video(x, _resolve_settings(model, sampling, views)[2])
            return emb, given_id if given_id is not None else Path(x).stem
        return x, given_id if given_id is not None else fallback

    ea, ida = embedding(a, query_id, "a")
    eb, idb = embedding(b, ref_id, "b")
    if ea.model.identity() != eb.model.identity() or ea.vectors.shape[1:] != eb.vectors.shape[1:]:
        raise ValueError(f"cannot compare {ida!r} and {idb!r}: embedded with different models or views")
    sim = Similarity(similarity) if similarity is not None else default_similarity(ea.vectors.shape[1])
    (boxes, scores), = align_pairs(ea.vectors, [eb.vectors], method=AlignMethod(method), params=params,
                                   similarity=sim, num_threads=num_threads)
    sim_map = similarity_map(ea.vectors, eb.vectors, sim)
    matches = boxes_to_matches(ida, idb, boxes, scores, ea.intervals(), eb.intervals())
    matches.sort(key=lambda m: -m.score)
    return matches, sim_map


def _locked(path: Path) -> IndexLockedError:
    return IndexLockedError(f"the index at {str(path)!r} is already open, by {_holder(path)}. One process "
                            "opens an index at a time, read-only too (share one open Index between threads "
                            "instead); close it there or wait")


def _check_same(path, settings: dict, spec, views: tuple[str, ...], sampling) -> None:
    diffs = []
    if spec.identity() != settings["model"]:
        given, recorded = spec.identity(), settings["model"]
        diffs.append(f"model {given['name']!r} ({given['version']}, sha256 {given['sha256'][:12]}) != recorded "
                     f"{recorded['name']!r} ({recorded['version']}, sha256 {recorded['sha256'][:12]})")
    if list(views) != settings["views"]:
        diffs.append(f"views {list(views)} != recorded {settings['views']}")
    if sampling.to_dict() != settings["sampling"]:
        diffs.append(f"sampling {sampling.to_dict()} != recorded {settings['sampling']}")
    if diffs:
        raise IndexMismatchError(f"index at {str(path)!r} was built with other settings: " + "; ".join(diffs)
                                 + ". Open it without these options (they are recorded), or use another index folder.")
