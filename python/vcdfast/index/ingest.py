"""Adding videos: files (decode, embed, hash) or ready embeddings, batched into the stores.

The write order of one batch is the catalogue's state machine (vcdfast.index.catalog):
records first (one synced LevelDB batch), then the first stage's rows, then, for a Milvus
first stage, the commit. An id already indexed with the same content is skipped; with other
content, `on_conflict` decides: "error" (the default) refuses it naming both sources,
"replace" replaces it, "skip" keeps the indexed one.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vcdfast.errors import AddError, IdConflictError, VideoDecodeError
from vcdfast.index.catalog import Catalog, VideoMeta, VideoState
from vcdfast.index.lock import now
from vcdfast.index.settings import check_embedding
from vcdfast.models import file_sha256
from vcdfast.progress import progress_bar

__all__ = ["AddReport", "IdFrom", "OnConflict", "add_embeddings", "add_files", "content_hash", "write_batch"]


class IdFrom(str, enum.Enum):
    """How `add` names a video when no id is given."""

    STEM = "stem"  # file name without extension: VSC / VCSL style ids
    NAME = "name"
    PATH = "path"  # the absolute path


class OnConflict(str, enum.Enum):
    """What an add does with an id the index holds with other content."""

    ERROR = "error"
    REPLACE = "replace"
    SKIP = "skip"

    @classmethod
    def _missing_(cls, value):
        raise ValueError(f"on_conflict must be 'error', 'replace' or 'skip', got {value!r}")


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


@dataclass(frozen=True)
class _NewVideo:
    id: str
    embedding: object  # VideoEmbedding
    source: str | None
    content_hash: str


def content_hash(path) -> str:
    """A file's content identity, as recorded in VideoMeta.content_hash."""
    return "sha256:" + file_sha256(path)


def _embedding_hash(emb) -> str:
    """The content identity of an embedding added without its file."""
    h = hashlib.sha256(np.ascontiguousarray(emb.vectors).data)
    h.update(np.ascontiguousarray(emb.timestamps, np.float64).data)
    return "vectors-sha256:" + h.hexdigest()


def _default_id(path: str, id_from: IdFrom) -> str:
    p = Path(path)
    return {IdFrom.STEM: p.stem, IdFrom.NAME: p.name, IdFrom.PATH: str(p.resolve())}[IdFrom(id_from)]


def _conflict(catalog: Catalog, video_id: str, digest: str, source: str | None, policy: OnConflict) -> str | None:
    """"skip" when the id is indexed with this content, "keep" when with other content and
    policy skip, "replace" when it is to be replaced, None when absent; raises
    IdConflictError when refused."""
    old = catalog.find(video_id)
    if old is None:
        return None
    if old.content_hash == digest:
        return "skip"
    if policy is OnConflict.SKIP:
        return "keep"
    if policy is OnConflict.REPLACE:
        return "replace"
    raise IdConflictError(f"id {video_id!r} is already indexed from {old.source or 'an embedding'!r}, which has "
                          f"other content; {source or 'the new embedding'!r} was not added. Replace the indexed "
                          "video (--replace, on_conflict='replace') or give the files distinct ids (--id-from path, "
                          "id_from='path')")


def add_files(ix, path_or_paths, ids: Sequence[str] | None, *, id_from: IdFrom, on_conflict: OnConflict | str,
              on_error: str, strict: bool, batch_rows: int, progress: bool | None,
              on_progress: Callable[[str], None] | None, on_media: Callable[[str, float], None] | None) -> AddReport:
    """Embed and index files (see Index.add): AddError if any failed and on_error is "raise"."""
    from vcdfast.decode import check_regular_file

    if on_error not in ("raise", "report"):
        raise ValueError(f"on_error must be 'raise' or 'report', got {on_error!r}")
    on_conflict = OnConflict(on_conflict)
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    paths = [os.fspath(p) for p in paths]
    if ids is not None and len(ids) != len(paths):
        raise ValueError(f"got {len(ids)} ids for {len(paths)} paths")
    ids = ids if ids is not None else [_default_id(p, id_from) for p in paths]
    seen: dict[str, str] = {}
    report = AddReport()
    batch: list[_NewVideo] = []
    rows = 0
    with progress_bar(total=len(paths), desc="indexing", unit="video", enabled=progress) as bar:
        for p, vid in zip(paths, ids):
            try:
                if vid in seen:
                    raise ValueError(f"id {vid!r} is also the id of {seen[vid]!r}; give distinct ids")
                seen[vid] = p
                check_regular_file(p)  # before hashing: a FIFO would never finish
                digest = content_hash(p)
                source = os.path.abspath(p)
                outcome = _conflict(ix.catalog, vid, digest, source, on_conflict)
                if outcome == "skip":
                    report.skipped.append(vid)
                elif outcome == "keep":
                    report.kept.append(vid)
                else:
                    emb = ix.embed(p, strict=strict,
                                   on_progress=None if on_media is None else lambda t, p=p: on_media(p, t))
                    check_embedding(ix.settings, emb, f"video {p!r}")
                    if emb.info.damage is not None:
                        report.partial[vid] = emb.info.damage
                    batch.append(_NewVideo(vid, emb, source, digest))
                    rows += emb.vectors.shape[0] * emb.vectors.shape[1]
            except (VideoDecodeError, OSError, ValueError) as e:  # IdConflictError is a ValueError
                report.failed[p] = str(e) if isinstance(e, (VideoDecodeError, IdConflictError)) else f"{p!r}: {e}"
            if rows >= batch_rows:
                write_batch(ix.catalog, ix.first_stage, batch, report)
                batch, rows = [], 0
            bar.update(1)
            if on_progress is not None:
                on_progress(p)
        write_batch(ix.catalog, ix.first_stage, batch, report)
    if report.failed and on_error == "raise":
        raise AddError(report)
    return report


def add_embeddings(ix, items: Iterable[tuple[str, object, dict]], *, on_conflict: OnConflict | str) -> AddReport:
    """Index (video_id, VideoEmbedding, {"source": …, "content_hash": …}) items in one batch;
    all are checked before anything is written."""
    on_conflict = OnConflict(on_conflict)
    items = list(items)
    ids = [vid for vid, _, _ in items]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate video ids in one batch")
    report, batch = AddReport(), []
    for vid, emb, extra in items:
        if not isinstance(vid, str) or not vid:
            raise ValueError(f"video ids must be non-empty str, got {vid!r}")
        check_embedding(ix.settings, emb, f"embedding of {vid!r}")
        digest = extra.get("content_hash") or _embedding_hash(emb)
        outcome = _conflict(ix.catalog, vid, digest, extra.get("source"), on_conflict)
        if outcome in ("skip", "keep"):
            (report.skipped if outcome == "skip" else report.kept).append(vid)
        else:
            batch.append(_NewVideo(vid, emb, extra.get("source"), digest))
    write_batch(ix.catalog, ix.first_stage, batch, report)
    return report


def write_batch(catalog: Catalog, first_stage, batch: list[_NewVideo], report: AddReport) -> None:
    """The catalogue's add path for one batch. A derived first stage (embedded) is rebuilt from
    LevelDB after a crash, so records are written COMMITTED at once; Milvus rows are written
    between PENDING and COMMITTED."""
    if not batch:
        return
    state = VideoState.COMMITTED if first_stage.derived else VideoState.PENDING
    staged, replaced, taken, added = [], [], set(), now()
    for new in batch:
        emb = new.embedding
        key = catalog.assign_key(new.id, taken)
        taken.add(key)
        if catalog.get(key) is not None:
            replaced.append(key)
        meta = VideoMeta.new(new.id, key, state, emb.vectors, duration=emb.info.duration,
                             last_end=emb.last_end(), source=new.source,
                             content_hash=new.content_hash, added=added, cuts=emb.info.cuts)
        staged.append((meta, emb.vectors, emb.timestamps))
    catalog.put(staged)
    if replaced:
        first_stage.delete(replaced)
    first_stage.insert([(meta.key, meta.rev, vectors) for meta, vectors, _ in staged])
    first_stage.flush()
    if not first_stage.derived:
        catalog.set_state([meta.key for meta, _, _ in staged], VideoState.COMMITTED)
    replaced_keys = set(replaced)
    for meta, _, _ in staged:
        (report.replaced if meta.key in replaced_keys else report.added).append(meta.id)
