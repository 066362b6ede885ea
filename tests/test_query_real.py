"""The query defaults on real footage (tests/real_scene.py): copies with a flip and a
picture-in-picture inside pans over unrelated photographs are found at the right times, and
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
