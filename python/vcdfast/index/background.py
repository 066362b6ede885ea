"""The background of an index's score normalisation (vcdfast.normalise): descriptors drawn
from its committed videos, kept until the catalogue changes."""

from __future__ import annotations

from vcdfast.index.catalog import Catalog

__all__ = ["BackgroundCache"]


class BackgroundCache:
    """One Background at a time, drawn from the committed videos in key order (keys are
    hashes: a fixed, content-blind sample), limit // per_video videos spread over the
    catalogue, and drawn again once the spec or the catalogue (Catalog.generation) changes."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._cached = None  # (spec, catalogue generation, Background)

    def get(self, spec):
        """The Background of a vcdfast.normalise.BackgroundSpec; None for None (raw scores)."""
        from vcdfast.normalise import Background

        if spec is None:
            return None
        cached = self._cached
        generation = self.catalog.generation  # read first: a write while sampling makes this stale
        if cached is None or cached[0] != spec or cached[1] != generation:
            keys = sorted(m.key for m in self.catalog.videos())
            want = max(1, spec.limit // spec.frames_per_video(len(keys)))
            chosen = keys[::max(1, len(keys) // want)][:want]
            background = Background.sample([self.catalog.matrix(k)[0] for k in chosen], spec, videos=len(keys))
            self._cached = cached = (spec, generation, background)
        return cached[2]
