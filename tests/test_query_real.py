"""The query defaults on real footage (tests/real_scene.py): copies with a flip, as a
picture-in-picture and in a stacked composition, inside pans over unrelated photographs, are
found at the right times, and
a query of unrelated photographs matches nothing. This is where the defaults are held to
account in the tests (bench/sweep_query.py --check-real applies the same check to the
settings it ranks); the generated-video tests check mechanics with options of their own."""

from __future__ import annotations

import pytest
import real_scene

from vcdfast.index import Index


@pytest.fixture(scope="module")
def real(opencv_doc, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    scene = real_scene.build(root)
    ix = Index.open(root / "ix")
    ix.add(scene.references, progress=False)
    yield ix, scene
    ix.close()


def test_real_copies_are_found_at_their_times(real):
    ix, scene = real
    matches = ix.query(scene.query)
    assert matches
    assert real_scene.check(matches, []) == [], matches


def test_real_unrelated_query_matches_nothing(real):
    ix, scene = real
    assert ix.query(scene.unrelated) == []


def test_real_stacked_copy_is_seen_by_the_halves_view(real):
    """The stacked copy's rows against the reference frames they copy: the halves view (top and
    bottom here) matches them closely, the left/right halves do not."""
    import numpy as np

    from vcdfast.embed import Embedder

    _, scene = real
    q0, q1, ref, r0 = real_scene.COPIES[2]
    q = Embedder("sscd-mobile", views=("1x2", "halves")).embed_video(scene.query)
    r = Embedder("sscd-mobile").embed_video(next(p for p in scene.references if p.stem == ref))
    rows = np.flatnonzero((q.timestamps >= q0) & (q.timestamps < q1))
    cols = [int(np.argmin(np.abs(r.timestamps - (r0 + q.timestamps[i] - q0)))) for i in rows]
    sim = np.einsum("tvd,td->tv", q.vectors[rows], r.vectors[cols, 0])
    halves, left_right = np.median(sim[:, 2:].max(axis=1)), np.median(sim[:, :2].max(axis=1))
    assert halves > 0.6 and halves > left_right + 0.3, sim


def test_carried_insets_are_cut_searched_and_aligned_as_one_more_view(real):
    """With carry_min_sim, the samples vcdfast.carry picks from the first stage's hits get the
    verified box's crop as the "inset-carried" view (their own inset elsewhere), those rows are
    searched with the others, and the copies are still found where they are."""
    import numpy as np

    from vcdfast.carry import carried_boxes
    from vcdfast.index import search
    from vcdfast.query import QueryOptions

    ix, scene = real
    emb = ix.embed_query(scene.query)
    options = QueryOptions(carry_min_sim=0.3)
    crops = ix._embedders.crops(emb)
    _, hits = search.candidates(ix.first_stage, ix.catalog, emb, options, ix.background(options.background), crops)
    t, v = emb.vectors.shape[:2]
    top1 = hits.scores[:t * v, 0].reshape(t, v) - hits.bias[:, :v]
    want = carried_boxes(emb.insets, top1[:, emb.views.index("inset")], top1[:, emb.views.index("full")], 0.3)
    np.testing.assert_array_equal(hits.carried, want)
    lent = np.flatnonzero(np.isfinite(want).all(axis=1))
    assert len(lent), "the picture-in-picture copy's box is lent to samples around it"
    assert hits.emb.views == (*emb.views, "inset-carried")
    cut, found = crops(emb.timestamps[lent], want[lent])
    assert found.all()
    np.testing.assert_allclose(hits.emb.vectors[lent, v], cut, atol=1e-5)
    kept = np.setdiff1d(np.arange(t), lent)
    np.testing.assert_array_equal(hits.emb.vectors[kept, v], emb.vectors[kept, emb.views.index("inset")])
    np.testing.assert_array_equal(hits.rows[t * v:], lent)
    np.testing.assert_array_equal(hits.keys[t * v:], search.search_frames(ix.first_stage, cut,
                                                                          options.frame_neighbours)[0])
    # the ends' refinement probes the carried view with the box of the nearer sample that has one
    probe = search.carried_probe(ix._embedders.probe(emb), crops, hits)
    j = int(lent[0])
    near_lent = (emb.timestamps[j] + emb.timestamps[j + 1]) / 2 - 0.1  # nearer sample j
    far = (emb.timestamps[j - 1] + emb.timestamps[j]) / 2 + 0.1 if j > 0 and np.isnan(want[j - 1]).all() else None
    times = np.array([near_lent] + ([] if far is None else [far]))
    got, found = probe(times, np.full(len(times), v))
    assert found.all()
    np.testing.assert_allclose(got[0, v], crops(times[:1], want[j:j + 1])[0][0], atol=1e-5)
    own, _ = ix._embedders.probe(emb)(times[:1], np.array([emb.views.index("inset")]))
    assert not np.allclose(got[0, v], own[0, emb.views.index("inset")], atol=1e-3)
    if far is not None:  # nearer to j - 1, which has none, so j's box
        np.testing.assert_allclose(got[1, v], crops(times[1:], want[j:j + 1])[0][0], atol=1e-5)
    k = next(k for k in range(t - 1) if np.isnan(want[k:k + 2]).all())  # neither sample around has a box
    between = np.array([(emb.timestamps[k] + emb.timestamps[k + 1]) / 2])
    got, _ = probe(between, np.array([v]))
    own, _ = ix._embedders.probe(emb)(between, np.array([emb.views.index("inset")]))
    np.testing.assert_allclose(got[0, v], own[0, emb.views.index("inset")], atol=1e-5)
    matches = ix.query(emb, options=options)
    assert real_scene.check(matches, []) == [], matches
