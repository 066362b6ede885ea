"""No 16- or 32-bit caps on frames, videos or keys.

- A 24-hour video at 1 fps (86,400 frames x 1 view x 512-d, float32: 177 MB) round-trips
  through the LevelDB matrix store bit for bit, and a 10-minute copy taken from its last
  hour is found by the real alignment path (cosine + TN on a 600 x 86,400 map): frame
  indices far beyond 2**16 come back exact.
- The same length of video through the whole Index: LevelDB and the embedded first stage
  (86,400 rows: past the exact-search size, so an IVF index is trained on them), verify()
  agrees row for row, and Index.query finds a copy of 10 minutes of its last hour at the
  right frames and times. Its model is a 512-d ONNX model registered with register_model, as
  a user would. (Through milvus-lite, which checks and converts every element of every row
  in Python, the same steps took 67 s of CPU at 512-d.)
- A catalogue of a million videos in the matrix store: every id gets its own positive
  63-bit key, the id, metadata and matrix records number a million each, and sampled
  id <-> key round trips are exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from vcdfast.align import align_batch
from vcdfast.index import VideoMeta, VideoState
from vcdfast.store.keys import video_key
from vcdfast.store.matrix_store import MatrixStore

pytestmark = pytest.mark.slow

DAY = 86_400  # frames of a 24-hour video at 1 fps
DIM = 512
INDEX_DIM = 512  # the Index test's registered model (see the module docstring)
CATALOGUE = 1_000_000
PUT_BATCH = 20_000  # videos per synced WriteBatch


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_24_hour_video_round_trips_and_aligns_beyond_16_bit_frame_indices(tmp_path):
    rng = np.random.default_rng(24)
    vectors = rng.standard_normal((DAY, 1, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    timestamps = np.arange(DAY, dtype=np.float64) + 0.25  # not integral: an integer frame counter would lose them
    store = MatrixStore(tmp_path / "m")
    key = video_key("a day")
    meta = VideoMeta.new("a day", key, VideoState.COMMITTED, vectors, duration=float(DAY), last_end=float(DAY),
                         source=None, content_hash=None, added="")
    store.put([(key, meta.to_dict(), vectors, timestamps)])
    store.close()

    store = MatrixStore(tmp_path / "m")
    try:
        back, back_t = store.matrix(key)
        assert back.shape == (DAY, 1, DIM) and back.dtype == np.float32
        assert np.array_equal(back, vectors.astype(np.float16).astype(np.float32))  # stored as float16
        assert np.array_equal(back_t, timestamps)
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


def _register_projection_model(tmp_path, dim: int) -> str:
    """A real ONNX image model with a dim-d output (a fixed random projection of an 8x8
    thumbnail), registered by path like any user model."""
    onnx = pytest.importorskip("onnx", reason="building the test model needs onnx")
    from onnx import TensorProto, helper, numpy_helper

    from vcdfast.models import register_model

    weights = np.random.default_rng(64).standard_normal((8 * 8 * 3, dim)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
         helper.make_node("Flatten", ["pixels"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["projected"]),
         helper.make_node("LpNormalization", ["projected"], ["embedding"], axis=1, p=2)],
        "projection",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["n", 8, 8, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", dim])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"projection{dim}.onnx"
    onnx.save(model, str(path))
    spec = register_model(f"projection{dim}", path, input_size=(8, 8))
    assert spec.dim == dim
    return spec.name


def test_24_hour_video_through_the_index_is_found_by_a_copy_of_its_last_hour(tmp_path):
    from vcdfast.embed import VideoEmbedding
    from vcdfast.index import Index

    model = _register_projection_model(tmp_path, INDEX_DIM)
    rng = np.random.default_rng(86_400)
    vectors = _unit(rng.standard_normal((DAY, 1, INDEX_DIM), dtype=np.float32))
    timestamps = np.arange(DAY, dtype=np.float64) + 1 / 3  # float32 would round these
    with Index.open(tmp_path / "ix", model=model, views=("full",)) as ix:
        ix.add_embedding("a day", VideoEmbedding.from_arrays(vectors, timestamps, model=model, duration=DAY + 1 / 3))
        report = ix.verify()
        assert report.ok and report.videos == 1 and report.rows == DAY, report.problems
        assert ix.record("a day").frames == DAY and ix.stats()["rows"] == DAY
        stored = ix.get("a day")
        assert np.array_equal(stored.vectors, vectors.astype(np.float16).astype(np.float32))  # stored as float16
        assert np.array_equal(stored.timestamps, timestamps)

        first = DAY - 3_000  # in the last hour, far beyond 2**16
        noisy = _unit(vectors[first:first + 600] + 0.05 * rng.standard_normal((600, 1, INDEX_DIM), dtype=np.float32))
        query = VideoEmbedding.from_arrays(noisy, np.arange(600, dtype=np.float64), model=model, duration=600.0)
        matches = ix.query(query, query_id="clip", speed_prior=None)
        on_lines = ix.query(query, query_id="clip")
    assert matches, "the copy was not found"
    best = matches[0]
    q_start, r_start, q_end, r_end = best.frames
    assert best.ref_id == "a day" and r_start > 2**16
    # the alignment may leave out a frame or two at the ends of a copy; the offset must be exact
    assert r_start - q_start == first and r_end - q_end == first and q_end - q_start >= 590
    # segments meet halfway between samples (vcdfast.query.intervals): float64, exact
    assert best.ref_start == (timestamps[r_start - 1] + timestamps[r_start]) / 2
    assert best.ref_end == (timestamps[r_end] + timestamps[r_end + 1]) / 2
    assert best.query_start == max(0.0, q_start - 0.5)
    # refit to the copy's line (vcdfast.lines), each end from its own rows: the same query
    # ends, the reference's where the line puts them, float64, exact
    fitted = on_lines[0]
    assert fitted.frames == best.frames and (fitted.query_start, fitted.query_end) == (best.query_start, best.query_end)
    assert fitted.ref_start == timestamps[r_start] - (q_start - best.query_start)
    assert fitted.ref_end == timestamps[r_end] + (best.query_end - q_end)


def test_a_catalogue_of_a_million_videos_keeps_every_id_distinct(tmp_path):
    ids = [f"catalogue/{i}" for i in range(CATALOGUE)]
    keys = [video_key(v) for v in ids]
    assert len(set(keys)) == CATALOGUE
    assert 2**62 <= max(keys) < 2**63 and min(keys) >= 0  # spread over the whole signed-safe range
    vec, ts = np.zeros((1, 1, 4), np.float32), np.zeros(1)
    # one record built as the index builds them, copied under each id (asdict per video would
    # add ~10 s here)
    record = VideoMeta.new("", 0, VideoState.COMMITTED, vec, duration=1.0, last_end=1.0, source=None,
                           content_hash=None, added="").to_dict()
    store = MatrixStore(tmp_path / "m")
    try:
        for start in range(0, CATALOGUE, PUT_BATCH):
            store.put([(k, {**record, "id": v}, vec, ts)
                       for k, v in zip(keys[start:start + PUT_BATCH], ids[start:start + PUT_BATCH])])
        id_keys = dict(store.id_keys())
        assert len(id_keys) == CATALOGUE and set(id_keys) == set(ids)
        assert len(set(id_keys.values())) == CATALOGUE
        metas = {key: meta["id"] for key, meta in store.items()}
        assert len(metas) == CATALOGUE and all(metas[id_keys[v]] == v for v in ids[::997])
        assert sum(1 for _ in store.matrix_keys()) == CATALOGUE
        for v in ids[::99_991] + ids[-1:]:
            key = store.key_of(v)
            assert key == video_key(v) and store.meta(key)["id"] == v
            assert np.array_equal(store.matrix(key)[0], vec.astype(np.float16).astype(np.float32))
    finally:
        store.close()
