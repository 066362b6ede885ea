"""The vector store: Milvus through pymilvus's MilvusClient.

Two collections per index, named `<prefix>_frames` and `<prefix>_videos`:

- frames: one row per searched (frame, view) (a new index searches each frame's first view):
  auto primary key, `key` (INT64 video key), `vec`. Which frame a row came from is not needed:
  a hit votes for its video, and the matrices come from LevelDB.
- videos: one row per video: `key` is the primary key, `vec` the pooled descriptor (mean of
  the frame descriptors, re-normalised) for video-level near-duplicate search.

Vectors are L2-normalised, so the metric is inner product (= cosine). Rows are sent in
chunks of `insert_chunk` rows, never one call per video, and flushed by the caller once per
batch. Filters are built only from Python ints (video keys), never from user strings.

The URI is a local milvus-lite file (`*.db`) or a server (`http://host:19530`); the code
path is the same. Searches run at Session consistency: they see every write this client made
(one process opens an index at a time, so that is every write), without Strong's wait for the
server's global timestamp, which cost a Milvus 2.3.5 server on 2 cores 1.2-2.5 s per 60-vector
search against 0.2-0.25 s at Session (187k rows, IVF_FLAT).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from vcdfast.errors import IndexLockedError
from vcdfast.store.embedded import searchable
from vcdfast.store.pooling import pool

__all__ = ["IndexType", "MilvusStore"]


class IndexType(str, enum.Enum):
    """Vector index of the Milvus collections. FLAT is exact; HNSW is approximate and fast at
    scale (milvus-lite builds it with faiss-cpu when installed, else searches exactly)."""

    FLAT = "FLAT"
    HNSW = "HNSW"
    IVF_FLAT = "IVF_FLAT"
    IVF_SQ8 = "IVF_SQ8"


_INDEX_PARAMS = {
    IndexType.FLAT: ({}, {}),
    IndexType.HNSW: ({"M": 16, "efConstruction": 200}, {"ef": 128}),
    IndexType.IVF_FLAT: ({"nlist": 1024}, {"nprobe": 32}),
    # a server's tuned choice (BENCHMARKS.md): 8-bit rows scan 4x fewer bytes than IVF_FLAT's,
    # and it builds in seconds where HNSW took minutes on 2 busy cores
    IndexType.IVF_SQ8: ({"nlist": 2048}, {"nprobe": 16}),
}


def _key_list(keys: Iterable[int]) -> str:
    return "[" + ",".join(str(int(k)) for k in keys) + "]"


class MilvusStore:
    """Frame-level and video-level vector collections of one index: a first stage that holds
    its own copy of the vectors (not `derived` from LevelDB)."""

    derived = False

    insert_chunk = 4096  # rows per insert call: ~8 MiB of 512-d float32, under gRPC's limits
    search_chunk = 256  # query vectors per search call (server limits nq * limit)

    def __init__(self, uri: str, prefix: str, dim: int, *, index_type: IndexType = IndexType.HNSW,
                 create: bool = True, searched_views: int | None = None):
        self.uri = uri
        self.dim = int(dim)
        self.searched_views = searched_views  # leading views per frame that are rows (None: all)
        self.index_type = IndexType(index_type)
        self.frames = f"{prefix}_frames"
        self.videos = f"{prefix}_videos"
        self.client = self._connect(uri)
        for name, make in ((self.frames, self._create_frames), (self.videos, self._create_videos)):
            if not self.client.has_collection(name):
                if not create:
                    raise FileNotFoundError(f"Milvus collection {name!r} does not exist at {uri}")
                make(name)
            self.client.load_collection(name)

    @staticmethod
    def _connect(uri: str):
        """MilvusClient(uri), with a milvus-lite data folder locked by another process as
        IndexLockedError: milvus-lite logs its DataDirLockedError and pymilvus raises a bare
        ConnectionConfigException (older versions: AssertionError)."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import ConnectionConfigException

        locked = _LiteLocked()
        log = logging.getLogger("milvus_lite.server_manager")
        log.addFilter(locked)
        try:
            return MilvusClient(uri=uri)
        except (AssertionError, ConnectionConfigException) as e:
            if locked.seen:
                raise IndexLockedError(f"the milvus-lite data at {uri!r} is open in another process: "
                                       f"{locked.seen}") from e
            raise
        finally:
            log.removeFilter(locked)

    # --- schema ---

    def _index_params(self, field: str):
        build, _ = _INDEX_PARAMS[self.index_type]
        ip = self.client.prepare_index_params()
        ip.add_index(field, index_type=self.index_type.value, metric_type="IP", params=build)
        return ip

    def _create_frames(self, name: str) -> None:
        from pymilvus import DataType

        s = self.client.create_schema(auto_id=True, enable_dynamic_field=False)
        s.add_field("pk", DataType.INT64, is_primary=True)
        s.add_field("key", DataType.INT64)
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=self.dim)
        self.client.create_collection(name, schema=s, index_params=self._index_params("vec"),
                                      consistency_level="Strong")

    def _create_videos(self, name: str) -> None:
        from pymilvus import DataType

        s = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("key", DataType.INT64, is_primary=True)
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=self.dim)
        self.client.create_collection(name, schema=s, index_params=self._index_params("vec"),
                                      consistency_level="Strong")

    # --- writes ---

    def insert(self, items: Sequence[tuple[int, str, np.ndarray]]) -> int:
        """Insert videos given as (key, rev, vectors (T, V, D) float32): each frame's searched
        views (vcdfast.store.embedded.searchable) as rows into frames, and the pooled vector
        into videos. Returns rows sent. Rows become Python objects one insert chunk at a time
        (a 24 h video at once would take ~1.4 GB); small videos share chunks."""
        rows: list[dict] = []
        sent = 0
        for key, _, vectors in items:
            flat = searchable(vectors, None, self.searched_views)
            key = int(key)
            start = 0
            while start < len(flat):
                end = min(len(flat), start + self.insert_chunk - len(rows))
                rows += [{"key": key, "vec": vec} for vec in flat[start:end].tolist()]
                start = end
                if len(rows) == self.insert_chunk:
                    self.client.insert(self.frames, rows)
                    sent, rows = sent + len(rows), []
        if rows:
            self.client.insert(self.frames, rows)
            sent += len(rows)
        for i in range(0, len(items), self.insert_chunk):
            self.client.insert(self.videos, [{"key": int(k), "vec": pool(v).tolist()}
                                             for k, _, v in items[i:i + self.insert_chunk]])
        return sent

    def delete(self, keys: Iterable[int]) -> None:
        keys = [int(k) for k in keys]
        for i in range(0, len(keys), 1024):
            part = keys[i:i + 1024]
            self.client.delete(self.frames, filter=f"key in {_key_list(part)}")
            self.client.delete(self.videos, ids=part)

    def flush(self) -> None:
        self.client.flush(self.frames)
        self.client.flush(self.videos)

    def wait_indexed(self, timeout: float = 3600.0, poll: float = 2.0) -> float:
        """Block until every flushed frame row is in the vector index; returns the seconds waited.
        A Milvus server builds indexes in the background after a flush and searches unindexed
        segments by brute force meanwhile (correct, but O(rows) per query); milvus-lite builds
        at flush and returns at once."""
        t0 = time.monotonic()
        while True:
            info = self.client.describe_index(self.frames, "vec")
            # not pending_index_rows: Milvus 2.3.5 keeps counting rows of segments compacted away
            indexed, total = int(info.get("indexed_rows", 0)), int(info.get("total_rows", 0))
            if info.get("state", "Finished") == "Finished" and indexed >= total:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{self.frames}: {total - indexed} of {total} rows still waiting for the vector "
                                   f"index after {timeout:.0f} s ({info.get('state')})")
            time.sleep(poll)

    # --- reads ---

    def _search(self, collection: str, queries: np.ndarray, neighbours: int):
        _, params = _INDEX_PARAMS[self.index_type]
        if self.index_type is IndexType.HNSW:
            params = {"ef": max(params["ef"], neighbours)}
        queries = np.ascontiguousarray(queries, np.float32)
        keys = np.full((len(queries), neighbours), -1, np.int64)
        scores = np.full((len(queries), neighbours), -np.inf, np.float32)
        for s in range(0, len(queries), self.search_chunk):
            part = queries[s:s + self.search_chunk]
            hits = self.client.search(collection, data=part.tolist(), limit=neighbours, anns_field="vec",
                                      output_fields=["key"], search_params={"metric_type": "IP", "params": params},
                                      consistency_level="Session")
            for i, row in enumerate(hits, start=s):
                for j, h in enumerate(row):
                    keys[i, j] = h["entity"]["key"]
                    scores[i, j] = h["distance"]
        return keys, scores

    def search_frames(self, queries: np.ndarray, frame_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) query vectors -> video keys and scores of each one's `frame_neighbours`
        nearest rows, (N, frame_neighbours) each, padded with key -1 / score -inf."""
        return self._search(self.frames, queries, frame_neighbours)

    def search_videos(self, queries: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) pooled query vectors -> (N, count) video keys and scores."""
        return self._search(self.videos, queries, count)

    def _scan_keys(self, collection: str) -> Iterator[np.ndarray]:
        """The `key` column of every row, in batches (a full scan; for verify)."""
        # milvus-lite has no MVCC timestamp to give the iterator (its in-process gRPC server
        # logs the unimplemented call, pymilvus a warning) and the iterator reads at the
        # client's time instead: right for a scan after our own flush
        quiet = [(logging.getLogger("pymilvus.client.iterator.query_iterator"), _DropMessage("failed to get mvccTs")),
                 (logging.getLogger("grpc._server"), _DropMessage("Method not implemented"))]
        for logger, f in quiet:
            logger.addFilter(f)
        try:
            it = self.client.query_iterator(collection, batch_size=8192, filter="", output_fields=["key"])
        finally:
            for logger, f in quiet:
                logger.removeFilter(f)
        try:
            while batch := it.next():
                yield np.fromiter((r["key"] for r in batch), np.int64, len(batch))
        finally:
            it.close()

    name = "Milvus"

    def describe(self) -> str:
        return f"Milvus {self.index_type.value} at {self.uri}"

    def searchable_rows(self, vectors: np.ndarray) -> int:
        return len(searchable(vectors, None, self.searched_views))

    def sync(self, catalog) -> None:
        """Nothing to catch up: rows are written before their video is committed."""

    def check(self, revs: dict[int, str]) -> list[str]:
        """No checks beyond the row counts (Milvus keeps no revisions)."""
        return []

    def row_counts(self) -> dict[int, int]:
        """Rows per video key in the frames collection."""
        counts: dict[int, int] = {}
        for batch in self._scan_keys(self.frames):
            ks, n = np.unique(batch, return_counts=True)
            for k, c in zip(ks.tolist(), n.tolist()):
                counts[k] = counts.get(k, 0) + c
        return counts

    def video_keys(self) -> set[int]:
        """Primary keys of the videos collection."""
        return {k for batch in self._scan_keys(self.videos) for k in batch.tolist()}

    def drop(self) -> None:
        for name in (self.frames, self.videos):
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    def close(self) -> None:
        self.client.close()
        if self.uri.endswith(".db"):  # milvus-lite keeps its server, and the folder's lock, until exit otherwise
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


class _LiteLocked(logging.Filter):
    """Takes milvus-lite's log record of a locked data folder (raised as IndexLockedError instead)."""

    seen: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ == "DataDirLockedError":
            self.seen = str(exc)
            return False
        return True

