"""The checksummed file of the embedded first stage (vcdfast.store.embedded): a JSON header
and faiss indexes, written atomically and streamed both ways, so a multi-GiB index (100k
videos: ~5 GB) is never held twice in memory.

Layout (integers little-endian u64):

    b"VCDANN02" | header length | header (JSON) | index 1 | ... | index n
    | n lengths of the indexes | n | SHA-256 of everything before it

The lengths follow the indexes because faiss writes an index in pieces of unknown total
size. A kill leaves either the old file or the new one whole (temporary file, fsync,
rename, fsync of the folder); damage is found by the checksum (`check`), and a file that
fails it is not loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

__all__ = ["MAGIC", "check", "load", "save"]

MAGIC = b"VCDANN02"
_U64 = struct.Struct("<Q")
_CHUNK = 16 << 20  # bytes read at a time when checking the checksum


def save(path: Path, header: dict, indexes, faiss) -> None:
    """Write `header` and `indexes` to `path` atomically."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    with open(tmp, "wb") as f:

        def put(b) -> None:
            digest.update(b)
            f.write(b)

        blob = json.dumps(header).encode()
        put(MAGIC)
        put(_U64.pack(len(blob)))
        put(blob)
        lengths = []
        for index in indexes:
            start = f.tell()
            faiss.write_index(index, faiss.PyCallbackIOWriter(put))
            lengths.append(f.tell() - start)
        for n in lengths + [len(lengths)]:
            put(_U64.pack(n))
        f.write(digest.digest())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _layout(f, size: int) -> tuple[dict, list[tuple[int, int]]]:
    """(header, [(offset, length)] of the indexes) of an open file; ValueError when its
    fields do not fit together."""
    if size < len(MAGIC) + 2 * _U64.size + 32 or f.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a vcdfast frame index file (or an older format)")
    (hlen,) = _U64.unpack(f.read(_U64.size))
    if hlen > size:
        raise ValueError("header length does not match the file size")
    header = json.loads(f.read(hlen))
    f.seek(size - 32 - _U64.size)
    (n,) = _U64.unpack(f.read(_U64.size))
    if n > 64:
        raise ValueError("index count out of range")
    f.seek(size - 32 - (n + 1) * _U64.size)
    lengths = [_U64.unpack(f.read(_U64.size))[0] for _ in range(n)]
    pos, spans = len(MAGIC) + _U64.size + hlen, []
    for length in lengths:
        spans.append((pos, length))
        pos += length
    if pos + (n + 1) * _U64.size + 32 != size:
        raise ValueError("length fields do not match the file size")
    return header, spans


def check(path: Path) -> dict:
    """The header of a whole, undamaged file; ValueError (or OSError) otherwise."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(MAGIC) + 32 or f.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a vcdfast frame index file (or an older format)")
        f.seek(0)
        digest, left = hashlib.sha256(), size - 32
        while left:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                raise ValueError("file shorter than its size")
            digest.update(chunk)
            left -= len(chunk)
        if digest.digest() != f.read(32):
            raise ValueError("checksum mismatch (damaged file)")
        f.seek(0)
        return _layout(f, size)[0]


def load(path: Path, faiss) -> tuple[dict, list]:
    """(header, indexes) of a file that passes `check`, each index read straight from the file."""
    check(path)
    with open(path, "rb") as f:
        header, spans = _layout(f, os.fstat(f.fileno()).st_size)
        indexes = []
        for pos, _ in spans:
            f.seek(pos)
            indexes.append(faiss.read_index(faiss.PyCallbackIOReader(f.read)))
        return header, indexes
