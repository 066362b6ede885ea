"""The storage layer on its own: keys, the LevelDB matrix store and the Milvus vector store
(a real milvus-lite file), with synthetic vectors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vcdfast.errors import IndexLockedError
from vcdfast.store import IndexType, MatrixStore, MilvusStore, decode_matrix, encode_matrix, pool, video_key


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
    v2, t2 = decode_matrix(encode_matrix(v, t))
    assert v2.tobytes() == v.tobytes() and t2.tobytes() == t.tobytes()
    with pytest.raises(ValueError, match="does not match its header"):
        decode_matrix(encode_matrix(v, t)[:-1])
    with pytest.raises(ValueError, match="not a vcdfast matrix"):
        decode_matrix(b"XXXX" + encode_matrix(v, t)[4:])


def test_matrix_store_records_states_and_lock(tmp_path):
    store = MatrixStore(tmp_path / "m")
    try:
        v = unit(np.random.default_rng(1).standard_normal((5, 1, 8)))
        t = np.arange(5.0)
        meta = {"id": "a'b\"c ✓", "state": "pending"}
        store.put([(42, meta, v, t)])
        assert store.key_of("a'b\"c ✓") == 42 and store.meta(42)["state"] == "pending"
        store.set_state([42], "committed")
        assert store.meta(42)["state"] == "committed"
        v2, t2 = store.matrix(42)
        assert v2.tobytes() == v.tobytes() and t2.tobytes() == t.tobytes()
        assert list(store.id_keys()) == [("a'b\"c ✓", 42)] and list(store.matrix_keys()) == [42]
        with pytest.raises(IndexLockedError, match="open in another process or handle"):
            MatrixStore(tmp_path / "m")
        store.delete([42])
        assert store.key_of("a'b\"c ✓") is None and store.meta(42) is None and list(store.items()) == []
    finally:
        store.close()


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    store = MilvusStore(str(tmp_path_factory.mktemp("milvus") / "m.db"), "t", 32, index_type=IndexType.FLAT)
    yield store
    store.close()


def test_milvus_store_insert_search_delete(milvus):
    rng = np.random.default_rng(2)
    videos = {key: unit(rng.standard_normal((n, 2, 32))) for key, n in ((11, 6), (2**62 + 5, 4), (7, 9))}
    sent = milvus.insert([(k, v, np.arange(len(v), dtype=np.float64)) for k, v in videos.items()])
    milvus.flush()
    assert sent == sum(v.shape[0] * v.shape[1] for v in videos.values())
    assert milvus.frame_counts() == {k: v.shape[0] * v.shape[1] for k, v in videos.items()}
    assert milvus.video_keys() == set(videos)
    # each stored row finds its own video first, with cosine 1
    q = videos[2**62 + 5][:, 1]
    keys, scores = milvus.search_frames(q, 3)
    assert (keys[:, 0] == 2**62 + 5).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    keys, scores = milvus.search_videos(pool(videos[7])[None], 2)
    assert keys[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    milvus.delete([11])
    milvus.flush()
    assert set(milvus.frame_counts()) == {2**62 + 5, 7} and milvus.video_keys() == {2**62 + 5, 7}
    keys, _ = milvus.search_frames(videos[11][:, 0], 50)  # more than the rows left: padded
    assert 11 not in keys and (keys == -1).any()


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
        t_big, t_small = np.arange(6000) * 0.5 + 0.25, np.arange(7.0)
        whole = big.reshape(-1, 32).tolist()  # what holding the video as rows at once costs, at least
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        sent = store.insert([(5, big, t_big), (6, small, t_small)])
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
        whole_bytes = sum(sys.getsizeof(r) + 32 * sys.getsizeof(1.0) for r in whole)
        # 256 of 12014 rows at a time: a chunk's rows are ~1/47 of the video; a quarter leaves room for pymilvus's
        # buffers (all rows at once peaked at ~1.5x whole_bytes)
        assert peak < whole_bytes / 4, (peak, whole_bytes)
        store.flush()
        assert sent == 12014 and store.frame_counts() == {5: 12000, 6: 14} and store.video_keys() == {5, 6}
        got = store.client.query(store.frames, filter="key == 5", output_fields=["frame", "t", "view", "vec"],
                                 limit=16000)
        got.sort(key=lambda r: (r["frame"], r["view"]))
        assert [(r["frame"], r["view"]) for r in got] == [(f, v) for f in range(6000) for v in range(2)]
        assert np.array_equal([r["t"] for r in got], np.repeat(t_big, 2).astype(np.float32))  # FLOAT field
        assert np.array_equal(np.array([r["vec"] for r in got], np.float32), big.reshape(-1, 32))
        keys, scores = store.search_frames(big[4321], 1)
        assert (keys[:, 0] == 5).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    finally:
        store.close()
