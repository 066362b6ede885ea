"""The embedded first stage: an in-process faiss index over the frame vectors, derived from
LevelDB (which stays the one durable copy of every descriptor) and saved as one checksummed
file, `frames.ann` (vcdfast.store.annfile), that is rebuilt whenever it is missing, damaged
or behind.

Rows are keyed by the video key (faiss ids), so a hit names its video and nothing else.
Small catalogues are searched exactly (float32 inner product); from TRAIN_ROWS rows on, an
IVF index with scalar-quantised rows (vcdfast.store.ivf, which says why; bench/bench_index.py
measures it against an exact scan) is trained on a sample of the rows, and rebuilt from
LevelDB when the catalogue has grown REBUILD_GROWTH times past the rows it was trained on.
Video-level search is exact over the pooled vectors (one per video).

Consistency. The file records which revision of which video it holds (`covered`: key ->
rev, rows). Opening an index calls `sync`: rows of videos no longer committed, or committed
with another revision, are removed; committed videos it lacks are added from LevelDB. A
crash therefore costs at most a catch-up, never a wrong answer. The file is replaced
atomically and checksummed (vcdfast.store.annfile): `check` (i.e. `Index.verify`) finds
damage, and a damaged or unreadable file is rebuilt at the next open.

Views. With `searched_views` set, only each frame's first views are rows here (a new index:
its first, vcdfast.index.settings.SEARCHED_VIEWS); its video keeps every view for alignment.

Near-duplicate frames. With `dedup` set, a frame whose cosine to the last kept frame of
the same view is >= dedup is not searchable (its video keeps it for alignment); the votes of
a static shot then count once instead of once per frame.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from vcdfast.store import annfile, ivf
from vcdfast.store.pooling import pool

__all__ = ["EmbeddedStore", "searchable"]

FILE = "frames.ann"
TRAIN_ROWS = 4_096  # exact search below this many rows; an exact scan of 7.5k took 80-250 ms (loaded)
REBUILD_GROWTH = 4  # rebuilt (more lists) when the rows reach 4x those trained on
_ADD_CHUNK = 65_536  # rows per faiss add when rebuilding from LevelDB
# OpenMP threads of faiss (its wheel's own OpenMP runtime, set process-wide when a store
# opens; None leaves faiss's default, all cores). One, as the kernels default to: on 2 cores
# shared with other work, 2 threads trained an IVF index 5x slower (13.9 s vs 2.6 s, 41k rows)
# and searched 1.5-3x slower than one, OpenMP's waiting threads competing for the cores.
THREADS: int | None = 1


def searchable(vectors: np.ndarray, dedup: float | None, searched_views: int | None = None) -> np.ndarray:
    """The rows of a (T, V, D) matrix that are searched, (N, D): every frame's first
    `searched_views` views (None: all), and with `dedup` only each view's frames whose cosine
    to the view's last kept frame is below dedup."""
    vectors = vectors[:, :searched_views]
    t, v, d = vectors.shape
    if dedup is None or t < 2:
        return vectors.reshape(t * v, d)
    keep = np.zeros((t, v), bool)
    for j in range(v):
        last = vectors[0, j]
        keep[0, j] = True
        for i in range(1, t):
            if float(vectors[i, j] @ last) < dedup:
                keep[i, j], last = True, vectors[i, j]
    return vectors[keep]


class EmbeddedStore:
    """See the module docstring. Methods hold one lock: faiss indexes are not safe to search
    while another thread adds to them (so searches also wait for a rebuild to finish)."""

    derived = True  # rebuilt from LevelDB: videos are committed before their rows exist here
    name = "the embedded first stage"

    def __init__(self, folder, dim: int, dedup: float | None, *, searched_views: int | None = None, read_only: bool):
        import faiss

        self.faiss = faiss
        if THREADS is not None:
            faiss.omp_set_num_threads(THREADS)
        self.path = Path(folder) / FILE
        self.dim, self.dedup, self.searched_views, self.read_only = int(dim), dedup, searched_views, read_only
        self.lock = threading.RLock()
        self.covered: dict[int, tuple[str, int]] = {}  # key -> (rev, searchable rows)
        self.trained_rows = 0  # 0: exact search
        self.factory = ""  # what the trained index is (vcdfast.store.ivf.train)
        self.frames = self._exact()
        self.videos = self._exact()
        self.load_problem: str | None = None  # why the file on disk could not be used at open
        self.dirty = False
        self.saved_rows = 0  # rows in the file when last saved or loaded
        self.unsaved = 0  # rows added or removed since
        self._catalog = None
        if self.path.exists():
            try:
                self._load()
            except (OSError, ValueError, RuntimeError) as e:
                self.load_problem = f"{self.path} unusable, rebuilt from LevelDB: {e}"
                self.covered, self.trained_rows = {}, 0
                self.frames, self.videos = self._exact(), self._exact()

    def _exact(self):
        return self.faiss.IndexIDMap(self.faiss.IndexFlatIP(self.dim))

    # --- writes ---

    def insert(self, items) -> int:
        """Add videos given as (key, rev, vectors (T, V, D)); returns the rows added."""
        with self.lock:
            before = self._rows()
            self._add(list(items))  # one faiss call for the whole batch
            added = self._rows() - before
            if self._catalog is not None and self._needs_rebuild():
                self.rebuild(self._catalog)
            # a file at most half behind: a crash costs a catch-up no longer than the last save
            if not self.read_only and self.unsaved >= max(self.saved_rows, 1):
                self.save()
            return added

    def delete(self, keys) -> None:
        with self.lock:
            keys = [int(k) for k in keys if int(k) in self.covered]
            if not keys:
                return
            sel = self.faiss.IDSelectorBatch(np.array(keys, np.int64))
            self.frames.remove_ids(sel)
            self.videos.remove_ids(sel)
            self._changed(sum(self.covered.pop(k)[1] for k in keys))

    def _rows_of(self, meta) -> int:
        """A catalogued video's rows here before dedup."""
        return meta.frames * min(meta.views, self.searched_views or meta.views)

    def _changed(self, rows: int) -> None:
        self.unsaved += rows
        self.dirty = self.dirty or rows > 0

    def flush(self) -> None:
        """Nothing to flush: rows are in memory, and LevelDB holds every vector."""

    def _rows(self) -> int:
        return sum(n for _, n in self.covered.values())

    def _needs_rebuild(self, rows: int | None = None) -> bool:
        rows = self._rows() if rows is None else rows
        if self.trained_rows == 0:
            return rows >= TRAIN_ROWS
        return rows >= REBUILD_GROWTH * self.trained_rows

    def rebuild(self, catalog) -> None:
        """A new index from LevelDB: trained on a sample of the committed videos' rows (when
        there are TRAIN_ROWS or more), then every video added."""
        with self.lock:
            videos = [(m.key, m.rev) for m in catalog.videos()]
            rows = sum(self._rows_of(m) for m in catalog.videos())  # before dedup: an upper bound
            frames = self._exact()
            trained = False
            if rows >= TRAIN_ROWS:
                sample = self._sample(catalog, videos, 40 * ivf.lists(rows))
                frames, self.factory = ivf.train(self.faiss, sample, rows, self.dim)
                del sample
                trained = True
            self.frames, self.videos, self.covered = frames, self._exact(), {}
            pending: list[tuple[int, str, np.ndarray]] = []
            n = 0
            for key, rev in videos:
                vectors, _ = catalog.matrix(key)
                pending.append((key, rev, vectors))
                n += len(vectors)
                if n >= _ADD_CHUNK:
                    self._add(pending)
                    pending, n = [], 0
            self._add(pending)
            self.trained_rows = max(1, self._rows()) if trained else 0

    def _add(self, items) -> None:
        if not items:
            return
        rows = [searchable(v, self.dedup, self.searched_views) for _, _, v in items]
        ids = np.concatenate([np.full(len(r), k, np.int64) for (k, _, _), r in zip(items, rows)])
        self.frames.add_with_ids(np.ascontiguousarray(np.concatenate(rows), np.float32), ids)
        self.videos.add_with_ids(np.stack([pool(v) for _, _, v in items]), np.array([k for k, _, _ in items], np.int64))
        for (k, rev, _), r in zip(items, rows):
            self.covered[int(k)] = (rev, len(r))
        self._changed(sum(len(r) for r in rows))

    def _sample(self, catalog, videos, want: int) -> np.ndarray:
        """About `want` training rows from randomly chosen videos (seeded: rebuilds repeat)."""
        rng = np.random.default_rng(0)
        out, n = [], 0
        for i in rng.permutation(len(videos)):
            rows = searchable(catalog.matrix(videos[i][0])[0], self.dedup, self.searched_views)
            out.append(rows)
            n += len(rows)
            if n >= want:
                break
        return np.ascontiguousarray(np.concatenate(out), np.float32)

    def sync(self, catalog) -> None:
        """Catch up with LevelDB's committed videos (module docstring) and, writable, save if
        anything changed. Later inserts rebuild the index from `catalog` as it grows."""
        with self.lock:
            self._catalog = catalog
            committed = {m.key: m for m in catalog.videos()}
            stale = [k for k, (rev, _) in self.covered.items() if k not in committed or committed[k].rev != rev]
            self.delete(stale)
            missing = [(k, m.rev) for k, m in committed.items() if k not in self.covered]
            if self._needs_rebuild(self._rows() + sum(self._rows_of(committed[k]) for k, _ in missing)):
                self.rebuild(catalog)
            else:
                for i in range(0, len(missing), 256):
                    self._add([(k, rev, catalog.matrix(k)[0]) for k, rev in missing[i:i + 256]])
            if not self.read_only and (self.dirty or self.load_problem or not self.path.exists()):
                self.save()

    # --- persistence ---

    def save(self) -> None:
        """Write the file atomically (vcdfast.store.annfile)."""
        with self.lock:
            header = {"dim": self.dim, "dedup": self.dedup, "searched_views": self.searched_views,
                      "trained_rows": self.trained_rows, "factory": self.factory,
                      "covered": [[k, rev, n] for k, (rev, n) in self.covered.items()]}
            annfile.save(self.path, header, [self.frames, self.videos], self.faiss)
            self.dirty, self.load_problem = False, None
            self.saved_rows, self.unsaved = self._rows(), 0

    def _load(self) -> None:
        header, (frames, videos) = annfile.load(self.path, self.faiss)
        built = header["dim"], header["dedup"], header.get("searched_views")
        if built != (self.dim, self.dedup, self.searched_views):
            raise ValueError("built for dim {}, dedup {}, searched views {}".format(*built))
        self.frames, self.videos = frames, videos
        self.trained_rows, self.factory = int(header["trained_rows"]), header["factory"]
        self.covered = {int(k): (rev, int(n)) for k, rev, n in header["covered"]}
        self.saved_rows = self._rows()
        if self.trained_rows:
            self.faiss.extract_index_ivf(self.frames).nprobe = ivf.NPROBE

    def close(self) -> None:
        """Save if changed and writable. Until then a crash loses only the catch-up."""
        with self.lock:
            if self.dirty and not self.read_only:
                self.save()
            self._catalog = None

    # --- reads ---

    def search_frames(self, queries: np.ndarray, frame_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) -> per row the video keys and scores of its `frame_neighbours` nearest
        rows, (N, frame_neighbours) each, padded with key -1 / score -inf."""
        return self._search(self.frames, queries, frame_neighbours)

    def search_videos(self, queries: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) pooled query vectors -> (N, count) video keys and scores (exact)."""
        return self._search(self.videos, queries, count)

    def _search(self, index, queries, neighbours: int):
        with self.lock:
            scores, keys = index.search(np.ascontiguousarray(queries, np.float32), neighbours)
        scores[keys < 0] = -np.inf
        return keys, scores

    def searchable_rows(self, vectors: np.ndarray) -> int:
        return len(searchable(vectors, self.dedup, self.searched_views))

    def row_counts(self) -> dict[int, int]:
        """Rows per video key, counted in the index itself (not from `covered`)."""
        with self.lock:
            ids = self._ids(self.frames)
        keys, counts = np.unique(ids, return_counts=True)
        return dict(zip(keys.tolist(), counts.tolist()))

    def video_keys(self) -> set[int]:
        with self.lock:
            return set(self._ids(self.videos).tolist())

    def _ids(self, index) -> np.ndarray:
        faiss = self.faiss
        if isinstance(index, faiss.IndexIDMap):
            return faiss.vector_to_array(index.id_map)
        lists = faiss.extract_index_ivf(index).invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(lists.nlist) if lists.list_size(i)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def check(self, revs: dict[int, str]) -> list[str]:
        """The file on disk is whole, and the index holds exactly the committed revisions."""
        problems = []
        if self.load_problem:
            problems.append(self.load_problem)
        elif self.path.exists():
            try:
                annfile.check(self.path)
            except (OSError, ValueError) as e:
                problems.append(f"{self.path}: {e}")
        with self.lock:
            for key, rev in revs.items():
                have = self.covered.get(key)
                if have is None or have[0] != rev:
                    problems.append(f"video key {key}: the embedded first stage holds revision "
                                    f"{have[0] if have else None}, LevelDB {rev}")
        return problems

    def describe(self) -> str:
        kind = f"{self.factory}, nprobe {ivf.NPROBE}" if self.trained_rows else "exact"
        return f"embedded faiss ({kind}), {self.path.name}"
