"""Keeping an index honest: `verify` (do LevelDB and the first stage agree?), `stats`, `remove`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vcdfast.index.catalog import VideoState

__all__ = ["VerifyReport", "remove", "stats", "verify"]


@dataclass
class VerifyReport:
    videos: int
    rows: int  # searchable rows in the first stage
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def remove(ix, video_ids: str | Iterable[str]) -> None:
    """Remove videos by id: marked REMOVING (invisible at once), their first-stage rows
    deleted, then their records. VideoNotFoundError names the first unknown id; nothing is
    removed then."""
    ids = [video_ids] if isinstance(video_ids, str) else list(video_ids)
    keys = [ix.record(vid).key for vid in ids]
    ix.catalog.set_state(keys, VideoState.REMOVING)
    ix.first_stage.delete(keys)
    ix.first_stage.flush()
    ix.catalog.delete(keys)


def verify(ix) -> VerifyReport:
    """Every committed video has a readable matrix of its recorded shape, its id record, and
    exactly its rows and one video-level row in the first stage; no rows or records belong to
    nothing; the first stage's own checks (e.g. the embedded file's checksum) pass."""
    problems: list[str] = []
    dim, nviews = ix.settings.dim, len(ix.views)
    metas = {m.key: m for m in ix.catalog.items()}
    expected: dict[int, int] = {}
    for key, m in metas.items():
        if not m.committed:
            problems.append(f"video {m.id!r} is {m.state.value} (rolled back on the next writable open)")
            continue
        try:
            vectors, timestamps = ix.catalog.matrix(key)
        except (KeyError, ValueError) as e:
            problems.append(f"video {m.id!r}: matrix record unreadable: {e!r}")
            continue
        if vectors.shape != (m.frames, nviews, dim) or timestamps.shape != (m.frames,):
            problems.append(f"video {m.id!r}: matrix {vectors.shape} does not match metadata "
                            f"({m.frames}, {nviews}, {dim})")
        if ix.catalog.key_of(m.id) != key:
            problems.append(f"video {m.id!r}: id record does not point to key {key}")
        expected[key] = ix.first_stage.searchable_rows(vectors)
    for vid, key in ix.catalog.matrices.id_keys():
        if key not in metas:
            problems.append(f"id {vid!r} points to key {key} which has no metadata")
    for key in ix.catalog.matrices.matrix_keys():
        if key not in metas:
            problems.append(f"matrix for key {key} has no metadata")
    where = ix.first_stage.name
    counts = ix.first_stage.row_counts()
    for key, n in expected.items():
        if counts.get(key, 0) != n:
            problems.append(f"video {metas[key].id!r}: {counts.get(key, 0)} frame rows in {where}, expected {n}")
    for key, n in counts.items():
        if key not in metas:
            problems.append(f"{n} frame rows in {where} for key {key}, which no video has")
    pooled = ix.first_stage.video_keys()
    for key in set(expected) - pooled:
        problems.append(f"video {metas[key].id!r}: no video-level row in {where}")
    for key in pooled - set(metas):
        problems.append(f"video-level row in {where} for key {key}, which no video has")
    problems += ix.first_stage.check({key: metas[key].rev for key in expected})
    return VerifyReport(videos=len(expected), rows=sum(counts.values()), problems=problems)


def stats(ix) -> dict:
    videos = frames = rows = 0
    duration = 0.0
    for m in ix.catalog.videos():
        videos += 1
        frames += m.frames
        rows += m.rows
        duration += m.duration or 0.0
    disk = sum(f.stat().st_size for f in ix.path.rglob("*") if f.is_file())
    s = ix.settings
    return {"path": str(ix.path), "uri": s.uri, "first_stage": ix.first_stage.describe(), "videos": videos,
            "frames": frames, "rows": rows, "duration_s": round(duration, 3), "model": ix.spec.name, "dim": s.dim,
            "views": list(ix.views), "sampling": s.sampling, "index_type": s.index_type, "dedup": s.dedup,
            "searched_views": s.searched_views,
            "dtype": s.dtype, "disk_bytes": disk}
