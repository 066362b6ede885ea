"""`Index`: one folder, one handle. It opens the stores and delegates: settings
(vcdfast.index.settings), the HOLDER record (lock), records (catalog), adds (ingest),
the query stages (search), verify/stats/remove (maintenance)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from vcdfast.errors import IndexLockedError, VideoNotFoundError
from vcdfast.index import ingest, maintenance, search
from vcdfast.index.catalog import Catalog, VideoMeta
from vcdfast.index.lock import lock_folder, locked_error, release_holder, write_holder
from vcdfast.index.settings import check_embedding, open_settings
from vcdfast.query import Match, QueryOptions
from vcdfast.store import IndexType, MatrixStore, open_first_stage

__all__ = ["Index"]


class Index:
    """An index folder: `matrices/` (LevelDB: settings, records, descriptor matrices) and the
    first stage (`frames.ann`, or Milvus at a URI). Use `Index.open(...)`; close() it or use it
    as a context manager. One process opens an index at a time (LevelDB's lock); threads of
    that process may share the handle, one writing while others read."""

    def __init__(self, path: Path, matrices: MatrixStore, settings, spec, sampling, views, read_only: bool):
        self.path, self.settings, self.spec, self.sampling, self.views = path, settings, spec, sampling, views
        self.read_only = read_only
        self.catalog = Catalog(matrices)
        self.first_stage = None
        self.repaired: list[str] = []
        self._embedder = None
        self._query_embedders: dict = {}  # query views -> Embedder
        self._background = None  # (spec, generation, Background): see background()
        self._generation = 0  # bumped by every add and remove
        self._holder_written = False

    @classmethod
    def open(cls, path, *, model=None, sampling=None, views=None, uri: str | None = None, read_only: bool = False,
             create: bool = True, index_type: IndexType | str = IndexType.HNSW, dedup: float | None = None) -> Index:
        """Open the index in folder `path`, creating it when `create` and it does not exist.
        model/sampling/views: None takes the recorded ones (new index: "sscd", 1 fps, ("full",)).
        uri (new index): None searches in-process; "http://host:19530" a Milvus server, a
        "*.db" path a milvus-lite file. dedup (new index): consecutive frames at cosine >= dedup
        share one searchable vector (embedded search only; None: every frame searchable)."""
        path = Path(path)
        matrices = lock_folder(path, create=create, read_only=read_only)
        ix = None
        try:
            recorded = matrices.settings()
            if recorded is None and read_only:
                raise FileNotFoundError(f"no vcdfast index at {str(path)!r}")
            settings, spec, views_, sampling_ = open_settings(path, recorded, model=model, sampling=sampling,
                                                              views=views, uri=uri, index_type=index_type, dedup=dedup)
            ix = cls(path, matrices, settings, spec, sampling_, views_, read_only)
            ix.first_stage = open_first_stage(path, settings, uri, read_only=read_only)
            if recorded is None:
                matrices.put_settings(settings.to_dict())
            ix._holder_written = write_holder(path, read_only)
            if not read_only:
                ix.repaired = ix.catalog.repair(ix.first_stage.delete)
                ix.first_stage.flush()
            ix.first_stage.sync(ix.catalog)
        except BaseException as e:
            ix.close() if ix is not None else matrices.close()
            if isinstance(e, IndexLockedError):  # milvus-lite's lock
                raise locked_error(path) from e
            raise
        return ix

    def close(self) -> None:
        if self._holder_written:  # before the locks go: a next holder's file must not be removed
            self._holder_written = False
            release_holder(self.path)
        if self.first_stage is not None:
            self.first_stage.close()
        self.catalog.matrices.close()

    def __enter__(self) -> Index:
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
        """Embedder.embed_video(path, the index's sampling, **kw), with the index's views."""
        return self.embedder.embed_video(path, self.sampling, **kw)

    def embed_query(self, path, views: Sequence[str] | None = None, **kw):
        """A query video embedded with query-side views (default QueryOptions().views); **kw
        as for Embedder.embed_video."""
        from vcdfast.embed import Embedder
        from vcdfast.views import expand_views

        views = expand_views(views if views is not None else QueryOptions().views)
        if views not in self._query_embedders:
            self._query_embedders[views] = Embedder(self.spec, views=views)
        return self._query_embedders[views].embed_video(path, self.sampling, **kw)

    def _as_embedding(self, path_or_embedding, query_id: str | None, query_views: Sequence[str] | None = None):
        """(embedding, id) of a path (embedded with the index's views, or with `query_views`)
        or of an embedding as given (a query's is queried with the views it has)."""
        if isinstance(path_or_embedding, (str, os.PathLike)):
            emb = self.embed(path_or_embedding) if query_views is None else self.embed_query(path_or_embedding,
                                                                                             query_views)
            qid = Path(path_or_embedding).stem
        else:
            emb, qid = path_or_embedding, "query"
        qid = query_id if query_id is not None else qid
        check_embedding(self.settings, emb, f"query {qid!r}", query=query_views is not None)
        return emb, qid

    def background(self, spec):
        """Background descriptors for score normalisation (vcdfast.normalise), drawn from the
        committed videos in key order (keys are hashes: a fixed, content-blind sample),
        limit // per_video videos spread over the catalogue; cached until the next add/remove."""
        from vcdfast.normalise import Background

        cached = self._background
        if cached is None or cached[0] != spec or cached[1] != self._generation:
            generation = self._generation
            keys = sorted(m.key for m in self.catalog.videos())
            want = max(1, spec.limit // spec.frames_per_video(len(keys)))
            chosen = keys[::max(1, len(keys) // want)][:want]
            bg = Background.sample([self.catalog.matrix(k)[0] for k in chosen], spec, videos=len(keys))
            self._background = cached = (spec, generation, bg)
        return cached[2]

    # --- writing ---

    def add(self, path_or_paths, *, ids: Sequence[str] | None = None, id_from: ingest.IdFrom = ingest.IdFrom.STEM,
            on_conflict: ingest.OnConflict | str = ingest.OnConflict.ERROR, on_error: str = "raise",
            strict: bool = False, batch_rows: int = 32768, progress: bool | None = None,
            on_progress: Callable[[str], None] | None = None,
            on_media: Callable[[str, float], None] | None = None) -> ingest.AddReport:
        """Embed and index video files, one id each (`ids`, else from the file name per
        `id_from`). Same id and content: skipped; other content: a conflict, per `on_conflict`
        ("error": the file fails and the indexed video stays; "replace"; "skip": the indexed
        video stays, listed in `.kept`).

        A file that fails (decode error, no frames, unreadable, conflict) does not stop the
        batch: the others are indexed. Then, with on_error="raise" (default), AddError lists the
        failures (its `.report` is the AddReport); with on_error="report" they are only in the
        returned report's `.failed`. A damaged file (truncated, or undecodable from some point
        on) is indexed for its decodable part with a PartialDecodeWarning and listed in
        `.partial`; strict=True makes it a failure instead. Rows reach the stores in batches of
        about `batch_rows`. on_progress(path) is called after each file, on_media(path, seconds
        of media embedded so far) during each one."""
        from vcdfast.errors import AddError

        if on_error not in ("raise", "report"):
            raise ValueError(f"on_error must be 'raise' or 'report', got {on_error!r}")
        self._writable()
        try:
            report = ingest.add_files(self, path_or_paths, ids, id_from=id_from,
                                      on_conflict=ingest.OnConflict(on_conflict), strict=strict,
                                      batch_rows=batch_rows, progress=progress, on_progress=on_progress,
                                      on_media=on_media)
        finally:
            self._generation += 1
        if report.failed and on_error == "raise":
            raise AddError(report)
        return report

    def add_embedding(self, video_id: str, emb, *, source: str | None = None, content_hash: str | None = None,
                      on_conflict: ingest.OnConflict | str = ingest.OnConflict.ERROR) -> ingest.AddReport:
        """Index a VideoEmbedding (e.g. computed elsewhere) under `video_id`."""
        return self.add_embeddings([(video_id, emb, {"source": source, "content_hash": content_hash})],
                                   on_conflict=on_conflict)

    def add_embeddings(self, items: Iterable[tuple[str, object, dict]], *,
                       on_conflict: ingest.OnConflict | str = ingest.OnConflict.ERROR) -> ingest.AddReport:
        """Index many (video_id, VideoEmbedding, {"source", "content_hash"}) in one batch."""
        self._writable()
        try:
            return ingest.add_embeddings(self, items, on_conflict=ingest.OnConflict(on_conflict))
        finally:
            self._generation += 1

    def remove(self, video_ids: str | Iterable[str]) -> None:
        self._writable()
        try:
            maintenance.remove(self, video_ids)
        finally:
            self._generation += 1

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the index at {str(self.path)!r} is open read-only")

    # --- reading ---

    def record(self, video_id: str) -> VideoMeta:
        meta = self.catalog.find(video_id)
        if meta is None:
            raise VideoNotFoundError(f"no video {video_id!r} in the index at {str(self.path)!r}")
        return meta

    def get(self, video_id: str):
        """The stored VideoEmbedding of `video_id` (the added vectors, rounded to float16 by the store)."""
        from vcdfast.embed import VideoEmbedding

        meta = self.record(video_id)
        vectors, timestamps = self.catalog.matrix(meta.key)
        return VideoEmbedding.from_arrays(vectors, timestamps, model=self.spec, sampling=self.sampling,
                                          views=self.views, duration=meta.duration)

    def videos(self) -> list[VideoMeta]:
        """Every indexed video, by id."""
        return sorted(self.catalog.videos(), key=lambda m: m.id)

    def __len__(self) -> int:
        return sum(1 for _ in self.catalog.videos())

    def __contains__(self, video_id: str) -> bool:
        return self.catalog.find(video_id) is not None

    def stats(self) -> dict:
        return maintenance.stats(self)

    def verify(self) -> maintenance.VerifyReport:
        return maintenance.verify(self)

    def candidates(self, query_vectors, options: QueryOptions | None = None) -> list[VideoMeta]:
        """The candidate videos of (T, V, D) query descriptors under `options` (first stage,
        normalisation, votes): what `query` aligns."""
        import numpy as np

        options = options or QueryOptions()
        background = self.background(options.background) if options.background is not None else None
        q = np.ascontiguousarray(query_vectors, np.float32)
        return search.candidates(self.first_stage, self.catalog, q, options, background)[0]

    def query(self, path_or_embedding, *, query_id: str | None = None, options: QueryOptions | None = None,
              num_threads: int | None = None, **changes) -> list[Match]:
        """Copied segments of a video in the indexed videos, best score first (the stages of
        vcdfast.index.search) under `options` (default QueryOptions()) with `changes` (its
        field names) applied. A path is embedded with options.views; a VideoEmbedding is
        queried with the views it has."""
        import dataclasses

        options = dataclasses.replace(options or QueryOptions(), **changes)
        emb, qid = self._as_embedding(path_or_embedding, query_id, options.views)
        background = self.background(options.background) if options.background is not None else None
        return search.query(self.first_stage, self.catalog, emb, qid, options, background, num_threads)

    def query_videos(self, path_or_embedding, *, query_id: str | None = None,
                     top_n: int = 5) -> list[search.VideoMatch]:
        """Video-level near duplicates: the `top_n` videos whose pooled descriptor is nearest."""
        emb, qid = self._as_embedding(path_or_embedding, query_id)
        return search.query_videos(self.first_stage, self.catalog, emb, qid, top_n)
