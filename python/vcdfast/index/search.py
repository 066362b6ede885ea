"""The query path as stages, each callable on its own (bench/bench_index.py times them):

    search_frames      query vectors -> per vector the keys and scores of its nearest reference rows
    carry_insets       inset boxes its hits verify lent to the samples around them (vcdfast.carry),
                       their crops one more query view, searched too
    select_candidates  keys, scores (and the score normalisation's bias) -> the committed
                       videos with most votes
    load_candidates    videos -> their (T, V, D) matrices and timestamps (LevelDB)
    align_candidates   query, matrices -> boxes and scores per candidate (C++ batch)
    to_matches         boxes -> Matches in seconds
    reported           the matches options.min_score reports
    fit_lines          their reference spans refit to straight lines (vcdfast.lines)
    extend             their ends grown along those lines (vcdfast.lines.extend_ends)
    refine             their ends bisected between samples (vcdfast.refine)
    meet_cuts          their reference spans moved so the query's hard cuts meet the reference's
                       (vcdfast.cuts)

`query` runs them in that order with one vcdfast.query.QueryOptions (the defaults' one
home); `query_videos` is the video-level search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from vcdfast.carry import CARRIED_VIEW, carried_boxes
from vcdfast.cuts import meet_cuts
from vcdfast.index.catalog import Catalog, VideoMeta
from vcdfast.lines import extend_ends, fit_reference_lines
from vcdfast.normalise import query_bias
from vcdfast.query import (
    Match,
    QueryOptions,
    align_views,
    boxes_to_matches,
    frame_votes,
    intervals,
    scored_matches,
    vote,
)
from vcdfast.refine import Probe, refine_ends
from vcdfast.store import pool

# The query's alignment runs on one OpenMP thread unless the caller asks for more: its 5
# candidate pairs took 1.4 ms on one thread and 24-28 ms on a team of two (2 shared cores,
# load ~6: the team waits for its second thread), as faiss runs on one (store.embedded).
ALIGN_THREADS = 1

# (N,) times, (N, 4) boxes -> (descriptors (N, D) of the query frames on screen then, cut to
# the boxes, and (N,) found); see vcdfast.embed.Embedder.embed_crops
Crops = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

__all__ = ["ALIGN_THREADS", "Crops", "FirstStage", "VideoMatch", "align_candidates", "can_carry", "candidates",
           "carried_probe", "carry_insets", "extend", "fit_lines", "load_candidates", "query", "query_videos", "refine",
           "reported", "search_frames", "select_candidates", "to_matches"]

@dataclass(frozen=True)
class VideoMatch:
    """Video-level near-duplicate hit: cosine of the pooled descriptors."""

    query_id: str
    ref_id: str
    score: float


def search_frames(first_stage, vectors: np.ndarray, frame_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) or (T, V, D) query vectors -> (keys (N', K) int64, scores (N', K) float32): per
    query row its `frame_neighbours` nearest reference rows' video keys and similarities,
    padded with key -1 / score -inf (N' = N, or T * V)."""
    if frame_neighbours < 1:
        raise ValueError(f"frame_neighbours must be >= 1, got {frame_neighbours}")
    q = np.ascontiguousarray(vectors, np.float32).reshape(-1, vectors.shape[-1])
    return first_stage.search_frames(q, frame_neighbours)


def select_candidates(catalog: Catalog, keys: np.ndarray, scores: np.ndarray, options: QueryOptions,
                      frames: np.ndarray | None = None, bias: np.ndarray | None = None) -> list[VideoMeta]:
    """The options.candidates committed videos with most votes, most first: options.votes
    "frame" (vcdfast.query.frame_votes over `frames`, each row's query frame, and `bias`, its
    normalisation) or "sum" (query.vote). Hits on videos being written or removed are ignored."""
    if options.votes == "frame":
        frames = np.arange(len(keys)) if frames is None else frames
        ranked = frame_votes(frames, keys, scores, bias)[0]
    else:
        ranked = vote(keys, scores)[0]
    out = []
    for key in ranked.tolist():
        meta = catalog.committed(key)
        if meta is not None:
            out.append(meta)
            if len(out) == options.candidates:
                break
    return out


def load_candidates(catalog: Catalog, metas: Sequence[VideoMeta]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each candidate's (vectors (T, V, D) float32, timestamps (T,) float64)."""
    return [catalog.matrix(m.key) for m in metas]


def align_candidates(query_vectors: np.ndarray, refs: Sequence[np.ndarray], options: QueryOptions,
                     bias: np.ndarray | None = None,
                     num_threads: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per reference (boxes (N, 4) int64 [q_start, r_start, q_end, r_end], scores (N,)): the
    query's views against each reference, aligned and trimmed on one map per pair
    (vcdfast.query.align_views), on `num_threads` threads (None: ALIGN_THREADS)."""
    return align_views(query_vectors, list(refs), bias, options, num_threads or ALIGN_THREADS)


def to_matches(query_id: str, query_intervals: np.ndarray, metas: Sequence[VideoMeta], timestamps: Sequence[np.ndarray],
               found: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[Match]:
    """Frame boxes -> Matches in seconds, candidate by candidate (vcdfast.query.scored_matches
    scores, keeps and orders them)."""
    matches: list[Match] = []
    for meta, ts, (boxes, scores) in zip(metas, timestamps, found):
        matches += boxes_to_matches(query_id, meta.id, boxes, scores, query_intervals,
                                    intervals(ts, meta.last_end, meta.duration))
    return matches


@dataclass
class FirstStage:
    """A query as the first stage leaves it: emb, its descriptors (with the carried-inset view
    when any sample has a carried box); bias (T, V), their normalisation (None: none); hits
    (rows (N,), the query sample of each searched row; keys, scores (N, K)); carried (T, 4),
    the carried boxes (NaN: none; None: not carried)."""

    emb: object
    bias: np.ndarray | None
    rows: np.ndarray
    keys: np.ndarray
    scores: np.ndarray
    carried: np.ndarray | None = None


def carry_insets(first_stage, hits: FirstStage, options: QueryOptions, background, crops: Crops) -> FirstStage:
    """The query with the inset boxes its hits verify carried to the samples around them
    (vcdfast.carry, options.carry_min_sim): their crops (`crops`) are one more view, whose
    rows are searched and added to the hits; the query as it was where no box is carried."""
    emb = hits.emb
    t, v = emb.vectors.shape[:2]
    top1 = hits.scores[:, 0].reshape(t, v) - (0.0 if hits.bias is None else hits.bias)
    k_inset = emb.views.index("inset")
    carried = carried_boxes(emb.insets, top1[:, k_inset], top1[:, emb.views.index("full")], options.carry_min_sim)
    todo = np.flatnonzero(np.isfinite(carried).all(axis=1))
    if len(todo):
        vectors, found = crops(emb.timestamps[todo], carried[todo])
        carried[todo[~found]] = np.nan
        todo, vectors = todo[found], vectors[found]
    if not len(todo):
        return replace(hits, carried=carried)
    extra = np.array(emb.vectors[:, k_inset], np.float32)
    extra[todo] = vectors
    bias = query_bias(background, extra[:, None], (CARRIED_VIEW,), options.part_margin)
    if hits.bias is not None or bias is not None:
        bias = np.concatenate([np.zeros((t, v), np.float32) if hits.bias is None else hits.bias,
                               np.zeros((t, 1), np.float32) if bias is None else bias], axis=1)
    keys, scores = search_frames(first_stage, extra[todo], options.frame_neighbours)
    return FirstStage(emb=replace(emb, vectors=np.concatenate([emb.vectors, extra[:, None]], axis=1),
                                  views=(*emb.views, CARRIED_VIEW)),
                      bias=bias, rows=np.concatenate([hits.rows, todo]), keys=np.concatenate([hits.keys, keys]),
                      scores=np.concatenate([hits.scores, scores]), carried=carried)


def can_carry(emb, options: QueryOptions) -> bool:
    """Whether options carry insets and the query has what it takes: its inset boxes, and the
    inset and whole-frame views."""
    return (options.carry_min_sim is not None and emb.insets is not None
            and "inset" in emb.views and "full" in emb.views)


def candidates(first_stage, catalog: Catalog, emb, options: QueryOptions, background=None,
               crops: Crops | None = None) -> tuple[list[VideoMeta], FirstStage]:
    """search_frames (carry_insets when options carry them and `crops` is given) and
    select_candidates for a query embedding (T, V, D) -> (candidates, the query as the first
    stage leaves it). `background` and options.part_margin give each query descriptor its
    bias (vcdfast.normalise.query_bias)."""
    q = np.ascontiguousarray(emb.vectors, np.float32)
    t, v, _ = q.shape
    keys, scores = search_frames(first_stage, q, options.frame_neighbours)
    hits = FirstStage(emb, query_bias(background, q, emb.views, options.part_margin), np.repeat(np.arange(t), v),
                      keys, scores)
    if crops is not None and can_carry(emb, options):
        hits = carry_insets(first_stage, hits, options, background, crops)
    metas = select_candidates(catalog, hits.keys, hits.scores, options, hits.rows,
                              None if hits.bias is None else hits.bias[hits.rows, _row_views(hits, v)])
    return metas, hits


def _row_views(hits: FirstStage, v: int) -> np.ndarray:
    """The view of each searched row: the query's views in order, then the carried view."""
    t = len(hits.emb.timestamps)
    return np.concatenate([np.tile(np.arange(v), t), np.full(len(hits.rows) - t * v, v)])


def reported(matches: list[Match], options: QueryOptions) -> list[Match]:
    """The matches whose chain's mean reaches options.min_score (the later stages' input)."""
    return [m for m in matches if options.min_score is None or m.score >= options.min_score]


def _by_id(metas: Sequence[VideoMeta], refs: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict:
    return {meta.id: (vectors, ts, meta.last_end) for meta, (vectors, ts) in zip(metas, refs)}


def fit_lines(matches: list[Match], emb, metas: Sequence[VideoMeta], refs: Sequence[tuple[np.ndarray, np.ndarray]],
              options: QueryOptions, bias: np.ndarray | None) -> list[Match]:
    """The matches' reference spans on their boxes' best lines (vcdfast.lines,
    options.speed_prior), on the map the alignment saw (`bias`: the query's)."""
    return fit_reference_lines(matches, np.ascontiguousarray(emb.vectors, np.float32), emb.timestamps, bias,
                               _by_id(metas, refs), options.speed_prior)


def extend(matches: list[Match], emb, metas: Sequence[VideoMeta], refs: Sequence[tuple[np.ndarray, np.ndarray]],
           options: QueryOptions, bias: np.ndarray | None) -> list[Match]:
    """The matches' ends grown along their lines (vcdfast.lines.extend_ends,
    options.extend_min_sim), on the map the alignment saw."""
    return extend_ends(matches, np.ascontiguousarray(emb.vectors, np.float32), emb.timestamps, emb.intervals(), bias,
                       _by_id(metas, refs), options.extend_min_sim)


def refine(matches: list[Match], emb, metas: Sequence[VideoMeta], refs: Sequence[tuple[np.ndarray, np.ndarray]],
           options: QueryOptions, background, probe: Probe) -> list[Match]:
    """The matches' ends bisected options.refine_steps times with `probe`, the query's
    descriptors at any times (vcdfast.refine)."""
    return refine_ends(matches, np.ascontiguousarray(emb.vectors, np.float32), emb.timestamps, _by_id(metas, refs),
                       probe, lambda v: query_bias(background, v, emb.views, options.part_margin),
                       options.alignment_params()["min_sim"], options.refine_steps)


def carried_probe(probe: Probe, crops: Crops, hits: FirstStage) -> Probe:
    """`probe` for a query with a carried-inset view: that view (the last) is probed with the
    box carried to the nearer of the two samples around the time (the other when the nearer has
    none), or with the sample's own inset where neither has one."""
    emb = hits.emb
    k_carried, k_inset, times_q = len(emb.views) - 1, emb.views.index("inset"), emb.timestamps

    def probe_carried(times: np.ndarray, views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        times, views = np.asarray(times, np.float64), np.asarray(views)
        boxes = np.full((len(times), 4), np.nan, np.float32)
        for i, t in enumerate(times.tolist()):
            if views[i] != k_carried:
                continue
            j = int(np.clip(np.searchsorted(times_q, t), 1, max(1, len(times_q) - 1)))
            for k in sorted({j - 1, min(j, len(times_q) - 1)}, key=lambda k: abs(times_q[k] - t)):
                if np.isfinite(hits.carried[k]).all():
                    boxes[i] = hits.carried[k]
                    break
        cut = np.isfinite(boxes).all(axis=1)
        out = np.full((len(times), k_carried + 1, emb.vectors.shape[2]), np.nan, np.float32)
        found = np.zeros(len(times), bool)
        if (~cut).any():
            own = np.where(views[~cut] == k_carried, k_inset, views[~cut])
            vectors, found[~cut] = probe(times[~cut], own)
            out[~cut, :k_carried] = vectors
            out[~cut, k_carried] = vectors[:, k_inset]
        if cut.any():
            out[cut, k_carried], found[cut] = crops(times[cut], boxes[cut])
        return out, found

    return probe_carried


def query(first_stage, catalog: Catalog, emb, query_id: str, options: QueryOptions, background=None,
          num_threads: int | None = None, probe: Probe | None = None, crops: Crops | None = None) -> list[Match]:
    """All the stages for one query embedding (T, V, D): `background` (vcdfast.normalise,
    when options.background is set) gives each query descriptor its bias; `probe` (None:
    no refinement) the query's descriptors between its samples; `crops` (None: no carried
    insets) its frames cut to boxes."""
    metas, hits = candidates(first_stage, catalog, emb, options, background, crops)
    emb, bias = hits.emb, hits.bias
    q = np.ascontiguousarray(emb.vectors, np.float32)
    refs = load_candidates(catalog, metas)
    found = align_candidates(q, [m for m, _ in refs], options, bias, num_threads)
    matches = reported(to_matches(query_id, emb.intervals(), metas, [ts for _, ts in refs], found), options)
    if options.speed_prior is not None:
        matches = fit_lines(matches, emb, metas, refs, options, bias)
    if options.extend_min_sim is not None:
        matches = extend(matches, emb, metas, refs, options, bias)
    if probe is not None and options.refine_steps:
        if CARRIED_VIEW in emb.views:
            probe = carried_probe(probe, crops, hits)
        matches = refine(matches, emb, metas, refs, options, background, probe)
    if options.cut_window is not None:
        matches = meet_cuts(matches, emb.info.cuts, {m.id: m.cuts for m in metas}, options.cut_window,
                            durations={m.id: m.duration for m in metas})
    return scored_matches(matches, full_score_seconds=options.full_score_seconds, min_score=options.min_score)


def query_videos(first_stage, catalog: Catalog, emb, query_id: str, top_n: int) -> list[VideoMatch]:
    """The `top_n` committed videos whose pooled descriptor is nearest the query's."""
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    q = pool(emb.vectors)[None, :]
    fetch = top_n
    while True:
        keys, scores = first_stage.search_videos(q, fetch)
        out = []
        for key, score in zip(keys[0].tolist(), scores[0].tolist()):
            meta = catalog.committed(key) if key >= 0 else None
            if meta is not None:
                out.append(VideoMatch(query_id, meta.id, float(score)))
        # hits on videos being written or removed were dropped: ask for more while there may be more
        if len(out) >= top_n or keys[0, -1] < 0:
            return out[:top_n]
        fetch *= 2
