"""The index's embedders: its model with its views for what is added (and video-level
queries), or with query-side views for segment queries (vcdfast.query.QueryOptions); one
per set of views, made on first use and kept."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vcdfast.index.settings import Settings, check_embedding
from vcdfast.query import QueryOptions

__all__ = ["Embedders"]


class Embedders:
    def __init__(self, settings: Settings, spec, sampling, views: tuple[str, ...]):
        self.settings, self.spec, self.sampling, self.views = settings, spec, sampling, views
        self._by_views: dict[tuple[str, ...], object] = {}  # expanded views -> Embedder

    def get(self, views: Sequence[str]):
        """The Embedder of the index's model with `views`."""
        from vcdfast.embed import Embedder
        from vcdfast.views import expand_views

        views = expand_views(views)
        if views not in self._by_views:
            self._by_views[views] = Embedder(self.spec, views=views)
        return self._by_views[views]

    def embed(self, path, views: Sequence[str] | None = None, **kw):
        """Embedder.embed_video(path, the index's sampling, **kw) with `views` (None: the index's)."""
        return self.get(self.views if views is None else views).embed_video(path, self.sampling, **kw)

    def query_views(self, views: Sequence[str] | None = None) -> tuple[str, ...]:
        """Query-side `views` (None: QueryOptions().views) with a bare "blend" as the index's own
        first blend ("blend:K:W"; the default blend where it has none): the query's blend meets
        the index's descriptor most closely only with the same centre and weight (BENCHMARKS.md,
        session 31)."""
        from vcdfast.views import blend_parts

        views = tuple(QueryOptions().views if views is None else views)
        own = [v for v in self.views if blend_parts(v)]
        return tuple(own[0] if v == "blend" and own else v for v in views)

    def embed_query(self, path, views: Sequence[str] | None = None, **kw):
        """A query video embedded with query-side `views` (as query_views reads them)."""
        return self.embed(path, self.query_views(views), **kw)

    def probe(self, emb):
        """The query's descriptors between its samples (Embedder.embed_at on the file it was
        decoded from, with its views and step) for vcdfast.refine; None when that file is not
        there (an embedding made elsewhere, or from arrays)."""
        path = emb.info.path
        if not path or not os.path.isfile(path):
            return None
        embedder, step, cache = self.get(emb.views), emb.step(), {}
        return lambda times, views: embedder.embed_at(path, times, step, views, cache=cache)

    def crops(self, emb):
        """The query's frames cut to boxes (Embedder.embed_crops on the file it was decoded
        from, at its step) for its carried insets (vcdfast.carry); None when that file is not
        there."""
        path = emb.info.path
        if not path or not os.path.isfile(path):
            return None
        embedder, step = self.get(emb.views), emb.step()
        return lambda times, boxes: embedder.embed_crops(path, times, boxes, step)

    def query_input(self, path_or_embedding, query_id: str | None, query_views: Sequence[str] | None = None):
        """(embedding, id) of a path (embedded with the index's views, or with `query_views`)
        or of an embedding as given (a query's is queried with the views it has)."""
        if isinstance(path_or_embedding, (str, os.PathLike)):
            emb = self.embed(path_or_embedding, None if query_views is None else self.query_views(query_views))
            qid = Path(path_or_embedding).stem
        else:
            emb, qid = path_or_embedding, "query"
        qid = query_id if query_id is not None else qid
        check_embedding(self.settings, emb, f"query {qid!r}", query=query_views is not None)
        return emb, qid
