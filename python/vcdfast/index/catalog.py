"""The catalogue of an index: one typed `VideoMeta` per video, its state, its key, and the
repair of what an interrupted write left behind. Records live in the matrix store (LevelDB).

States, and the order of writes (each LevelDB step is one synced atomic batch):

    (absent) --stage--> PENDING --first-stage rows written--> COMMITTED
    COMMITTED --remove--> REMOVING --first-stage rows deleted--> (absent)

With the embedded first stage (a file rebuilt from LevelDB) a video is staged COMMITTED
directly: LevelDB alone is the source of truth and the file catches up (vcdfast.store.embedded).
With Milvus, LevelDB names every key that may have rows in Milvus from PENDING on, so nothing
can be orphaned; queries use COMMITTED videos only, and `repair` rolls back the rest.
Each write of a video's matrix gets a new `rev`, so a derived structure can tell a replaced
video from the one it holds.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

import numpy as np

from vcdfast.store import MatrixStore, video_key

__all__ = ["Catalog", "VideoMeta", "VideoState"]


class VideoState(str, enum.Enum):
    PENDING = "pending"
    COMMITTED = "committed"
    REMOVING = "removing"


@dataclass(frozen=True)
class VideoMeta:
    """One indexed video. frames, views, dim: the shape of its matrix; last_end: where its
    last descriptor's interval ends (s); rev: changes with every write of the matrix; cuts:
    its hard cuts' times (s; vcdfast.cuts), None when they were not looked for."""

    id: str
    key: int
    state: VideoState
    frames: int
    views: int
    dim: int
    duration: float | None
    last_end: float
    source: str | None = None
    content_hash: str | None = None
    added: str = ""
    rev: str = ""
    cuts: tuple[float, ...] | None = None

    @classmethod
    def new(cls, video_id: str, key: int, state: VideoState, vectors: np.ndarray, *, duration: float | None,
            last_end: float, source: str | None, content_hash: str | None, added: str,
            cuts: tuple[float, ...] | None = None) -> VideoMeta:
        t, v, d = vectors.shape
        return cls(video_id, key, VideoState(state), int(t), int(v), int(d), duration, float(last_end), source,
                   content_hash, added, uuid.uuid4().hex[:16], None if cuts is None else tuple(map(float, cuts)))

    @property
    def committed(self) -> bool:
        return self.state is VideoState.COMMITTED

    @property
    def rows(self) -> int:
        return self.frames * self.views

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["key"]  # the record's LevelDB key
        d["state"] = self.state.value
        return d

    @classmethod
    def from_dict(cls, key: int, d: dict) -> VideoMeta:
        known = cls.__dataclass_fields__
        d = {k: v for k, v in d.items() if k in known}
        d.setdefault("last_end", d.get("duration") or 0.0)
        if d.get("cuts") is not None:
            d["cuts"] = tuple(d["cuts"])
        return cls(key=key, **{**d, "state": VideoState(d["state"])})


class Catalog:
    """Typed access to the video records of a MatrixStore."""

    def __init__(self, matrices: MatrixStore):
        self.matrices = matrices
        self.generation = 0  # bumped after every write: a cache of what the records hold checks it

    def key_of(self, video_id: str) -> int | None:
        return self.matrices.key_of(video_id)

    def get(self, key: int) -> VideoMeta | None:
        raw = self.matrices.meta(key)
        return None if raw is None else VideoMeta.from_dict(key, raw)

    def committed(self, key: int) -> VideoMeta | None:
        meta = self.get(key)
        return meta if meta is not None and meta.committed else None

    def find(self, video_id: str) -> VideoMeta | None:
        """The committed video with this id, or None."""
        key = self.key_of(video_id)
        return None if key is None else self.committed(key)

    def items(self) -> Iterator[VideoMeta]:
        """Every record, whatever its state, in key order."""
        for key, raw in self.matrices.items():
            yield VideoMeta.from_dict(key, raw)

    def videos(self) -> Iterator[VideoMeta]:
        """The committed videos, in key order."""
        return (m for m in self.items() if m.committed)

    def matrix(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        return self.matrices.matrix(key)

    def assign_key(self, video_id: str, taken: set[int]) -> int:
        """The id's recorded key, else its first hash that no other id holds (nor `taken`)."""
        key = self.key_of(video_id)
        if key is not None:
            return key
        salt = 0
        while True:
            key = video_key(video_id, salt)
            other = self.get(key)
            if key not in taken and (other is None or other.id == video_id):
                return key
            salt += 1

    def put(self, staged: Iterable[tuple[VideoMeta, np.ndarray, np.ndarray]]) -> None:
        """Write (meta, vectors, timestamps) records in one synced batch."""
        self.matrices.put([(m.key, m.to_dict(), v, t) for m, v, t in staged])
        self.generation += 1

    def set_state(self, keys: Iterable[int], state: VideoState) -> None:
        self.matrices.set_state(list(keys), VideoState(state).value)
        self.generation += 1

    def delete(self, keys: Iterable[int]) -> None:
        self.matrices.delete(list(keys))
        self.generation += 1

    def repair(self, delete_rows: Callable[[list[int]], None]) -> list[str]:
        """Roll back every video not COMMITTED: `delete_rows(keys)` drops its first-stage rows,
        then its records go. Returns the ids rolled back."""
        stale = [m for m in self.items() if not m.committed]
        if stale:
            keys = [m.key for m in stale]
            delete_rows(keys)
            self.delete(keys)
        return [m.id for m in stale]
