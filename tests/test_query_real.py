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
