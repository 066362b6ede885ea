"""`Index`: one folder, one handle. It delegates: opening and closing the folder's stores
(vcdfast.index.folder), embedding (embedders), adds (ingest), the query stages (search), the
normalisation's background (background), verify/stats/remove (maintenance)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from vcdfast.errors import VideoNotFoundError
from vcdfast.index import ingest, maintenance, search
from vcdfast.index.background import BackgroundCache
from vcdfast.index.catalog import VideoMeta
from vcdfast.index.embedders import Embedders
from vcdfast.index.folder import IndexFolder
from vcdfast.query import Match, QueryOptions
from vcdfast.store import IndexType

__all__ = ["Index"]


class Index:
    """An index folder: `matrices/` (LevelDB: settings, records, descriptor matrices) and the
    first stage (`frames.ann`, or Milvus at a URI). Use `Index.open(...)`; close() it or use it
    as a context manager. One process opens an index at a time (LevelDB's lock); threads of
    that process may share the handle, one writing while others read."""

    def __init__(self, folder: IndexFolder):
        self._folder = folder
        self.path, self.read_only, self.settings = folder.path, folder.read_only, folder.settings
        self.spec, self.sampling, self.views = folder.spec, folder.sampling, folder.views
        self.catalog, self.first_stage, self.repaired = folder.catalog, folder.first_stage, folder.repaired
        self._embedders = Embedders(self.settings, self.spec, self.sampling, self.views)
        self._background = BackgroundCache(self.catalog)

    @classmethod
    def open(cls, path, *, model=None, sampling=None, views=None, uri: str | None = None, read_only: bool = False,
             create: bool = True, index_type: IndexType | str = IndexType.HNSW, dedup: float | None = None) -> Index:
        """Open the index in folder `path`, creating it when `create` and it does not exist.
        model/sampling/views: None takes the recorded ones (new index: vcdfast.models.DEFAULT_MODEL,
        1 fps, vcdfast.index.settings.DEFAULT_INDEX_VIEWS). uri (new index): None searches
        in-process; "http://host:19530" a Milvus server, a "*.db" path a milvus-lite file.
        dedup (new index): consecutive frames at cosine >= dedup share one searchable vector
        (embedded search only; None: every frame searchable)."""
        return cls(IndexFolder.open(Path(path), model=model, sampling=sampling, views=views, uri=uri,
                                    read_only=read_only, create=create, index_type=index_type, dedup=dedup))

    def close(self) -> None:
        self._folder.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def embedder(self):
        """The Embedder of the index's model and views."""
        return self._embedders.get(self.views)

    def embed(self, path, **kw):
        """Embedder.embed_video(path, the index's sampling, **kw), with the index's views."""
        return self._embedders.embed(path, **kw)

    def query_views(self, views: Sequence[str] | None = None) -> tuple[str, ...]:
        """The views a query is embedded with: `views` (default QueryOptions().views) with a
        bare "blend" as the index's own first blend."""
        return self._embedders.query_views(views)

    def embed_query(self, path, views: Sequence[str] | None = None, **kw):
        """A query video embedded with query-side views (query_views); **kw as for
        Embedder.embed_video."""
        return self._embedders.embed_query(path, views, **kw)

    def background(self, spec):
        """The background descriptors of score normalisation under `spec` (None: None)."""
        return self._background.get(spec)

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
        self._folder.require_writable()
        return ingest.add_files(self, path_or_paths, ids, id_from=id_from, on_conflict=on_conflict, on_error=on_error,
                                strict=strict, batch_rows=batch_rows, progress=progress, on_progress=on_progress,
                                on_media=on_media)

    def add_embedding(self, video_id: str, emb, *, source: str | None = None, content_hash: str | None = None,
                      on_conflict: ingest.OnConflict | str = ingest.OnConflict.ERROR) -> ingest.AddReport:
        """Index a VideoEmbedding (e.g. computed elsewhere) under `video_id`."""
        return self.add_embeddings([(video_id, emb, {"source": source, "content_hash": content_hash})],
                                   on_conflict=on_conflict)

    def add_embeddings(self, items: Iterable[tuple[str, object, dict]], *,
                       on_conflict: ingest.OnConflict | str = ingest.OnConflict.ERROR) -> ingest.AddReport:
        """Index many (video_id, VideoEmbedding, {"source", "content_hash"}) in one batch."""
        self._folder.require_writable()
        return ingest.add_embeddings(self, items, on_conflict=on_conflict)

    def remove(self, video_ids: str | Iterable[str]) -> None:
        self._folder.require_writable()
        maintenance.remove(self, video_ids)

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

    def candidates(self, emb, options: QueryOptions | None = None) -> list[VideoMeta]:
        """The candidate videos of a query VideoEmbedding under `options` (first stage, carried
        insets, normalisation, votes): what `query` aligns."""
        options = options or QueryOptions()
        return search.candidates(self.first_stage, self.catalog, emb, options, self.background(options.background),
                                 self._embedders.crops(emb))[0]

    def query(self, path_or_embedding, *, query_id: str | None = None, options: QueryOptions | None = None,
              num_threads: int | None = None, **changes) -> list[Match]:
        """Copied segments of a video in the indexed videos, best score first (the stages of
        vcdfast.index.search) under `options` (default QueryOptions()) with `changes` (its
        field names) applied. A path is embedded with query_views(options.views); a
        VideoEmbedding is queried with the views it has. The reported ends are refined between
        samples (options.refine_steps) on frames decoded again from the query's file, when the
        embedding's info.path names one; so are the carried insets' crops cut
        (options.carry_min_sim)."""
        options = dataclasses.replace(options or QueryOptions(), **changes)
        emb, qid = self._embedders.query_input(path_or_embedding, query_id, options.views)
        probe = self._embedders.probe(emb) if options.refine_steps else None
        return search.query(self.first_stage, self.catalog, emb, qid, options, self.background(options.background),
                            num_threads, probe, self._embedders.crops(emb))

    def query_videos(self, path_or_embedding, *, query_id: str | None = None,
                     top_n: int = 5) -> list[search.VideoMatch]:
        """Video-level near duplicates: the `top_n` videos whose pooled descriptor is nearest."""
        emb, qid = self._embedders.query_input(path_or_embedding, query_id)
        return search.query_videos(self.first_stage, self.catalog, emb, qid, top_n)
