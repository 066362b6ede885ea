"""The background of an index's score normalisation (vcdfast.normalise): descriptors drawn
from its first committed videos in key order, updated as the catalogue changes."""

from __future__ import annotations

import threading
from itertools import islice

import numpy as np

from vcdfast.index.catalog import Catalog

__all__ = ["BackgroundCache"]


class BackgroundCache:
    """One Background at a time, from the committed videos that come first in key order: keys
    are hashes, so they are a uniform, content-blind sample, and an added or removed video
    changes it only if it is one of them (about limit / per_video videos; at 100k videos one add
    in a hundred). Each sampled video's frames are kept, so a change reads only the matrices of
    the videos that joined the sample: a writer that adds and queries in turn does not redraw
    the background (~20 s of matrix reads at 100k videos) after every add."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._lock = threading.Lock()  # threads sharing an Index query at once
        self._cached = None  # (spec, catalogue generation, sample, Background)
        self._frames: dict = {}  # sample entry -> its frames, for the (spec, frames per video) in _frames_for
        self._frames_for = None

    def get(self, spec):
        """The Background of a vcdfast.normalise.BackgroundSpec; None for None (raw scores)."""
        if spec is None:
            return None
        generation = self.catalog.generation  # read first: a write while sampling makes this stale
        cached = self._cached
        if cached is not None and cached[0] == spec and cached[1] == generation:
            return cached[3]
        with self._lock:
            return self._redraw(spec, generation)

    def _redraw(self, spec, generation: int):
        from vcdfast.normalise import Background, background_rows

        cached = self._cached
        # the catalogue's size matters only below limit / per_video videos (frames_per_video)
        head = list(islice(self.catalog.videos(), spec.limit // spec.per_video + 1))
        per_video = spec.frames_per_video(len(head))
        sample = [(m.key, m.rev) for m in head[:max(1, spec.limit // per_video)]]  # rev: a replaced video differs
        if cached is not None and cached[0] == spec and cached[2] == sample:
            self._cached = (spec, generation, sample, cached[3])
            return cached[3]
        kept = self._frames if self._frames_for == (spec, per_video) else {}
        frames = {entry: kept.get(entry) for entry in sample}
        for entry, rows in frames.items():
            if rows is None:
                frames[entry] = background_rows(self.catalog.matrix(entry[0])[0], per_video)
        self._frames, self._frames_for = frames, (spec, per_video)
        rows = [r for r in frames.values() if len(r)]
        background = Background(np.concatenate(rows)[:spec.limit] if rows else np.zeros((0, 0), np.float32), spec)
        self._cached = (spec, generation, sample, background)
        return background
