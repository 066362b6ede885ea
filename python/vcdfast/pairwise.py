"""Copied segments between two videos, without an index."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vcdfast.models import DEFAULT_MODEL
from vcdfast.query import (
    RAW_COSINE_PARAMS,
    AlignMethod,
    Match,
    Similarity,
    align_pairs,
    boxes_to_matches,
    default_similarity,
)

__all__ = ["compare"]


def compare(a, b, *, model=DEFAULT_MODEL, sampling=None, views=None, query_id: str | None = None,
            ref_id: str | None = None, method: AlignMethod | str = AlignMethod.TN, params: dict | None = None,
            similarity: Similarity | str | None = None, num_threads: int | None = None,
            embedder=None) -> tuple[list[Match], np.ndarray]:
    """Copied segments between two videos. a, b: paths or VideoEmbeddings (paths are embedded
    with `embedder`, else `model`, `views`, `sampling`). Returns (matches, similarity map
    (Ta, Tb) float32). Two files have no catalogue to normalise against, so TN aligns raw
    cosine with RAW_COSINE_PARAMS (updated with `params`)."""
    from vcdfast.decode import Sampling

    def embedding(x, given_id, fallback):
        if isinstance(x, (str, os.PathLike)):
            nonlocal embedder
            if embedder is None:
                from vcdfast.embed import Embedder
                from vcdfast.views import expand_views

                embedder = Embedder(model, views=expand_views(views if views is not None else ("full",)))
            emb = embedder.embed_video(x, sampling or Sampling())
            return emb, given_id if given_id is not None else Path(x).stem
        return x, given_id if given_id is not None else fallback

    ea, ida = embedding(a, query_id, "a")
    eb, idb = embedding(b, ref_id, "b")
    if ea.model.identity() != eb.model.identity() or ea.vectors.shape[1:] != eb.vectors.shape[1:]:
        raise ValueError(f"cannot compare {ida!r} and {idb!r}: embedded with different models or views")
    sim = Similarity(similarity) if similarity is not None else default_similarity(ea.vectors.shape[1])
    # the map the batch aligned and trimmed on, returned rather than computed again
    if AlignMethod(method) is AlignMethod.TN:
        params = {**RAW_COSINE_PARAMS, **(params or {})}
    [(boxes, scores)], [sim_map] = align_pairs(ea.vectors, [eb.vectors], method=AlignMethod(method), params=params,
                                               similarity=sim, num_threads=num_threads, return_maps=True)
    matches = boxes_to_matches(ida, idb, boxes, scores, ea.intervals(), eb.intervals())
    matches.sort(key=lambda m: -m.score)
    return matches, sim_map
