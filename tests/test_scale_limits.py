"""No 16- or 32-bit caps on frames, videos or keys.

- A 24-hour video at 1 fps (86,400 frames x 1 view x 512-d, float32: 177 MB) round-trips
  through the LevelDB matrix store bit for bit, and a 10-minute copy taken from its last
  hour is found by the real alignment path (cosine + TN on a 600 x 86,400 map): frame
  indices far beyond 2**16 come back exact.
- Not here: the same 24-hour video through milvus-lite (Index.add_embedding). Its insert
  path runs at a few hundred rows/s on 2 busy cores (86,400 rows: 600 s), too slow for the
  suite; the Milvus schema's frame column is INT32 and its key INT64, so no cap below 2**31.
- A catalogue past 2**17 videos in the matrix store: every id keeps its own 63-bit key,
  counts and id <-> key round trips are exact. (A million videos costs ~10x the time: the
  store's Python per-record cost dominates, ~40 us/video on an idle core; the 63-bit key
  hash alone is checked on a million ids.)
"""

from __future__ import annotations

import numpy as np
import pytest

from vcdfast.align import align_batch
from vcdfast.store.keys import video_key
from vcdfast.store.matrix_store import MatrixStore

pytestmark = pytest.mark.slow

DAY = 86_400  # frames of a 24-hour video at 1 fps
DIM = 512
CATALOGUE = 150_000  # > 2**17 videos
KEYS = 1_000_000


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_24_hour_video_round_trips_and_aligns_beyond_16_bit_frame_indices(tmp_path):
    rng = np.random.default_rng(24)
    vectors = rng.standard_normal((DAY, 1, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    timestamps = np.arange(DAY, dtype=np.float64) + 0.25  # not integral: float32 storage would round them
    store = MatrixStore(tmp_path / "m")
    key = video_key("a day")
    store.put([(key, {"id": "a day", "state": "committed", "frames": DAY, "views": 1, "dim": DIM},
                vectors, timestamps)])
    store.close()

    store = MatrixStore(tmp_path / "m")
    try:
        back, back_t = store.matrix(key)
        assert back.shape == (DAY, 1, DIM) and back.dtype == np.float32
        assert np.array_equal(back, vectors) and np.array_equal(back_t, timestamps)
        assert store.meta(key)["frames"] == DAY and store.key_of("a day") == key

        first = 80_000  # > 2**16: a 16-bit frame counter would wrap here
        copy = _unit(back[first:first + 600, 0] + 0.05 * rng.standard_normal((600, DIM), dtype=np.float32))
        (found,) = align_batch(copy[:, None, :], [back], method="tn", num_threads=2)
    finally:
        store.close()
    assert len(found.boxes) >= 1
    q_start, r_start, q_end, r_end = found.boxes[int(np.argmax(found.scores))]
    # TN may trim a frame or two at the ends of a path; the offset must be exact
    assert r_start - q_start == first and r_end - q_end == first
    assert q_end - q_start >= 590


def test_catalogue_beyond_2_17_videos_keeps_every_id_distinct(tmp_path):
    ids = [f"video-{i:07d}" for i in range(CATALOGUE)]
    vec, ts = np.zeros((1, 1, 4), np.float32), np.zeros(1)
    store = MatrixStore(tmp_path / "m")
    try:
        batch = 10_000
        for start in range(0, CATALOGUE, batch):
            store.put([(video_key(v), {"id": v, "state": "committed", "frames": 1, "views": 1}, vec, ts)
                       for v in ids[start:start + batch]])
        id_keys = dict(store.id_keys())
        assert len(id_keys) == CATALOGUE and set(id_keys) == set(ids)
        assert len(set(id_keys.values())) == CATALOGUE
        metas = {key: meta["id"] for key, meta in store.items()}
        assert len(metas) == CATALOGUE and all(metas[id_keys[v]] == v for v in ids[::997])
        assert sum(1 for _ in store.matrix_keys()) == CATALOGUE
        assert store.key_of(ids[-1]) == video_key(ids[-1])
    finally:
        store.close()


def test_a_million_ids_get_distinct_positive_63_bit_keys():
    keys = np.fromiter((video_key(f"catalogue/{i}") for i in range(KEYS)), np.uint64, KEYS)
    assert np.unique(keys).size == KEYS
    assert int(keys.max()) < 2**63 and int(keys.max()) >= 2**62  # spread over the whole range, signed-safe
