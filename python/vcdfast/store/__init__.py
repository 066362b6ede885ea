"""Storage of an index: LevelDB matrices and records (`MatrixStore`, the durable copy of
every descriptor), the first-stage search (`EmbeddedStore`, derived from LevelDB, or
`MilvusStore`), and the integer video keys that link them (`video_key`).

faiss, pymilvus and plyvel are imported when a store is opened, not when this package is."""

from vcdfast.store.embedded import EmbeddedStore
from vcdfast.store.keys import video_key
from vcdfast.store.matrix_store import MatrixStore, decode_matrix, encode_matrix
from vcdfast.store.milvus_store import IndexType, MilvusStore
from vcdfast.store.pooling import pool

__all__ = ["EmbeddedStore", "IndexType", "MatrixStore", "MilvusStore", "decode_matrix", "encode_matrix",
           "open_first_stage", "pool", "video_key"]


def open_first_stage(folder, settings, uri: str | None, *, read_only: bool):
    """The first stage an index's settings name: embedded, or Milvus at `uri` (a server URL
    given at this open overrides the recorded one)."""
    if settings.embedded:
        return EmbeddedStore(folder, settings.dim, settings.dedup, searched_views=settings.searched_views,
                             read_only=read_only)
    return MilvusStore(uri or settings.uri, settings.collections, settings.dim,
                       index_type=IndexType(settings.index_type), create=not read_only,
                       searched_views=settings.searched_views)
