"""The storage layer on its own: keys, the LevelDB matrix store and the Milvus vector store
(a real milvus-lite file), with synthetic vectors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vcdfast.errors import IndexLockedError
from vcdfast.index import VideoMeta, VideoState
from vcdfast.index.catalog import Catalog
from vcdfast.store import (
    EmbeddedStore,
    IndexType,
    MatrixStore,
    MilvusStore,
    decode_matrix,
    embedded,
    encode_matrix,
    pool,
    video_key,
)


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_video_keys_are_stable_positive_int64_and_salted():
    k = video_key("R100001")
    assert k == video_key("R100001") and 0 <= k < 2**63
    assert video_key("R100001", 1) != k and video_key("R100002") != k
    assert video_key("id with 'quotes' \" and ünïcödé " + "x" * 2000) >= 0
    with pytest.raises(TypeError):
        video_key(b"bytes")


def test_matrix_record_round_trips_exact_bytes():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((7, 3, 16)).astype(np.float32)
    v[0, 0, :3] = [-0.0, np.float32(1e-45), np.float32(3.4e38)]  # signed zero, denormal, near max
    t = np.cumsum(rng.uniform(0.1, 1.0, 7))
    v2, t2 = decode_matrix(encode_matrix(v, t, "float32"))
    assert v2.tobytes() == v.tobytes() and t2.tobytes() == t.tobytes()
    # float16 asked for, but 3.4e38 does not fit it: the record falls back to float32, exact
    assert decode_matrix(encode_matrix(v, t))[0].tobytes() == v.tobytes()
    with pytest.raises(ValueError, match="does not match its header"):
        decode_matrix(encode_matrix(v, t)[:-1])
    with pytest.raises(ValueError, match="not a vcdfast matrix"):
        decode_matrix(b"XXXX" + encode_matrix(v, t)[4:])


def test_matrix_record_float16_is_the_default_and_reads_as_float32():
    rng = np.random.default_rng(3)
    v = unit(rng.standard_normal((9, 2, 512)))
    t = np.arange(9.0) + 1 / 3
    rec = encode_matrix(v, t)
    assert len(rec) == 20 + v.size * 2 + t.size * 8  # half the float32 record's vectors
    v2, t2 = decode_matrix(rec)
    assert v2.dtype == np.float32 and v2.shape == v.shape and t2.tobytes() == t.tobytes()
    assert v2.tobytes() == v.astype(np.float16).astype(np.float32).tobytes()
    # float16 rounds each element by <= 2^-11 of it, so a cosine of unit vectors moves by
    # <= 2^-11 * sum|q_i x_i| <= 2^-11; measured far below (errors do not all align)
    cos, cos16 = v[:, 0] @ v[:, 1].T, v2[:, 0] @ v2[:, 1].T
    assert np.abs(cos16 - cos).max() <= 2.0**-11
    # a record of the previous format (float32, dtype code 1) reads as it did
    old = encode_matrix(v, t, "float32")
    assert old[6:8] == b"\x01\x00" and decode_matrix(old)[0].tobytes() == v.tobytes()
    with pytest.raises(ValueError, match="dtype must be one of"):
        MatrixStore("unused", dtype="int8")


def test_matrix_store_records_states_and_lock(tmp_path):
    store = MatrixStore(tmp_path / "m")
    try:
        v = unit(np.random.default_rng(1).standard_normal((5, 1, 8)))
        t = np.arange(5.0)
        meta = {"id": "a'b\"c ✓", "state": VideoState.PENDING.value}
        store.put([(42, meta, v, t)])
        assert store.key_of("a'b\"c ✓") == 42 and store.meta(42)["state"] == VideoState.PENDING
        store.set_state([42], VideoState.COMMITTED.value)
        assert store.meta(42)["state"] == VideoState.COMMITTED
        v2, t2 = store.matrix(42)
        assert v2.tobytes() == v.astype(np.float16).astype(np.float32).tobytes() and t2.tobytes() == t.tobytes()
        assert list(store.id_keys()) == [("a'b\"c ✓", 42)] and list(store.matrix_keys()) == [42]
        with pytest.raises(IndexLockedError, match="open in another process or handle"):
            MatrixStore(tmp_path / "m")
        store.delete([42])
        assert store.key_of("a'b\"c ✓") is None and store.meta(42) is None and list(store.items()) == []
    finally:
        store.close()


@pytest.fixture(params=["embedded", "milvus-lite"])
def first_stage(request, tmp_path):
    if request.param == "embedded":
        store = EmbeddedStore(tmp_path, 32, None, read_only=False)
    else:
        store = MilvusStore(str(tmp_path / "m.db"), "t", 32, index_type=IndexType.FLAT)
    yield store
    store.close()


def test_first_stage_insert_search_delete(first_stage):
    rng = np.random.default_rng(2)
    videos = {key: unit(rng.standard_normal((n, 2, 32))) for key, n in ((11, 6), (2**62 + 5, 4), (7, 9))}
    sent = first_stage.insert([(k, "r1", v) for k, v in videos.items()])
    first_stage.flush()
    assert sent == sum(v.shape[0] * v.shape[1] for v in videos.values())
    assert first_stage.row_counts() == {k: v.shape[0] * v.shape[1] for k, v in videos.items()}
    assert first_stage.video_keys() == set(videos)
    # each stored row finds its own video first, with cosine 1
    q = videos[2**62 + 5][:, 1]
    keys, scores = first_stage.search_frames(q, 3)
    assert (keys[:, 0] == 2**62 + 5).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    keys, scores = first_stage.search_videos(pool(videos[7])[None], 2)
    assert keys[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    first_stage.delete([11])
    first_stage.flush()
    assert set(first_stage.row_counts()) == {2**62 + 5, 7} and first_stage.video_keys() == {2**62 + 5, 7}
    keys, scores = first_stage.search_frames(videos[11][:, 0], 50)  # more than the rows left: padded
    assert 11 not in keys and (keys == -1).any() and (scores[keys == -1] == -np.inf).all()


@pytest.mark.parametrize("kind", ["embedded", "milvus-lite"])
def test_first_stage_keeps_the_searched_views_only(tmp_path, kind):
    if kind == "embedded":
        store = EmbeddedStore(tmp_path, 32, None, searched_views=1, read_only=False)
    else:
        store = MilvusStore(str(tmp_path / "m.db"), "t", 32, index_type=IndexType.FLAT, searched_views=1)
    try:
        vectors = unit(np.random.default_rng(3).standard_normal((5, 3, 32)))
        assert store.insert([(9, "r1", vectors)]) == store.searchable_rows(vectors) == 5
        store.flush()
        assert store.row_counts() == {9: 5}
        _, first = store.search_frames(vectors[:, 0], 1)
        _, other = store.search_frames(vectors[:, 1:].reshape(-1, 32), 1)
        assert np.allclose(first, 1.0, atol=1e-5) and (other < 0.9).all()
    finally:
        store.close()


def _catalog(tmp_path, videos: dict[str, np.ndarray]) -> Catalog:
    catalog = Catalog(MatrixStore(tmp_path / "m"))
    catalog.put([(VideoMeta.new(vid, video_key(vid), VideoState.COMMITTED, v, duration=None, last_end=len(v),
                                source=None, content_hash=None, added=""), v, np.arange(float(len(v))))
                 for vid, v in videos.items()])
    return catalog


def test_a_videos_cuts_round_trip_and_an_older_record_has_none(tmp_path):
    v = unit(np.random.default_rng(0).standard_normal((4, 1, 8)))
    catalog = Catalog(MatrixStore(tmp_path / "m"))
    try:
        meta = VideoMeta.new("a", video_key("a"), VideoState.COMMITTED, v, duration=4.0, last_end=4.0, source=None,
                             content_hash=None, added="", cuts=np.array([1.25, 3.5]))
        older = dict(VideoMeta.new("b", video_key("b"), VideoState.COMMITTED, v, duration=4.0, last_end=4.0,
                                   source=None, content_hash=None, added="").to_dict())
        del older["cuts"]  # a record written before videos kept their cuts
        catalog.put([(meta, v, np.arange(4.0))])
        catalog.matrices.put([(video_key("b"), older, v, np.arange(4.0))])
        assert catalog.find("a").cuts == (1.25, 3.5) and catalog.find("a") == meta
        assert catalog.find("b").cuts is None
    finally:
        catalog.matrices.close()


def test_embedded_file_catches_up_and_is_rebuilt_when_damaged(tmp_path, monkeypatch):
    """The file is derived from LevelDB: a stale file catches up, a damaged one is reported
    by check() and rebuilt; from TRAIN_ROWS rows on the index is IVF and still finds rows."""
    monkeypatch.setattr(embedded, "TRAIN_ROWS", 10_000)  # exact at first, IVF after the catch-up
    rng = np.random.default_rng(5)
    videos = {f"v{i}": unit(rng.standard_normal((100, 1, 32))) for i in range(120)}
    catalog = _catalog(tmp_path, dict(list(videos.items())[:20]))
    try:
        store = EmbeddedStore(tmp_path, 32, None, read_only=False)
        store.sync(catalog)  # 2,000 rows: exact
        assert store.trained_rows == 0 and store.row_counts() == {video_key(v): 100 for v in list(videos)[:20]}
        store.close()
        catalog.put([(VideoMeta.new(vid, video_key(vid), VideoState.COMMITTED, v, duration=None, last_end=100.0,
                                    source=None, content_hash=None, added=""), v, np.arange(100.0))
                     for vid, v in list(videos.items())[20:]])  # 12,000 rows: written while the file was closed
        store = EmbeddedStore(tmp_path, 32, None, read_only=False)
        store.sync(catalog)
        revs = {m.key: m.rev for m in catalog.videos()}
        assert store.trained_rows == 12_000 and store.check(revs) == []
        assert store.row_counts() == {video_key(v): 100 for v in videos}
        keys, _ = store.search_frames(videos["v77"][:, 0], 5)
        assert (keys[:, 0] == video_key("v77")).mean() > 0.9  # approximate search, exact rows
        store.close()
        raw = bytearray((tmp_path / embedded.FILE).read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (tmp_path / embedded.FILE).write_bytes(bytes(raw))
        store = EmbeddedStore(tmp_path, 32, None, read_only=True)
        assert "checksum mismatch" in store.load_problem and store.row_counts() == {}
        store.sync(catalog)  # read-only: rebuilt in memory, the file left as it is
        assert any("checksum mismatch" in p for p in store.check(revs)) and len(store.row_counts()) == 120
        store.close()
        store = EmbeddedStore(tmp_path, 32, None, read_only=False)
        store.sync(catalog)  # writable: rebuilt and saved
        assert store.check(revs) == []
        store.close()
    finally:
        catalog.matrices.close()


def test_ivf_scores_are_cosines_and_old_or_cut_files_are_rebuilt(tmp_path, monkeypatch):
    """The approximate index's scores are on the cosine scale: the query's normalisation
    subtracts a bias measured in exact cosines, and a copy votes only when its hit beats it
    (PCA + PQ codes scored a copied frame of cosine ~0.96 at ~0.11). A file of the previous
    format, or cut short, is unusable and rebuilt."""
    monkeypatch.setattr(embedded, "TRAIN_ROWS", 1_000)
    rng = np.random.default_rng(8)
    videos = {f"v{i}": unit(np.repeat(rng.standard_normal((10, 1, 128)), 6, axis=0)
                            + 0.5 * rng.standard_normal((60, 1, 128))) for i in range(60)}
    catalog = _catalog(tmp_path, videos)
    try:
        store = EmbeddedStore(tmp_path, 128, None, read_only=False)
        store.sync(catalog)
        assert store.trained_rows == 3_600 and "SQ8" in store.describe()
        q = unit(videos["v7"][:, 0] + 0.01 * rng.standard_normal((60, 128)))
        keys, scores = store.search_frames(q, 3)
        exact = (q[:, None, :] * videos["v7"][:, 0][None]).sum(-1).max(1)
        assert (keys[:, 0] == video_key("v7")).all()
        assert np.abs(scores[:, 0] - exact).max() < 0.02  # SQ8 rounding, not a rescaled score
        store.close()
        path = tmp_path / embedded.FILE
        whole = path.read_bytes()
        for bad, why in ((b"VCDANN01" + whole[8:], "older format"), (whole[:-100], "checksum")):
            path.write_bytes(bad)
            store = EmbeddedStore(tmp_path, 128, None, read_only=False)
            assert why in store.load_problem
            store.sync(catalog)
            assert store.check({m.key: m.rev for m in catalog.videos()}) == []
            store.close()
    finally:
        catalog.matrices.close()


def test_dedup_keeps_one_row_per_run_of_near_duplicates():
    base = unit(np.random.default_rng(6).standard_normal((3, 1, 16)))
    v = np.repeat(base, [4, 1, 3], axis=0)  # runs of 4, 1 and 3 identical frames
    assert len(embedded.searchable(v, None)) == 8
    kept = embedded.searchable(v, 0.99)
    assert kept.shape == (3, 16) and np.array_equal(kept, base[:, 0])


def test_pool_is_normalised_mean():
    v = unit(np.random.default_rng(3).standard_normal((4, 2, 8)))
    p = pool(v)
    m = v.reshape(-1, 8).mean(0)
    assert np.allclose(p, m / np.linalg.norm(m), atol=1e-6) and np.linalg.norm(p) == pytest.approx(1.0, abs=1e-6)


def test_milvus_store_inserts_chunk_by_chunk(tmp_path):
    """A video of many insert chunks (and a small one sharing a chunk with its tail) is stored
    row for row, and converting it to rows does not hold the whole video as Python objects."""
    import tracemalloc

    store = MilvusStore(str(tmp_path / "m.db"), "c", 32, index_type=IndexType.FLAT)
    store.insert_chunk = 256
    try:
        rng = np.random.default_rng(4)
        big, small = unit(rng.standard_normal((6000, 2, 32))), unit(rng.standard_normal((7, 2, 32)))
        whole = big.reshape(-1, 32).tolist()  # what holding the video as rows at once costs, at least
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        sent = store.insert([(5, "r", big), (6, "r", small)])
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
        whole_bytes = sum(sys.getsizeof(r) + 32 * sys.getsizeof(1.0) for r in whole)
        # 256 of 12014 rows at a time: a chunk's rows are ~1/47 of the video; a quarter leaves room for pymilvus's
        # buffers (all rows at once peaked at ~1.5x whole_bytes)
        assert peak < whole_bytes / 4, (peak, whole_bytes)
        store.flush()
        assert sent == 12014 and store.row_counts() == {5: 12000, 6: 14} and store.video_keys() == {5, 6}
        got = store.client.query(store.frames, filter="key == 5", output_fields=["vec"], limit=16000)
        # every row exactly once (rows carry no frame index: a hit only names its video)
        assert sorted(np.array(r["vec"], np.float32).tobytes() for r in got) == sorted(
            row.tobytes() for row in big.reshape(-1, 32))
        keys, scores = store.search_frames(big[4321], 1)
        assert (keys[:, 0] == 5).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    finally:
        store.close()
