"""Storage of an index: Milvus vectors (`MilvusStore`), LevelDB matrices and metadata
(`MatrixStore`), and the integer video keys that link them (`video_key`).

pymilvus and plyvel are imported when a store is opened, not when this package is."""

from vcdfast.store.keys import video_key
from vcdfast.store.matrix_store import MatrixStore, decode_matrix, encode_matrix
from vcdfast.store.milvus_store import IndexType, MilvusStore, pool

__all__ = ["IndexType", "MatrixStore", "MilvusStore", "decode_matrix", "encode_matrix", "pool", "video_key"]
