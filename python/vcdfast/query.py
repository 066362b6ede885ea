"""From a query's descriptors to matches: candidate selection by frame votes, then
similarity + temporal alignment of the query against each candidate (C++ batch entry
point), then frame boxes to seconds.

Everything here takes arrays; the index (vcdfast.index) does the I/O.
"""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from vcdfast.normalise import DEFAULT_BACKGROUND, BackgroundSpec

__all__ = ["RAW_COSINE_PARAMS", "SEED_RECIPE", "AlignMethod", "Match", "QueryOptions", "Similarity", "align_pairs",
           "align_views", "boxes_to_matches", "frame_votes", "intervals", "method_params", "scored_matches",
           "similarity_map", "suppress_overlaps", "vote"]


class AlignMethod(str, enum.Enum):
    TN = "tn"
    DP = "dp"
    DTW = "dtw"
    HV = "hv"
    CHAIN = "chain"


class Similarity(str, enum.Enum):
    COSINE = "cosine"  # one view per frame
    CHAMFER_ASYMMETRIC = "chamfer_asymmetric"
    CHAMFER_SYMMETRIC = "chamfer_symmetric"
    # query-side views (Tq, Vq, D) against (Tr, W, D): the max over the query's views and the
    # reference's, after subtracting an optional per-(frame, view) query bias
    QUERY_VIEW_MAX = "query_view_max"


@dataclass(frozen=True)
class Match:
    """A copied segment: times in seconds (VSC 2022 CSV columns, in this order) and, when
    known, the inclusive frame box in VCSL's order [q_start, r_start, q_end, r_end]."""

    query_id: str
    ref_id: str
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float
    frames: tuple[int, int, int, int] | None = None

    CSV_FIELDS = ("query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end", "score")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["frames"] = list(self.frames) if self.frames is not None else None
        return d


def intervals(timestamps: np.ndarray, last_end: float, video_end: float | None = None) -> np.ndarray:
    """(T, 2) [start, end) per descriptor, the one rule for where a segment ends: a sampled
    frame stands for the moments nearer to it than to any other sample, so intervals meet
    halfway between timestamps; the first reaches back half its gap to the next (not before
    0), the last forward half its gap to the previous, or to `video_end` (where the video
    ends, None: unknown) when the video ends before or where the next sample would come; never
    past `last_end` (VideoEmbedding.last_end(), recorded at ingest as VideoMeta.last_end). A
    copy's first and last sampled frames lie up to a sampling step inside its true ends: on the
    tuning split of bench/make_dataset.py (1 fps) this rule raised VCSL F1 from 0.740 to 0.788
    against intervals that start at each timestamp."""
    t = np.asarray(timestamps, np.float64)
    out = np.empty((len(t), 2), np.float64)
    if not len(t):
        return out
    mid = (t[:-1] + t[1:]) / 2
    gap_first = t[1] - t[0] if len(t) > 1 else last_end - t[0]
    gap_last = t[-1] - t[-2] if len(t) > 1 else last_end - t[-1]
    out[1:, 0], out[:-1, 1] = mid, mid
    out[0, 0] = max(0.0, t[0] - gap_first / 2)
    if video_end is not None and t[-1] < video_end <= t[-1] + gap_last + 1e-9:
        out[-1, 1] = min(video_end, last_end)  # no sample comes after the last: the moments to the end are its own
    else:
        out[-1, 1] = min(t[-1] + gap_last / 2, last_end)
    return out


def vote(keys: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the scores of every hit per video key; keys by decreasing vote. Padding hits
    (key -1) are ignored."""
    keys, scores = keys.ravel(), scores.ravel()
    ok = keys >= 0
    uniq, inv = np.unique(keys[ok], return_inverse=True)
    total = np.bincount(inv, weights=scores[ok].astype(np.float64), minlength=len(uniq))
    order = np.argsort(-total, kind="stable")
    return uniq[order], total[order]


def frame_votes(frames: np.ndarray, keys: np.ndarray, scores: np.ndarray, bias: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Votes per video from first-stage hits of query descriptors (rows: views of frames).
    frames (N,): the query frame of each row; keys, scores (N, K): its hits (key -1: padding);
    bias (N,): subtracted from its scores (vcdfast.normalise). A video's vote is the sum over
    query frames of the frame's best normalised hit in that video, counted when > 0: one vote
    per frame, so a long static shot (many near-identical reference frames) or a query frame
    seen through several views does not outvote a copy by repetition. Keys by decreasing vote."""
    keys = np.asarray(keys)
    k = keys.shape[1]
    s = np.asarray(scores, np.float64) - (0.0 if bias is None else np.asarray(bias, np.float64)[:, None])
    f = np.repeat(np.asarray(frames, np.int64), k)
    keys, s = keys.ravel(), s.ravel()
    ok = (keys >= 0) & (s > 0)
    keys, s, f = keys[ok], s[ok], f[ok]
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    uniq, video = np.unique(keys, return_inverse=True)
    pair = f * len(uniq) + video
    order = np.lexsort((-s, pair))
    _, first = np.unique(pair[order], return_index=True)
    best = order[first]
    total = np.bincount(video[best], weights=s[best], minlength=len(uniq))
    rank = np.argsort(-total, kind="stable")
    return uniq[rank], total[rank]


def default_similarity(views: int) -> Similarity:
    return Similarity.COSINE if views == 1 else Similarity.CHAMFER_SYMMETRIC


@dataclass(frozen=True)
class QueryOptions:
    """How a query runs, stage by stage; the defaults are the query defaults, chosen with the
    model (sscd-mobile) on the tuning split of bench/make_dataset.py (120 queries) by
    bench/sweep_query.py --check-real (BENCHMARKS.md): the best setting under the sweep's rule
    that also passes tests/test_query_real.py's real-footage check. Full, flip, the detected
    inset, the halves of a split screen, top/bottom or left/right as each frame is divided (no
    margin: the seam test keeps them off whole frames), and the blend of the whole frame and its
    centre; the chain method (each query frame in at most one box per reference, a stall cost on
    chains that stand still in the reference; cells from 0.15), well above TN with trimming; a
    chain's mean similarity of at least 0.2 reported, its score scaled down below 12 s of query
    for ranking; each box's reference span refit to its best straight line, its ends grown along
    it while the line's cells reach 0.1, then bisected between samples; inset boxes verified by
    a match carried to the samples around them. The min score and the carried insets were chosen
    on the 240-query tuning split by bench/requery.py --grid under the same rule (carried
    insets: objective 0.8894 against 0.8858 at min score 0.2; 0.2 flags 7 of its 120 copy-free
    queries at the rule's margin, 0.15, and 0.22 flags 5 at 0.17). The query's blend view (the
    index's own descriptor, vcdfast.views) was added on the 240-query tuning split against the
    blended index by bench/requery.py --grid under the same rule (objective 0.9007 against
    0.8989; BENCHMARKS.md, session 28): a copy that keeps the whole picture meets the
    reference's descriptor with its own, which the whole frame alone does not (held out: F1
    +0.004 / -0.010, inside the noise). The min score moved to 0.2 with the index's second
    reference descriptor (vcdfast.index.settings.DEFAULT_INDEX_VIEWS), chosen together by
    bench/requery.py --grid under the same rule (BENCHMARKS.md, session 32): objective 0.9096
    against 0.9007 (0.2 flags 6 of the 120 copy-free queries at the margin, 0.15). The reference
    spans' move onto the cuts inside them, and its 1-s window, were chosen on the 240-query tuning
    split by bench/requery.py --grid under the same rule (BENCHMARKS.md, session 36): objective
    0.9277 against 0.9097 without (0.9195 / 0.9269 at 0.5 / 0.75 s).

    views: the query-side views embedded when the index decodes the query itself (a
      VideoEmbedding passed in is queried with the views it has); the index keeps one or a few
      views per reference frame, and a frame pair's similarity is the best over the query's
      views and the reference's.
    part_margin: added to the bias of the fixed parts of the frame (halves "halves", "1x2",
      "2x1", quarters "2x2"; vcdfast.normalise.query_bias): a part of a frame matches by
      chance more easily than the whole frame (or a detected inset) does.
    frame_neighbours: nearest reference frames searched per query descriptor.
    candidates: reference videos aligned per query, by decreasing vote.
    background: score normalisation (vcdfast.normalise); None: raw cosine.
    votes: "frame" (vcdfast.query.frame_votes: one vote per query frame and video, on
      normalised scores) or "sum" (every hit's raw score, the seeds' vote).
    method, params: the alignment method, and parameters that replace its query defaults
      (`method_params`: the C++ table's "query" preset, cpp/include/vcdfast/align_params.hpp);
      "trim_sim" (None: no trimming) and "trim_gap" cut any method's boxes to chains and
      rescore them (the chain method's boxes are chains already).
    full_score_seconds: a match whose query side is shorter has its score scaled by its
      length over this, after min_score (vcdfast.query.scored_matches); None: a match's score
      is its chain's mean similarity, whatever its length.
    min_score: matches whose chain's mean similarity is below it are not reported (None: all).
    speed_prior: the reported boxes' reference spans are refit to the straight line that fits
      the map best (vcdfast.lines), with this cost in similarity per octave of speed away from
      1x; None: a box keeps its chain's reference samples.
    extend_min_sim: each reported box's ends then grow along its line by up to a few query
      samples (vcdfast.lines.extend_ends) while the line's cell there reaches this, on the
      alignment's map (normalised when `background` is set; a floor for raw cosine would
      sit far higher); None: they stay where the chain ended.
    refine_steps: bisections of each reported box end between samples (vcdfast.refine), on
      frames decoded again from the query's file (VideoEmbedding.info.path) when it is
      there; 0: the ends stay halfway between samples. Four reach 1/32 s at 1 fps (about a
      frame); the sweep's table gives their quality and CPU on the tuning split.
    carry_min_sim: an inset box whose crop's best normalised first-stage hit reaches this
      (and beats the whole frame's by vcdfast.carry.MARGIN) is lent to the samples around it
      whose own box is missing or smaller, as one more query view (vcdfast.carry), on frames
      decoded again from the query's file; None: no box is carried.
    cut_window: each reported box's reference span then moves along its line so that the
      query's hard cuts inside it meet the reference's (vcdfast.cuts.meet_cuts), by at most
      this many seconds; None, or a video whose cuts were not looked for (an index built
      before they were): the span stays where the line put it.
    """

    views: tuple[str, ...] = ("full", "flip", "inset", "halves", "blend")
    part_margin: float = 0.0
    frame_neighbours: int = 64
    candidates: int = 5
    background: BackgroundSpec | None = DEFAULT_BACKGROUND
    votes: str = "frame"
    method: AlignMethod = AlignMethod.CHAIN
    params: dict = field(default_factory=dict)
    full_score_seconds: float | None = 12.0
    min_score: float | None = 0.2
    speed_prior: float | None = 0.05
    extend_min_sim: float | None = 0.1
    refine_steps: int = 4
    carry_min_sim: float | None = 0.3
    cut_window: float | None = 1.0

    def __post_init__(self):
        from vcdfast.views import expand_views

        expand_views(self.views)
        if self.frame_neighbours < 1 or self.candidates < 1:
            raise ValueError(f"frame_neighbours and candidates must be >= 1, got {self.frame_neighbours}, "
                             f"{self.candidates}")
        if not 0 <= self.part_margin < float("inf"):
            raise ValueError(f"part_margin must be finite and >= 0, got {self.part_margin}")
        if self.full_score_seconds is not None and not 0 < self.full_score_seconds < float("inf"):
            raise ValueError(f"full_score_seconds must be finite and > 0 (or None), got {self.full_score_seconds}")
        if self.speed_prior is not None and not 0 <= self.speed_prior < float("inf"):
            raise ValueError(f"speed_prior must be finite and >= 0 (or None), got {self.speed_prior}")
        if self.extend_min_sim is not None and not np.isfinite(self.extend_min_sim):
            raise ValueError(f"extend_min_sim must be finite (or None), got {self.extend_min_sim}")
        if isinstance(self.refine_steps, bool) or not isinstance(self.refine_steps, int) or self.refine_steps < 0:
            raise ValueError(f"refine_steps must be an int >= 0, got {self.refine_steps!r}")
        if self.carry_min_sim is not None and not np.isfinite(self.carry_min_sim):
            raise ValueError(f"carry_min_sim must be finite (or None), got {self.carry_min_sim}")
        if self.cut_window is not None and not 0 < self.cut_window < float("inf"):
            raise ValueError(f"cut_window must be finite and > 0 (or None), got {self.cut_window}")
        if self.votes not in ("frame", "sum"):
            raise ValueError(f"votes must be 'frame' or 'sum', got {self.votes!r}")
        object.__setattr__(self, "method", AlignMethod(self.method))

    def alignment_params(self) -> dict:
        """Every parameter of the method, as this query uses it."""
        return method_params(self.method, self.params)

    def to_dict(self) -> dict:
        """JSON-ready fields (from_dict reads them back)."""
        return {"views": list(self.views), "part_margin": self.part_margin, "frame_neighbours": self.frame_neighbours,
                "candidates": self.candidates,
                "background": None if self.background is None else asdict(self.background), "votes": self.votes,
                "method": self.method.value, "params": dict(self.params),
                "full_score_seconds": self.full_score_seconds, "min_score": self.min_score,
                "speed_prior": self.speed_prior, "extend_min_sim": self.extend_min_sim,
                "refine_steps": self.refine_steps, "carry_min_sim": self.carry_min_sim, "cut_window": self.cut_window}

    @classmethod
    def from_dict(cls, fields_: dict) -> QueryOptions:
        """Options from a dict of field names (the others keep their defaults), e.g. parsed JSON."""
        unknown = sorted(set(fields_) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown query options {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        given = dict(fields_)
        if "views" in given:
            given["views"] = tuple(given["views"])
        if given.get("background") is not None:
            given["background"] = BackgroundSpec(**given["background"])
        return cls(**given)


# The seeds' recipe (1 fps, one whole-frame view, per-frame top-64, 5 candidates by summed
# raw scores, VCSL TN with the kernel's defaults = towhee's, boxes as TN leaves them): the
# baseline every benchmark table carries.
# TN's values for maps of raw cosine, where no background normalises them (vcdfast.pairwise.compare
# of two files; the generated-scene options of vcdfast.synthetic): the query defaults before
# normalisation, chosen on the earlier 10-reference real-footage set (BENCHMARKS.md, history).
RAW_COSINE_PARAMS = {"max_step": 7, "min_sim": 0.35, "min_length": 3, "trim_sim": 0.6}


def _kernel_defaults(method: str) -> dict:
    from vcdfast.align import defaults

    return defaults(method)


SEED_RECIPE = QueryOptions(views=("full",), frame_neighbours=64, candidates=5, background=None, votes="sum",
                           method=AlignMethod.TN, params=_kernel_defaults("tn"), full_score_seconds=None,
                           min_score=None, speed_prior=None, extend_min_sim=None, refine_steps=0, cut_window=None)


def method_params(method: AlignMethod, params: dict | None) -> dict:
    """The query defaults for `method` (`vcdfast.align.defaults(method, preset="query")`; the
    values and why they were chosen live in cpp/include/vcdfast/align_params.hpp), updated with
    `params`. "trim_sim": None turns trimming off."""
    from vcdfast.align import defaults

    out = defaults(AlignMethod(method).value, preset="query")
    out.update(params or {})
    return out


def align_pairs(query: np.ndarray, refs: list[np.ndarray], *, method: AlignMethod = AlignMethod.TN,
                params: dict | None = None, similarity: Similarity | None = None, bias: np.ndarray | None = None,
                num_threads: int | None = None, return_maps: bool = False):
    """Similarity + alignment + trimming of one (Tq, V, D) query against each (Tr, W, D)
    reference, each map computed once (pairs in parallel in C++) -> per reference (boxes (N, 4)
    int64, scores (N,) float32); with `return_maps`, (that list, the (Tq, Tr) maps). `params`
    update the method's query defaults (`method_params`). `bias` (float32 (Tq, Vq)) goes with
    Similarity.QUERY_VIEW_MAX only."""
    from vcdfast.align import align_batch

    if not refs:
        return ([], []) if return_maps else []
    sim = Similarity(similarity) if similarity is not None else default_similarity(query.shape[1])
    found = align_batch(query, refs, similarity=sim.value, method=AlignMethod(method).value,
                        params=method_params(method, params), bias=bias,
                        num_threads=num_threads or os.cpu_count() or 1, return_maps=return_maps)
    if return_maps:
        segments, maps = found
        return [(b, s) for b, s in segments], maps
    return [(b, s) for b, s in found]


def similarity_map(q: np.ndarray, r: np.ndarray, similarity: Similarity, bias: np.ndarray | None = None) -> np.ndarray:
    """(Tq, V, D) x (Tr, W, D) -> (Tq, Tr) float32 frame similarities."""
    from vcdfast.similarity import chamfer_asymmetric, chamfer_symmetric, cosine, ensure_f32, query_view_max

    q, r = ensure_f32(q), ensure_f32(r)
    if similarity is Similarity.QUERY_VIEW_MAX:
        return query_view_max(q, r, bias=bias)
    if similarity is Similarity.COSINE:
        return cosine(np.ascontiguousarray(q[:, 0]), np.ascontiguousarray(r[:, 0]))
    if similarity is Similarity.CHAMFER_ASYMMETRIC:
        return chamfer_asymmetric(q, r)
    return chamfer_symmetric(q, r)


def align_views(q: np.ndarray, refs: list[np.ndarray], bias: np.ndarray | None, options: QueryOptions,
                num_threads: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (Tq, Vq, D) query with its views against each (Tr, W, D) reference: the
    query-view similarity (best query view, bias subtracted; Similarity.QUERY_VIEW_MAX)
    aligned with options' method and parameters, boxes cut to chains and rescored, all on
    one map per pair in the C++ batch -> per reference (boxes (N, 4) int64, scores (N,)
    float32); scored_matches gives the scores reported and drops those below min_score."""
    params = options.alignment_params()
    found = align_pairs(q, refs, method=options.method, params=params, similarity=Similarity.QUERY_VIEW_MAX,
                        bias=bias, num_threads=num_threads)
    if params.get("trim_sim") is not None and "max_iou" in params:
        # TN keeps boxes overlapping by less than max_iou; trimming can bring two of them together
        found = [suppress_overlaps(b, s, params["max_iou"]) for b, s in found]
    return found


def scored_matches(matches: list[Match], *, full_score_seconds: float | None,
                   min_score: float | None) -> list[Match]:
    """The matches as reported, best score first. Those whose score (their chain's mean
    similarity, calibrated per frame) is below min_score are dropped (None: none); then a
    match whose query side is shorter than full_score_seconds has its score scaled by its
    length over full_score_seconds, because a short run of similar frames is weaker evidence
    of a copy than a long one and one score ranks every match (VSC segment µAP). The
    threshold stays on the mean: on scaled scores it let long weak chains through."""
    out = []
    for m in matches:
        if min_score is not None and m.score < min_score:
            continue
        if full_score_seconds is not None:
            m = replace(m, score=m.score * min(1.0, (m.query_end - m.query_start) / full_score_seconds))
        out.append(m)
    out.sort(key=lambda m: (-m.score, m.ref_id, m.query_start))
    return out


def suppress_overlaps(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Best score first, drop each box whose IoU with a kept one is >= max_iou (VCSL's IoU
    of inclusive frame boxes, as TN applies it) or that lies inside a kept one (the same copy
    again); kept boxes stay in their order."""
    boxes, scores = np.asarray(boxes), np.asarray(scores)
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    keep: list[int] = []
    for i in np.argsort(-scores, kind="stable").tolist():
        if keep:
            k = np.array(keep)
            dq = np.minimum(boxes[k, 2], boxes[i, 2]) - np.maximum(boxes[k, 0], boxes[i, 0]) + 1
            dr = np.minimum(boxes[k, 3], boxes[i, 3]) - np.maximum(boxes[k, 1], boxes[i, 1]) + 1
            inter = np.clip(dq, 0, None) * np.clip(dr, 0, None)
            if ((inter / (area[k] + area[i] - inter) >= max_iou) | (inter == area[i])).any():
                continue
        keep.append(i)
    keep.sort()
    return boxes[keep].reshape(-1, 4), scores[keep]


def boxes_to_matches(query_id: str, ref_id: str, boxes: np.ndarray, scores: np.ndarray,
                     q_intervals: np.ndarray, r_intervals: np.ndarray) -> list[Match]:
    """Inclusive frame boxes [q_start, r_start, q_end, r_end] -> Matches in seconds: a
    segment starts where its first descriptor's interval starts and ends where its last
    one's ends."""
    out = []
    for (qs, rs, qe, re_), s in zip(np.asarray(boxes).tolist(), np.asarray(scores).tolist()):
        out.append(Match(query_id, ref_id, float(q_intervals[qs, 0]), float(q_intervals[qe, 1]),
                         float(r_intervals[rs, 0]), float(r_intervals[re_, 1]), float(s), (qs, rs, qe, re_)))
    return out
