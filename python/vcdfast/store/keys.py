"""Video keys: the 63-bit integers that stand for video ids in the vector store.

Milvus filters and deletes use only these integers, so a user's id (any Unicode, any
length, quotes included) never enters a filter expression. A key is a BLAKE2b hash of the
id; the rare id whose key is already taken by another id gets the next salted hash, and the
matrix store records which key each id got, so two videos are never merged.
"""

from __future__ import annotations

import hashlib

__all__ = ["video_key"]

_MASK = (1 << 63) - 1  # Milvus INT64 is signed; keep keys positive


def video_key(video_id: str, salt: int = 0) -> int:
    """The key for `video_id` at collision-resolution step `salt` (0 first, then 1, 2, …)."""
    if not isinstance(video_id, str):
        raise TypeError(f"video ids are str, got {type(video_id).__name__}")
    data = video_id.encode("utf-8", "surrogatepass")
    if salt:
        data += b"\x00" + str(salt).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") & _MASK
