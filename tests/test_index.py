"""Index behaviour with synthetic embeddings (a generated video where a query is embedded) and
real stores (LevelDB, the embedded faiss file; a milvus-lite file where the Milvus write order
is under test): settings, ids, replace/remove bookkeeping, conflicts, the pending/committed
state machine, key collisions, the query's views, and query on planted copies."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from vcdfast.decode import Sampling
from vcdfast.embed import VideoEmbedding
from vcdfast.errors import IdConflictError, IndexLockedError, IndexMismatchError, VideoNotFoundError
from vcdfast.index import Index, VideoMeta, VideoState
from vcdfast.index.background import BackgroundCache
from vcdfast.index.search import search_frames, select_candidates
from vcdfast.index.settings import DEFAULT_INDEX_VIEWS
from vcdfast.normalise import Background, BackgroundSpec
from vcdfast.query import QueryOptions
from vcdfast.store import video_key
from vcdfast.views import BLEND_WEIGHT, CENTRE_KEEP, expand_views

MODEL = "sscd-mobile"
WEIRD_IDS = ["it's \"quoted\" ) or key > 0 --", "ünïcödé 视频 🎬", "x" * 2000]


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def emb(vectors, **kw):
    return VideoEmbedding.from_arrays(vectors, np.arange(len(vectors), dtype=np.float64), model=MODEL,
                                      duration=float(len(vectors)), **kw)


def video(seed, n=30):
    return unit(np.random.default_rng(seed).standard_normal((n, 512)))


@pytest.fixture
def index(tmp_path):
    ix = Index.open(tmp_path / "ix", model=MODEL, views=("full",))
    yield ix
    ix.close()


def test_settings_are_recorded_and_checked(tmp_path):
    with Index.open(tmp_path / "ix", model=MODEL, views=("full",), sampling=Sampling(fps=2.0)) as ix:
        assert ix.sampling == Sampling(fps=2.0)
    with pytest.raises(IndexMismatchError, match="sampling"):
        Index.open(tmp_path / "ix", sampling=Sampling(fps=1.0))
    with pytest.raises(IndexMismatchError, match="views"):
        Index.open(tmp_path / "ix", views=("full", "flip"))
    with Index.open(tmp_path / "ix") as ix:
        assert ix.sampling == Sampling(fps=2.0) and ix.spec.name == MODEL
        with pytest.raises(IndexMismatchError, match="sampled with"):  # embedding made at 1 fps
            ix.add_embedding("a", emb(video(0)))
    with pytest.raises(FileNotFoundError, match="no vcdfast index"):
        Index.open(tmp_path / "other", create=False)
    with Index.open(tmp_path / "default", model=MODEL) as ix:  # a new index's reference views, spelled out
        assert ix.views == expand_views(DEFAULT_INDEX_VIEWS) == (f"blend:{CENTRE_KEEP}:{BLEND_WEIGHT}",
                                                                 "blend:0.4:0.35")


def test_first_stage_searches_each_frame_first_view(tmp_path):
    """A new index's first stage holds one row per frame, its first view, and the alignment
    gets every view; an index recorded before the setting existed keeps all its views
    searched (its embedded file, built for another count, is rebuilt)."""
    vectors = unit(np.random.default_rng(4).standard_normal((12, 2, 512)))
    with Index.open(tmp_path / "ix", model=MODEL, views=("full", "flip")) as ix:
        ix.add_embedding("a", emb(vectors, views=("full", "flip")))
        assert ix.settings.searched_views == 1 and ix.stats()["searched_views"] == 1
        report = ix.verify()
        assert report.ok and report.rows == 12, report.problems
        assert ix.get("a").vectors.shape == (12, 2, 512)
        _, first = search_frames(ix.first_stage, vectors[:, 0], 1)
        _, second = search_frames(ix.first_stage, vectors[:, 1], 1)
        assert np.allclose(first, 1.0, atol=1e-3) and (second < 0.5).all()
        recorded = ix.catalog.matrices.settings()
        del recorded["searched_views"]
        ix.catalog.matrices.put_settings(recorded)
    with Index.open(tmp_path / "ix") as ix:
        assert ix.settings.searched_views is None
        report = ix.verify()
        assert report.ok and report.rows == 24, report.problems
        _, second = search_frames(ix.first_stage, vectors[:, 1], 1)
        assert np.allclose(second, 1.0, atol=1e-3)


def test_a_query_blend_is_the_index_own_blend(tmp_path):
    """A bare "blend" among the query views is embedded as the index's own (first) blend, so a
    query of an indexed file meets its stored descriptors; an index without one keeps the
    default blend."""
    from videos import make_video

    clip = make_video(tmp_path / "clip.mp4", seconds=3, fps=4, seed=1).path
    with Index.open(tmp_path / "ix", model=MODEL, views=("blend:0.5:0.35",)) as ix:
        ix.add([clip], progress=False)
        assert ix.query_views(("full", "blend")) == ("full", "blend:0.5:0.35")
        q = ix.embed_query(clip, ("full", "blend"))
        assert q.views == ("full", "blend:0.5:0.35")
        np.testing.assert_allclose(q.vectors[:, 1], ix.get("clip").vectors[:, 0], atol=2e-3)
    with Index.open(tmp_path / "two", model=MODEL, views=("blend:0.5:0.35", "blend")) as ix:
        assert ix.query_views(("blend", "full")) == ("blend:0.5:0.35", "full")
    with Index.open(tmp_path / "full", model=MODEL, views=("full",)) as ix:
        assert ix.embed_query(clip, ("full", "blend")).views == ("full", f"blend:{CENTRE_KEEP}:{BLEND_WEIGHT}")


def as_stored(v):
    """Descriptors as the matrix store gives them back: float16, read as float32."""
    return v.astype(np.float16).astype(np.float32)


def test_second_open_is_refused(index):
    with pytest.raises(IndexLockedError):
        Index.open(index.path)


def test_odd_ids_add_get_remove_and_counts(index):
    vids = {vid: video(i) for i, vid in enumerate(WEIRD_IDS)}
    report = index.add_embeddings([(vid, emb(v), {}) for vid, v in vids.items()])
    assert sorted(report.added) == sorted(WEIRD_IDS)
    assert len(index) == 3 and [r.id for r in index.videos()] == sorted(WEIRD_IDS)
    for vid, v in vids.items():
        assert index.get(vid).vectors.tobytes() == as_stored(v[:, None, :]).tobytes()
    v = index.verify()
    assert v.ok and v.videos == 3 and v.rows == 90, v.problems
    # re-adding an id with other content is refused naming both; replace replaces it (new length)
    with pytest.raises(IdConflictError, match="already indexed"):
        index.add_embedding(WEIRD_IDS[0], emb(video(10, 12)), source="/videos/new.mp4")
    assert index.add_embedding(WEIRD_IDS[0], emb(video(0))).skipped == [WEIRD_IDS[0]]  # same content
    assert index.add_embedding(WEIRD_IDS[0], emb(video(10, 12)), on_conflict="skip").kept == [WEIRD_IDS[0]]
    index.add_embedding(WEIRD_IDS[0], emb(video(10, 12)), on_conflict="replace")
    assert len(index) == 3 and index.record(WEIRD_IDS[0]).frames == 12
    v = index.verify()
    assert v.ok and v.rows == 72, v.problems
    index.remove(WEIRD_IDS[2])
    assert WEIRD_IDS[2] not in index and len(index) == 2
    v = index.verify()
    assert v.ok and v.rows == 42, v.problems
    with pytest.raises(VideoNotFoundError, match="no video"):
        index.remove(WEIRD_IDS[2])
    with pytest.raises(VideoNotFoundError):
        index.get("never added")
    assert index.stats()["videos"] == 2 and index.stats()["rows"] == 42


def _meta(vid: str, key: int, state: VideoState, frames: int) -> VideoMeta:
    return VideoMeta.new(vid, key, state, np.zeros((frames, 1, 512), np.float32), duration=float(frames),
                         last_end=float(frames), source=None, content_hash=None, added="")


def test_pending_video_is_invisible_then_rolled_back(tmp_path):
    """Milvus write order: a crash between the Milvus insert and the commit. Queries ignore
    the video, the next writable open removes it from both stores."""
    path = tmp_path / "ix"
    committed, pending = video(1), video(2)
    with Index.open(path, model=MODEL, views=("full",), uri=str(tmp_path / "milvus.db")) as ix:
        ix.add_embedding("kept", emb(committed))
        meta = _meta("lost", video_key("lost"), VideoState.PENDING, 30)
        ix.catalog.put([(meta, pending[:, None, :], np.arange(30.0))])
        ix.first_stage.insert([(meta.key, meta.rev, pending[:, None, :])])
        ix.first_stage.flush()
        # the pending video's rows are the nearest neighbours, yet it is never a candidate
        options = QueryOptions()
        keys, scores = search_frames(ix.first_stage, pending[:, None, :], options.frame_neighbours)
        assert meta.key in keys and [m.id for m in select_candidates(ix.catalog, keys, scores, options)] == ["kept"]
        assert "lost" not in ix and not ix.verify().ok
    with Index.open(path) as ix:
        assert ix.repaired == ["lost"]
        v = ix.verify()
        assert v.ok and v.videos == 1 and v.rows == 30, v.problems
        assert ix.catalog.key_of("lost") is None


def test_key_collision_gets_another_key(index):
    # plant another id's record at the key "b" hashes to, as a hash collision would
    index.catalog.put([(_meta("a", video_key("b"), VideoState.COMMITTED, 1), video(0, 1)[:, None, :], np.zeros(1))])
    index.add_embedding("b", emb(video(5)))
    key_b = index.catalog.key_of("b")
    assert key_b == video_key("b", 1) != video_key("b")
    assert index.catalog.get(video_key("b")).id == "a"  # the other video is untouched
    assert index.get("b").vectors.tobytes() == as_stored(video(5)[:, None, :]).tobytes()


def test_read_only_index_refuses_writes(tmp_path):
    with Index.open(tmp_path / "ix", model=MODEL, views=("full",)) as ix:
        ix.add_embedding("a", emb(video(0)))
    with Index.open(tmp_path / "ix", read_only=True) as ix:
        assert len(ix) == 1
        with pytest.raises(PermissionError, match="read-only"):
            ix.remove("a")


def test_normalisation_background_is_kept_until_the_catalogue_changes(index):
    spec = QueryOptions().background
    assert index.background(None) is None
    index.add_embeddings([(f"v{i}", emb(video(i)), {}) for i in range(3)])
    first = index.background(spec)
    assert index.background(spec) is first  # cached
    # a small catalogue is all sampled: every video counts
    want = Background.sample([index.catalog.matrix(m.key)[0] for m in index.catalog.videos()], spec)
    np.testing.assert_array_equal(first.vectors, want.vectors)
    index.add_embedding("v3", emb(video(3)))
    second = index.background(spec)
    assert second is not first and index.background(spec) is second
    index.remove("v3")
    assert index.background(spec) is not second


def test_background_of_a_large_catalogue_changes_only_with_its_sample(index):
    """Beyond limit / per_video videos the background is the first committed videos in key
    order: an add or remove elsewhere keeps it without reading a matrix, one among them
    changes it, and it always equals a fresh draw from the catalogue as it is."""
    spec = BackgroundSpec(per_video=2, limit=8, k=4)  # 4 videos of 2 frames
    index.add_embeddings([(f"v{i}", emb(video(i, 10)), {}) for i in range(12)])
    keys = [m.key for m in index.catalog.videos()]
    first = index.background(spec)
    reads = []
    matrix = index.catalog.matrix
    index.catalog.matrix = lambda key: reads.append(key) or matrix(key)
    after = next(i for i in range(100, 10_000) if video_key(f"v{i}") > keys[3])
    index.add_embedding(f"v{after}", emb(video(after, 10)))
    assert index.background(spec) is first and reads == []
    before = next(i for i in range(100, 10_000) if video_key(f"v{i}") < keys[3])
    index.add_embedding(f"v{before}", emb(video(before, 10)))
    second = index.background(spec)
    assert second is not first and reads == [video_key(f"v{before}")]  # the other three are kept
    fresh = BackgroundCache(index.catalog).get(spec)
    np.testing.assert_array_equal(second.vectors, fresh.vectors)
    index.remove(f"v{before}")
    np.testing.assert_array_equal(index.background(spec).vectors, first.vectors)


def test_query_finds_planted_copies(index):
    rng = np.random.default_rng(7)
    refs = {f"r{i}": video(100 + i, 40) for i in range(8)}
    index.add_embeddings([(k, emb(v), {}) for k, v in refs.items()])

    def near(x):
        return unit(x + 0.02 * rng.standard_normal(x.shape))

    # noise orthogonal to every reference frame: it matches nothing at any alignment threshold
    basis = np.linalg.qr(np.concatenate(list(refs.values())).T)[0]

    def unrelated(n):
        x = rng.standard_normal((n, 512))
        return unit(x - (x @ basis) @ basis.T)

    noise = [unrelated(5) for _ in range(3)]
    q = np.concatenate([noise[0], near(refs["r2"][10:22]), noise[1], near(refs["r6"][3:15]), noise[2]])
    matches = index.query(emb(q), query_id="q")
    got = {(m.ref_id, m.query_start, m.query_end, m.ref_start, m.ref_end) for m in matches}
    # frame i (at i s) stands for [i - 0.5, i + 0.5) s: exact boxes, since noise frames match nothing
    assert got == {("r2", 4.5, 16.5, 9.5, 21.5), ("r6", 21.5, 33.5, 2.5, 14.5)}, matches
    assert index.query(emb(unit(rng.standard_normal((30, 512))))) == []
    hits = index.query_videos(emb(refs["r4"]), top_n=3)
    assert hits[0].ref_id == "r4" and len(hits) == 3


def test_damaged_search_file_is_reported_then_rebuilt(tmp_path):
    """The embedded file is derived from LevelDB: damage is a verify() problem, never a wrong
    answer, and a writable open rebuilds it."""
    refs = {f"r{i}": video(200 + i) for i in range(4)}
    with Index.open(tmp_path / "ix", model=MODEL, views=("full",)) as ix:
        ix.add_embeddings([(k, emb(v), {}) for k, v in refs.items()])
    ann = tmp_path / "ix" / "frames.ann"
    raw = bytearray(ann.read_bytes())
    raw[-40] ^= 0x01
    ann.write_bytes(bytes(raw))
    with Index.open(tmp_path / "ix", read_only=True) as ix:
        v = ix.verify()
        assert not v.ok and any("checksum mismatch" in p for p in v.problems), v.problems
        assert ix.query(emb(refs["r2"][5:25]))[0].ref_id == "r2"  # searched from LevelDB's vectors
    with Index.open(tmp_path / "ix") as ix:
        v = ix.verify()
        assert v.ok and v.videos == 4 and v.rows == 120, v.problems
    assert ann.read_bytes() != bytes(raw)


def test_background_is_drawn_safely_by_threads_sharing_the_handle(index):
    """Threads may share an Index, one writing while others query: the background they get is
    always whole, and after the writes it equals a fresh draw."""
    import threading

    spec = BackgroundSpec(per_video=2, limit=8, k=4)
    index.add_embeddings([(f"v{i}", emb(video(i, 10)), {}) for i in range(6)])
    errors, done = [], threading.Event()

    def reader():
        try:
            while not done.is_set():
                b = index.background(spec)
                assert b.vectors.shape[1:] == (1, 512) and len(b) <= spec.limit
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    for i in range(6, 30):
        index.add_embedding(f"v{i}", emb(video(i, 10)))
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors
    np.testing.assert_array_equal(index.background(spec).vectors, BackgroundCache(index.catalog).get(spec).vectors)


def test_short_matches_are_scored_down_by_their_length(index):
    rng = np.random.default_rng(8)
    refs = {f"r{i}": video(200 + i, 40) for i in range(6)}
    index.add_embeddings([(k, emb(v), {}) for k, v in refs.items()])
    basis = np.linalg.qr(np.concatenate(list(refs.values())).T)[0]
    x = rng.standard_normal((10, 512))
    noise = unit(x - (x @ basis) @ basis.T)
    near = unit(refs["r1"][5:9] + 0.02 * rng.standard_normal((4, 512)))  # a 4 s copy
    far = unit(refs["r3"][10:30] + 0.02 * rng.standard_normal((20, 512)))  # a 20 s copy
    q = emb(np.concatenate([noise[:5], near, noise[5:], far]))
    # random vectors meet by chance above the default chain threshold; this test is about scaling
    query = functools.partial(index.query, q, params={"min_sim": 0.3})
    plain = {m.ref_id: m for m in query(min_score=None, full_score_seconds=None)}
    scaled = {m.ref_id: m for m in query(min_score=None, full_score_seconds=8.0)}
    assert set(plain) == set(scaled) == {"r1", "r3"}
    assert scaled["r1"].score == pytest.approx(plain["r1"].score * 4 / 8)
    assert scaled["r3"].score == plain["r3"].score
    # the threshold applies to the chain's mean, before scaling: the short copy's scaled score
    # is below it and stays; between the two means only the higher one stays
    assert {m.ref_id for m in query(min_score=scaled["r1"].score * 1.5, full_score_seconds=8.0)} == {"r1", "r3"}
    lo, hi = sorted(plain.values(), key=lambda m: m.score)
    assert [m.ref_id for m in query(min_score=(lo.score + hi.score) / 2, full_score_seconds=8.0)] == [hi.ref_id]
    with pytest.raises(ValueError, match="full_score_seconds"):
        QueryOptions(full_score_seconds=0.0)
    options = QueryOptions(full_score_seconds=8.0, part_margin=0.3)
    assert QueryOptions.from_dict(options.to_dict()) == options
