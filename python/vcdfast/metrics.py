"""Evaluation of segment-level video copy detection, on the field's own metrics.

A match (predicted or ground truth) is `query_id, ref_id, query_start, query_end, ref_start,
ref_end, score` in seconds, the Meta VSC 2022 CSV layout; any object with those attributes
is accepted (``vcdfast.query.Match``, which the CSV readers return, or a NamedTuple of your own).

Metrics, each reimplemented from its published definition:

- VCSL segment precision/recall (He et al., CVPR 2022). Per (query, ref) pair and per axis
  (query time, reference time): precision = sum over predicted boxes of the length of the
  union of their intersections with the ground-truth boxes they overlap (area > 0), divided
  by the summed lengths of the predicted boxes; recall swaps the roles. The pair's value is
  the product of the two axes. Pairs without predictions count (1, 0), pairs without ground
  truth (0, 1), pairs with neither (1, 1). Dataset figures are micro-averages over pairs:
  precision over the pairs with predictions, recall over the pairs with ground truth. FRR
  is the share of positive pairs with no prediction, FAR the share of negative pairs with
  one (VCSL estimates those counts from a pos/neg ratio; with the true ratio they agree).
  VCSL adds 1e-6 to denominators and sums in float32; we use exact float64 arithmetic.
- VSC 2022 segment µAP (Pizzi et al., the matching track). Predictions sorted by score
  descending; after each group of equal scores, per axis: intersection = sum over pairs of
  |union(predictions so far) ∩ union(ground truths that overlap one of those predictions)|,
  precision = intersection / sum over pairs of |union(predictions so far)|, recall =
  intersection / total ground-truth length. P = sqrt(P_q P_r), R = sqrt(R_q R_r) and
  µAP = Σ P ΔR.
- Video-level (pairwise) µAP: a pair's score is its best match score; tied scores form one
  threshold; AP = Σ P ΔR with R over all ground-truth pairs (VSC 2022's descriptor-track AP).
- mHR@K and mAP@K per query over the references ranked by best match score (the seeds'
  reverse-video-search tutorial): HR@K = |relevant ∩ top K| / |relevant|.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from vcdfast.query import Match

__all__ = [
    "Match",
    "evaluate",
    "evaluate_files",
    "mhr_at_k",
    "map_at_k",
    "ranked_refs",
    "read_ground_truth_csv",
    "read_matches_csv",
    "vcsl_pair_axes",
    "vcsl_pair_precision_recall",
    "vcsl_segment_metric",
    "video_ap",
    "vsc_micro_ap",
    "write_matches_csv",
]

COLUMNS = Match.CSV_FIELDS


# --------------------------------------------------------------------------- CSV


def _read_csv(path, *, with_score: bool) -> list[Match]:
    path = Path(path)
    need = COLUMNS if with_score else COLUMNS[:-1]
    out: list[Match] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in need if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; a VSC 2022 match CSV has the header "
                             f"{','.join(need)} (any order)")
        for line, row in enumerate(reader, start=2):
            try:
                values = [float(row[c]) for c in need[2:]]
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: non-numeric time or score in {row}") from None
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{path}, line {line}: times and scores must be finite, got {values}")
            qs, qe, rs, re = values[:4]
            if qe < qs or re < rs:
                raise ValueError(f"{path}, line {line}: a segment ends before it starts "
                                 f"(query {qs}..{qe}, ref {rs}..{re})")
            score = values[4] if with_score else 1.0
            out.append(Match(row["query_id"], row["ref_id"], qs, qe, rs, re, score))
    return out


def read_matches_csv(path) -> list[Match]:
    """Predictions in VSC 2022 CSV (header required, columns in any order)."""
    return _read_csv(path, with_score=True)


def read_ground_truth_csv(path) -> list[Match]:
    """Ground truth in VSC 2022 CSV; the score column is optional and ignored (set to 1)."""
    return _read_csv(path, with_score=False)


def write_matches_csv(matches: Iterable[Any], path) -> None:
    """Write matches (any objects with the VSC 2022 attributes) as VSC 2022 CSV."""
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for m in matches:
            w.writerow([m.query_id, m.ref_id] + [repr(float(getattr(m, c))) for c in COLUMNS[2:]])


# --------------------------------------------------------------------------- helpers


def _boxes(matches: Sequence[Any]) -> np.ndarray:
    """(N, 4) float64 boxes in VCSL order [q_start, r_start, q_end, r_end]."""
    if not matches:
        return np.zeros((0, 4))
    return np.array([[m.query_start, m.ref_start, m.query_end, m.ref_end] for m in matches], dtype=np.float64)


def _by_pair(matches: Iterable[Any]) -> dict[tuple[Hashable, Hashable], list[Any]]:
    groups: dict[tuple[Hashable, Hashable], list[Any]] = defaultdict(list)
    for m in matches:
        groups[(m.query_id, m.ref_id)].append(m)
    return groups


def _union_length(intervals: np.ndarray) -> float:
    """Total length of the union of (N, 2) [start, end] intervals."""
    if len(intervals) == 0:
        return 0.0
    iv = intervals[np.argsort(intervals[:, 0], kind="stable")]
    total, cur_s, cur_e = 0.0, iv[0, 0], iv[0, 1]
    for s, e in iv[1:]:
        if s > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    return float(total + (cur_e - cur_s))


def _merge(intervals: np.ndarray) -> np.ndarray:
    """The union of (N, 2) intervals as sorted, disjoint (M, 2) intervals."""
    if len(intervals) == 0:
        return np.zeros((0, 2))
    iv = intervals[np.argsort(intervals[:, 0], kind="stable")]
    out = [list(iv[0])]
    for s, e in iv[1:]:
        if s > out[-1][1]:
            out.append([s, e])
        elif e > out[-1][1]:
            out[-1][1] = e
    return np.array(out, dtype=np.float64)


def _intersection_length(a: np.ndarray, b: np.ndarray) -> float:
    """|union(a) ∩ union(b)| for two sets of intervals."""
    a, b = _merge(a), _merge(b)
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if hi > lo:
            total += hi - lo
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return float(total)


def _overlap_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection areas of boxes a (N, 4) and b (M, 4); also returns the boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    return wh[..., 0] * wh[..., 1], lt, rb


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


# --------------------------------------------------------------------------- VCSL


def vcsl_pair_axes(pred_boxes, gt_boxes) -> tuple[tuple[float, float], tuple[float, float]]:
    """VCSL's precision and recall of one video pair, per axis: ((query, reference) precision,
    (query, reference) recall); the pair's figures are their products
    (vcsl_pair_precision_recall). Boxes are (N, 4) in VCSL order [q_start, r_start, q_end,
    r_end], any time unit. See the module docstring for the definition.
    """
    pred = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if len(pred) == 0 or len(gt) == 0:
        p, r = (1.0 if len(pred) == 0 else 0.0), (1.0 if len(gt) == 0 else 0.0)
        return (p, p), (r, r)
    area, lt, rb = _overlap_area(pred, gt)
    inter = np.stack([lt[..., 0], rb[..., 0], lt[..., 1], rb[..., 1]], axis=-1)  # (N, M, [q0, q1, r0, r1])

    def covered(axis_area: np.ndarray, axis_inter: np.ndarray) -> tuple[float, float]:
        # sum over the rows of the union length of the overlapping intersection boxes;
        # fsum keeps the result independent of the order of the boxes
        hits = [row_inter[row_area > 0] for row_area, row_inter in zip(axis_area, axis_inter)]
        return (math.fsum(_union_length(h[:, 0:2]) for h in hits), math.fsum(_union_length(h[:, 2:4]) for h in hits))

    def length(boxes: np.ndarray, axis: int) -> float:
        return math.fsum(boxes[:, axis + 2] - boxes[:, axis])

    tp_q, tp_r = covered(area, inter)
    precision = _ratio(tp_q, length(pred, 0)), _ratio(tp_r, length(pred, 1))
    tp_q, tp_r = covered(area.T, inter.transpose(1, 0, 2))
    recall = _ratio(tp_q, length(gt, 0)), _ratio(tp_r, length(gt, 1))
    return precision, recall


def vcsl_pair_precision_recall(pred_boxes, gt_boxes) -> tuple[float, float]:
    """VCSL segment precision and recall of one video pair (vcsl_pair_axes' products).

    Boxes are (N, 4) in VCSL order [q_start, r_start, q_end, r_end], any time unit (the
    metric is a ratio per axis). See the module docstring for the definition.
    """
    (p_q, p_r), (r_q, r_r) = vcsl_pair_axes(pred_boxes, gt_boxes)
    return float(p_q * p_r), float(r_q * r_r)


def vcsl_segment_metric(pred: Iterable[Any], gt: Iterable[Any], *, pairs: Iterable[tuple] | None = None) -> dict:
    """VCSL micro-averaged segment precision/recall/F1 and video-level FRR/FAR.

    `pairs` is the set of (query_id, ref_id) pairs evaluated (VCSL's labelled positive and
    negative pairs); predictions on other pairs are ignored. By default it is every pair
    with a prediction or a ground-truth segment, so a prediction on a pair without ground
    truth is a false alarm; FAR needs the negative pairs, so it is None unless `pairs` is given.
    """
    pred_by, gt_by = _by_pair(pred), _by_pair(gt)
    pair_set = set(pred_by) | set(gt_by) if pairs is None else {tuple(p) for p in pairs}
    unlisted = set(gt_by) - pair_set
    if unlisted:
        raise ValueError(f"ground truth has {len(unlisted)} pair(s) outside `pairs`, e.g. {sorted(unlisted)[0]}; "
                         "list every positive pair")
    precisions, recalls, per_pair = [], [], {}
    fr = fa = 0
    for key in pair_set:
        p_list, g_list = pred_by.get(key, []), gt_by.get(key, [])
        p, r = vcsl_pair_precision_recall(_boxes(p_list), _boxes(g_list))
        per_pair[key] = (p, r)
        if p_list:
            precisions.append(p)
        if g_list:
            recalls.append(r)
        fr += bool(g_list) and not p_list
        fa += bool(p_list) and not g_list
    n_pos = sum(1 for key in pair_set if key in gt_by)
    n_neg = len(pair_set) - n_pos
    precision = math.fsum(precisions) / len(precisions) if precisions else 0.0
    recall = math.fsum(recalls) / len(recalls) if recalls else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "frr": fr / n_pos if n_pos else 0.0,
        "far": None if pairs is None else (fa / n_neg if n_neg else 0.0),
        "pairs": len(pair_set),
        "positive_pairs": n_pos,
        "negative_pairs": n_neg,
        "per_pair": per_pair,
    }


# --------------------------------------------------------------------------- VSC 2022


class _PairState:
    """Predictions so far on one pair, and which ground truths they overlap."""

    def __init__(self, gt: np.ndarray):
        self.gt = gt
        self.preds: list[np.ndarray] = []
        self.considered = np.zeros(len(gt), dtype=bool)
        self.inter = [0.0, 0.0]
        self.total = [0.0, 0.0]

    def add(self, box: np.ndarray) -> None:
        self.preds.append(box)
        if len(self.gt):
            area, _, _ = _overlap_area(box[None], self.gt)
            self.considered |= area[0] > 0

    def update(self) -> tuple[list[float], list[float]]:
        """Recompute the per-axis intersection and prediction length; return the deltas."""
        preds = np.array(self.preds)
        gts = self.gt[self.considered]
        d_inter, d_total = [], []
        for axis, cols in enumerate(((0, 2), (1, 3))):
            inter = _intersection_length(preds[:, cols], gts[:, cols])
            total = _union_length(preds[:, cols])
            d_inter.append(inter - self.inter[axis])
            d_total.append(total - self.total[axis])
            self.inter[axis], self.total[axis] = inter, total
        return d_inter, d_total


def vsc_micro_ap(pred: Iterable[Any], gt: Iterable[Any]) -> float:
    """VSC 2022 matching-track segment µAP (see the module docstring)."""
    gt_by = {k: _boxes(v) for k, v in _by_pair(gt).items()}
    gt_total = [math.fsum(_union_length(b[:, cols]) for b in gt_by.values()) for cols in ((0, 2), (1, 3))]
    if not gt_by or min(gt_total) <= 0:
        raise ValueError("ground truth is empty (or has zero length on an axis): µAP is undefined")
    states: dict[tuple, _PairState] = {}
    inter, total = [0.0, 0.0], [0.0, 0.0]
    ap = recall = 0.0
    ordered = sorted(pred, key=lambda m: -m.score)
    for _, group in groupby(ordered, key=lambda m: m.score):
        touched = {}
        for m in group:
            key = (m.query_id, m.ref_id)
            state = states.get(key)
            if state is None:
                state = states[key] = _PairState(gt_by.get(key, np.zeros((0, 4))))
            state.add(np.array([m.query_start, m.ref_start, m.query_end, m.ref_end], dtype=np.float64))
            touched[key] = state
        # pairs in a fixed order, so that the float sums do not depend on the input order
        for key in sorted(touched, key=lambda k: (str(k[0]), str(k[1]))):
            d_inter, d_total = touched[key].update()
            for axis in (0, 1):
                inter[axis] += d_inter[axis]
                total[axis] += d_total[axis]
        new_recall = math.sqrt((inter[0] / gt_total[0]) * (inter[1] / gt_total[1]))
        precision = math.sqrt(_ratio(inter[0], total[0]) * _ratio(inter[1], total[1]))
        ap += precision * (new_recall - recall)
        recall = new_recall
    return ap


def video_ap(pred: Iterable[Any], gt: Iterable[Any]) -> float:
    """Pairwise (video-level) µAP: a pair's score is its best match score (VSC 2022)."""
    positives = {(m.query_id, m.ref_id) for m in gt}
    if not positives:
        raise ValueError("ground truth is empty: video-level AP is undefined")
    best: dict[tuple, float] = {}
    for m in pred:
        key = (m.query_id, m.ref_id)
        best[key] = max(best.get(key, -math.inf), float(m.score))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    ap = recall = 0.0
    tp = seen = 0
    for _, group in groupby(ranked, key=lambda kv: kv[1]):
        for key, _ in group:  # tied scores form one threshold
            seen += 1
            tp += key in positives
        new_recall = tp / len(positives)
        ap += (tp / seen) * (new_recall - recall)
        recall = new_recall
    return ap


# --------------------------------------------------------------------------- retrieval


def ranked_refs(pred: Iterable[Any]) -> dict[Hashable, list[Hashable]]:
    """Per query, the reference ids ranked by best match score (ties by id, for determinism)."""
    best: dict[Hashable, dict[Hashable, float]] = defaultdict(dict)
    for m in pred:
        refs = best[m.query_id]
        refs[m.ref_id] = max(refs.get(m.ref_id, -math.inf), float(m.score))
    return {q: [r for r, _ in sorted(refs.items(), key=lambda kv: (-kv[1], str(kv[0])))] for q, refs in best.items()}


def _relevant_queries(relevant: Mapping[Hashable, Iterable[Hashable]]) -> dict[Hashable, set]:
    rel = {q: set(r) for q, r in relevant.items() if r}
    if not rel:
        raise ValueError("no query has a relevant reference: the retrieval metrics are undefined")
    return rel


def mhr_at_k(ranked: Mapping[Hashable, Sequence[Hashable]], relevant: Mapping[Hashable, Iterable[Hashable]],
             k: int) -> float:
    """Mean hit ratio (recall) at K over the queries with at least one relevant reference."""
    rel = _relevant_queries(relevant)
    return math.fsum(len(rel[q] & set(ranked.get(q, [])[:k])) / len(rel[q]) for q in rel) / len(rel)


def map_at_k(ranked: Mapping[Hashable, Sequence[Hashable]], relevant: Mapping[Hashable, Iterable[Hashable]],
             k: int, *, normalize: str = "relevant") -> float:
    """Mean average precision at K over the queries with at least one relevant reference.

    AP@K = Σ_{i ≤ K, hit at i} (hits in top i / i) / N, with N = min(|relevant|, K)
    (`normalize="relevant"`, the usual IR definition) or N = hits in the top K
    (`normalize="hits"`, the seeds' tutorial; it ignores missed references).
    """
    if normalize not in ("relevant", "hits"):
        raise ValueError(f"normalize must be 'relevant' or 'hits', got {normalize!r}")
    rel = _relevant_queries(relevant)
    aps = []
    for q, rq in rel.items():
        hits, acc = 0, 0.0
        for i, r in enumerate(ranked.get(q, [])[:k], start=1):
            if r in rq:
                hits += 1
                acc += hits / i
        n = min(len(rq), k) if normalize == "relevant" else hits
        aps.append(acc / n if n else 0.0)
    return math.fsum(aps) / len(aps)


# --------------------------------------------------------------------------- all at once


def evaluate(pred: Iterable[Any], gt: Iterable[Any], *, pairs: Iterable[tuple] | None = None,
             ks: Sequence[int] = (1, 5, 10)) -> dict:
    """Every metric above in one flat, JSON-ready dict."""
    pred, gt = list(pred), list(gt)
    vcsl = vcsl_segment_metric(pred, gt, pairs=pairs)
    out = {f"vcsl_{k}": vcsl[k] for k in ("precision", "recall", "f1", "frr", "far")}
    out.update(pairs=vcsl["pairs"], positive_pairs=vcsl["positive_pairs"], predictions=len(pred),
               ground_truth=len(gt), vsc_micro_ap=vsc_micro_ap(pred, gt), video_ap=video_ap(pred, gt))
    ranked = ranked_refs(pred)
    relevant: dict[Hashable, set] = defaultdict(set)
    for m in gt:
        relevant[m.query_id].add(m.ref_id)
    for k in ks:
        out[f"mhr@{k}"] = mhr_at_k(ranked, relevant, k)
        out[f"map@{k}"] = map_at_k(ranked, relevant, k)
    return out


def evaluate_files(pred_csv, gt_csv, **kwargs) -> dict:
    """`evaluate` on a prediction CSV and a ground-truth CSV (VSC 2022 format)."""
    return evaluate(read_matches_csv(pred_csv), read_ground_truth_csv(gt_csv), **kwargs)
