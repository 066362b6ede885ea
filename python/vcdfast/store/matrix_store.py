"""The matrix store: LevelDB (plyvel) holding each video's descriptors, timestamps and
metadata, plus the index's own settings.

Records (key8 = the video key as 8 big-endian bytes):

- `I` + b"index"  -> JSON: the index settings (format, model identity, views, sampling, …)
- `i` + id (UTF-8) -> key8: which key an id got (collisions are resolved by salting)
- `j` + key8      -> JSON: metadata: id, state, source, content hash, duration, T, V, D, …
- `m` + key8      -> the matrix record: a 20-byte header (b"VCDM", version, dtype code, T,
                     V, D), the (T, V, D) descriptors (dtype code 1: float32, 2: float16),
                     then the (T,) float64 timestamps, all little-endian.

Descriptors are written as float16 (`MatrixStore(dtype=...)`; a record whose values do not
fit float16's range is written as float32) and always read back as float32, the kernels'
dtype. Each record names its own dtype, so indexes written as float32 before read as they
did. float16 halves the store (a video costs T * V * D * 2 + T * 8 bytes: 100k VCSL-length
videos at 512-d are 19 GB, not 38 GB) for a cosine error of at most ~1e-3 on unit vectors
(2^-11 relative rounding per element; bench/bench_index.py measures it); the embedded first
stage is built from these matrices, Milvus keeps the float32 rows it was given.

Each state change is one atomic, synced WriteBatch. JSON goes through one module-level encoder
and decoder: `json.dumps` with options builds an encoder per call (7.1 us vs 3.7 us of CPU for
a small metadata record here) and `json.loads` of bytes sniffs their encoding first (5.9 us vs
3.8 us); a million-video catalogue pays that a million times.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator

import numpy as np

from vcdfast.errors import IndexLockedError

__all__ = ["MatrixStore"]

_HEADER = struct.Struct("<4sHHIII")
_MAGIC = b"VCDM"
_F32, _F16 = 1, 2
_DTYPES = {_F32: np.dtype("<f4"), _F16: np.dtype("<f2")}
_CODES = {"float32": _F32, "float16": _F16}
# float16 -> float32 by table: np.take over the 65,536 values took 76 us for a 187 x 512
# matrix, astype 176 us (NumPy 2.4 here converts half floats one at a time); same values
_F16_TO_F32 = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
_JSON_OUT = json.JSONEncoder(sort_keys=True, check_circular=False)  # our records hold no cycles
_JSON_IN = json.JSONDecoder()
# LevelDB's default 4 MiB memtable turns a million-video catalogue (3 records per video, at
# random keys) into constant level-0 compactions; with 64 MiB (RocksDB's default) writing a
# million videos took 21 s of CPU instead of 24 s, reading them back 4.6 s instead of 9.2 s.
_WRITE_BUFFER = 64 << 20


def _k8(key: int) -> bytes:
    return int(key).to_bytes(8, "big")


def _dump(obj: dict) -> bytes:
    return _JSON_OUT.encode(obj).encode()


def _load(raw: bytes) -> dict:
    return _JSON_IN.decode(raw.decode())


def encode_matrix(vectors: np.ndarray, timestamps: np.ndarray, dtype: str = "float16") -> bytes:
    """The record of (T, V, D) vectors and (T,) timestamps, the vectors as `dtype` ("float16"
    or "float32"); float16 falls back to float32 when a finite value would overflow it."""
    code = _CODES[dtype]
    with np.errstate(over="ignore"):  # overflow to inf is detected below
        v = np.ascontiguousarray(vectors, _DTYPES[code])
    if code == _F16 and not np.isfinite(v).all() and np.isfinite(vectors).all():
        code, v = _F32, np.ascontiguousarray(vectors, "<f4")
    t = np.ascontiguousarray(timestamps, "<f8")
    return _HEADER.pack(_MAGIC, 1, code, *v.shape) + v.tobytes() + t.tobytes()


def decode_matrix(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(vectors (T, V, D) float32, timestamps (T,) float64) of a record, whatever its dtype."""
    magic, version, code, t, v, d = _HEADER.unpack_from(buf)
    if magic != _MAGIC or version != 1 or code not in _DTYPES:
        raise ValueError(f"not a vcdfast matrix record (magic {magic!r}, version {version}, dtype {code})")
    dt = _DTYPES[code]
    n = t * v * d * dt.itemsize
    if len(buf) != _HEADER.size + n + t * 8:
        raise ValueError(f"matrix record of {len(buf)} bytes does not match its header ({t}, {v}, {d})")
    vectors = np.frombuffer(buf, dt, t * v * d, _HEADER.size).reshape(t, v, d)
    if code == _F16:
        vectors = np.take(_F16_TO_F32, vectors.view("<u2"))
    timestamps = np.frombuffer(buf, "<f8", t, _HEADER.size + n)
    return vectors, timestamps


class MatrixStore:
    """LevelDB records of one index (see the module docstring for the layout)."""

    def __init__(self, path, *, create: bool = True, dtype: str = "float16"):
        import plyvel

        if dtype not in _CODES:
            raise ValueError(f"dtype must be one of {sorted(_CODES)}, got {dtype!r}")
        self.path, self.dtype = str(path), dtype
        try:
            self.db = plyvel.DB(self.path, create_if_missing=create, write_buffer_size=_WRITE_BUFFER)
        except plyvel.IOError as e:
            if "lock" in str(e).lower() or "temporarily unavailable" in str(e).lower():
                raise IndexLockedError(f"the index at {self.path!r} is open in another process or handle: {e}") from e
            raise

    # --- index settings ---

    def settings(self) -> dict | None:
        raw = self.db.get(b"Iindex")
        return None if raw is None else _load(raw)

    def put_settings(self, settings: dict) -> None:
        self.db.put(b"Iindex", _dump(settings), sync=True)

    # --- per-video records ---

    def key_of(self, video_id: str) -> int | None:
        raw = self.db.get(b"i" + video_id.encode("utf-8", "surrogatepass"))
        return None if raw is None else int.from_bytes(raw, "big")

    def meta(self, key: int) -> dict | None:
        raw = self.db.get(b"j" + _k8(key))
        return None if raw is None else _load(raw)

    def matrix(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        raw = self.db.get(b"m" + _k8(key))
        if raw is None:
            raise KeyError(key)
        return decode_matrix(raw)

    def put(self, items) -> None:
        """Write videos' id mappings, metadata and matrices, given as (key, meta, vectors,
        timestamps), in one synced batch."""
        with self.db.write_batch(sync=True) as wb:
            put = wb.put
            for key, meta, vectors, timestamps in items:
                k8 = _k8(key)
                put(b"i" + meta["id"].encode("utf-8", "surrogatepass"), k8)
                put(b"j" + k8, _dump(meta))
                put(b"m" + k8, encode_matrix(vectors, timestamps, self.dtype))

    def set_state(self, keys, state: str) -> None:
        """Set the `state` field of several videos' metadata in one synced batch."""
        with self.db.write_batch(sync=True) as wb:
            for key in keys:
                meta = self.meta(key)
                if meta is not None:
                    meta["state"] = state
                    wb.put(b"j" + _k8(key), _dump(meta))

    def delete(self, keys) -> None:
        """Delete several videos' records in one synced batch."""
        with self.db.write_batch(sync=True) as wb:
            for key in keys:
                meta = self.meta(key)
                if meta is not None:
                    wb.delete(b"i" + meta["id"].encode("utf-8", "surrogatepass"))
                wb.delete(b"j" + _k8(key))
                wb.delete(b"m" + _k8(key))

    def items(self) -> Iterator[tuple[int, dict]]:
        """Every video's (key, metadata), in key order."""
        for k, raw in self.db.iterator(prefix=b"j"):
            yield int.from_bytes(k[1:], "big"), _load(raw)

    def id_keys(self) -> Iterator[tuple[str, int]]:
        for k, raw in self.db.iterator(prefix=b"i"):
            yield k[1:].decode("utf-8", "surrogatepass"), int.from_bytes(raw, "big")

    def matrix_keys(self) -> Iterator[int]:
        for k in self.db.iterator(prefix=b"m", include_value=False):
            yield int.from_bytes(k[1:], "big")

    def close(self) -> None:
        if not self.db.closed:
            self.db.close()
