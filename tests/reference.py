"""Naive float64 NumPy/Python references for every C++ kernel. The kernels' specs in
cpp/kernels/*/README.md and cpp/align/README.md are written against these functions."""

from __future__ import annotations

import numpy as np

# --- similarity: cosine and chamfer ---
# Exact float64 arithmetic on the float32 inputs; np.max propagates NaN, which is the
# kernels' documented NaN policy too (cpp/kernels/cosine/README.md, cpp/kernels/chamfer/README.md).


def cosine_ref(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """out[p, j] = <q[p], r[j]> for (P, D) x (Q, D)."""
    return np.einsum("pd,jd->pj", q.astype(np.float64), r.astype(np.float64))


def chamfer_products_ref(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """S[p, v, j, w] = <q[p, v], r[j, w]> for (P, V, D) x (Q, W, D): the tensor the kernels never build."""
    return np.einsum("pvd,jwd->pvjw", q.astype(np.float64), r.astype(np.float64))


def chamfer_asymmetric_ref(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """ViSiL: out[p, j] = mean_v max_w S[p, v, j, w]."""
    return chamfer_products_ref(q, r).max(axis=3).mean(axis=1)


def chamfer_symmetric_ref(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """VCSL (vta.py chamfer_sim_cpu): (mean_v max_w S + mean_w max_v S) / 2."""
    s = chamfer_products_ref(q, r)
    return (s.max(axis=3).mean(axis=1) + s.max(axis=1).mean(axis=2)) / 2


def query_view_max_ref(q: np.ndarray, r: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Views as alternative pictures: out[p, j] = max_v max_w (S[p, v, j, w] - bias[p, v]); V and W
    independent."""
    s = chamfer_products_ref(q, r)
    if bias is not None:
        s = s - bias.astype(np.float64)[:, :, None, None]
    return s.max(axis=(1, 3))


# --- alignment: TN and HV ---
# Written from the algorithms as VCSL (vcsl/vta.py) runs them, including its quirks, which the
# spec in cpp/align/README.md lists. Similarities are float32 and sums accumulate in float32
# as VCSL's do under NumPy >= 2; thresholds that VCSL compares as Python floats stay float64.


def _tn_topk(sims: np.ndarray, top: int, tie_order: str) -> np.ndarray:
    """Per row, the `top` column indices by descending similarity; equal similarities by
    ascending column (vcdfast's rule) or, with tie_order="descending", by descending column."""
    if tie_order == "ascending":
        return np.argsort(-sims, axis=1, kind="stable")[:, :top]
    last = sims.shape[1] - 1
    return last - np.argsort(-sims[:, ::-1], axis=1, kind="stable")[:, :top]


def _iou_inclusive(box, kept, kept_area_f32: bool = False) -> float:
    """IoU of two [q0, r0, q1, r1] boxes whose sides count frames inclusively (+1).

    kept_area_f32: compute the kept box's area in float32, as VCSL's HV does (it stores kept
    boxes as float32); it only matters once an area exceeds 2**24.
    """
    iw = max(min(box[2], kept[2]) - max(box[0], kept[0]) + 1, 0)
    ih = max(min(box[3], kept[3]) - max(box[1], kept[1]) + 1, 0)
    inter = iw * ih
    area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    if kept_area_f32:
        kept_area = float(np.float32(kept[2] - kept[0] + 1) * np.float32(kept[3] - kept[1] + 1))
    else:
        kept_area = (kept[2] - kept[0] + 1) * (kept[3] - kept[1] + 1)
    return float(inter) / float(area + kept_area - inter)


def tn_reference(
    sims, max_step=10, top_k=5, max_path=10, min_sim=0.2, min_length=5, max_iou=0.3, tie_order="ascending"
):
    """Temporal network alignment (Tan et al. 2009) with VCSL's graph and tie semantics.

    Returns (boxes, scores): boxes [q_start, r_start, q_end, r_end] inclusive frame indices,
    score = float32 mean similarity of the path's frames (float32 sum / path length).
    tie_order: how equal similarities rank in a row's top-k (VCSL leaves it to NumPy's
    unstable argsort); vcdfast uses "ascending" column order.
    """
    import networkx as nx

    sims = np.asarray(sims, dtype=np.float32)
    rows, cols = sims.shape
    top = min(top_k, cols)
    topk = _tn_topk(sims, top, tie_order)
    edge_min = np.float32(min_sim)  # VCSL compares float32 similarities with min_sim in float32

    # Node 0 is VCSL's "source" (-1, -1); node 1 + q * top + k is (q, k-th best reference of q).
    pairs = [(-1, -1)] + [(q, int(topk[q, k])) for q in range(rows) for k in range(top)]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(pairs)))
    for qi in range(rows):
        reached = set()  # references that earlier rows qj already linked to from row qi (C3)
        for qj in range(qi + 1, min(rows, qi + max_step)):  # C1
            linked = []
            for kj in range(top):  # edge insertion order: destination rank, then source rank
                rj = int(topk[qj, kj])
                weight = sims[qj, rj]
                if not weight >= edge_min:  # C4
                    continue
                for ki in range(top):
                    ri = int(topk[qi, ki])
                    if 0 < rj - ri < max_step and not any(ri < r < rj for r in reached):  # C2, C3
                        graph.add_edge(1 + qi * top + ki, 1 + qj * top + kj, weight=weight)
                        linked.append(rj)
            reached.update(linked)

    # VCSL's "sink" is simply the last node added: the last-ranked node of the last row. Edges
    # into it get weight 0 (an existing edge keeps its place and loses its weight).
    sink = len(pairs) - 1
    qs, rs = pairs[sink]
    for i in range(sink):
        q, r = pairs[i]
        if qs > q and rs > r and qs - q <= max_step and rs - r <= max_step:
            graph.add_edge(i, sink, weight=0)

    boxes, scores = [], []
    for _ in range(max_path + 1):
        path = nx.dag_longest_path(graph)
        for u, v in zip(path, path[1:]):
            graph[u][v]["weight"] = 0.0
        members = [n for n in path if n not in (0, sink)]
        if not members:
            break
        total = np.float32(0.0)
        for n in members:
            total = np.float32(total + sims[pairs[n]])
        if total > 0:
            qs_ = [pairs[n][0] for n in members]
            rs_ = [pairs[n][1] for n in members]
            box = [min(qs_), min(rs_), max(qs_), max(rs_)]
        else:
            box = [0, 0, 0, 0]
        ave_length = ((box[3] - box[1]) + (box[2] - box[0])) / 2
        if ave_length:
            ratio = float(total) / ave_length
        else:  # NumPy's float division by zero
            ratio = float("inf") if total > 0 else float("nan")
        worst = max((_iou_inclusive(box, kept) for kept in boxes), default=0.0)
        if ratio > min_sim and min(box[3] - box[1], box[2] - box[0]) > min_length and worst < max_iou:
            boxes.append(box)
            scores.append(np.float32(total) / np.float32(len(members)))
    return np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(scores, dtype=np.float32)


def hv_reference(sims, iou_thresh=0.9, min_sim=0.2, max_peaks=100):
    """Hough voting over diagonals (Douze et al. 2010) as VCSL implements it.

    Each diagonal r - q = sigma holding a similarity >= min_sim gets a vote: the float32 sum
    (NumPy's pairwise order, via np.sum) of its similarities with those below min_sim zeroed.
    Diagonals are taken by descending vote (ties: ascending sigma), the first max_peaks kept,
    votes <= 0 dropped; each box is the whole diagonal; a box whose IoU with an earlier kept box
    exceeds iou_thresh is dropped. Score = vote / diagonal length.
    """
    sims = np.asarray(sims, dtype=np.float32)
    rows, cols = sims.shape
    thr = np.float32(min_sim)
    voted = np.where(sims < thr, np.float32(0), sims)
    peaks = []
    for sigma in range(-(rows - 1), cols):
        q0, q1 = max(0, -sigma), min(rows, cols - sigma)
        q = np.arange(q0, q1)
        diagonal = voted[q, q + sigma]
        if not (diagonal >= thr).any():
            continue
        peaks.append((float(np.sum(diagonal)), sigma, q0, q1))
    peaks.sort(key=lambda p: p[0], reverse=True)  # stable: equal votes keep ascending sigma
    boxes, scores = [], []
    for vote, sigma, q0, q1 in peaks[:max_peaks]:
        if vote <= 0:
            continue
        box = [q0, q0 + sigma, q1 - 1, q1 - 1 + sigma]
        if any(_iou_inclusive(box, kept, kept_area_f32=True) > iou_thresh for kept in boxes):
            continue
        boxes.append(box)
        scores.append(np.float32(vote / (q1 - q0)))
    return np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(scores, dtype=np.float32)


# --- alignment: DP and DTW ---
# VCSL's dp and dtw (vcsl/vta.py), written from the algorithm. Both trace one monotone path
# through the map, cut out its long vertical/horizontal runs and keep the pieces that pass a
# length and mean-similarity filter. Box score: mean similarity along the kept piece.


def _path_pieces(path, thres):
    """VCSL's cut_path: [start, end) pieces of `path` left after removing every run of points
    that share one coordinate when the run has more than `thres` points."""
    path = np.asarray(path, dtype=np.int64).reshape(-1, 2)
    n = len(path)
    runs = []
    for axis in (0, 1):
        flat = np.concatenate(([False], np.diff(path[:, axis]) == 0, [False]))
        edges = np.flatnonzero(flat[1:] != flat[:-1]).reshape(-1, 2)  # zero runs of the diff: [a, b)
        runs += [(int(a), int(b) + 1) for a, b in edges if b + 1 - a > thres]  # as points: [a, b + 1)
    if not runs:
        return [(0, n)]
    ends = [e for run in sorted(runs) for e in run]
    ends = ends[1:] if ends[0] == 0 else [0] + ends
    ends = ends[:-1] if ends[-1] == n else ends + [n]
    return list(zip(ends[0::2], ends[1::2]))


def _boxes_from_path(sims, filter_map, path, thres, min_length, threshold):
    """Pieces with more than min_length points, mean(filter_map) > threshold (float32 threshold,
    float64 running sum in path order) and both extents > min_length."""
    boxes, scores = [], []
    for s, e in _path_pieces(path, thres):
        if e - s <= min_length:
            continue
        piece = path[s:e]
        filter_sum = sim_sum = 0.0
        for q, r in piece:
            filter_sum += float(filter_map[q, r])
            sim_sum += float(sims[q, r])
        (q0, r0), (q1, r1) = piece[0], piece[-1]
        if filter_sum / len(piece) > float(np.float32(threshold)) and q1 - q0 > min_length and r1 - r0 > min_length:
            boxes.append((q0, r0, q1, r1))
            scores.append(np.float32(sim_sum / len(piece)))
    return boxes, scores


def dp_reference(sims, discontinue=3, min_sim=0.0, ave_sim=0.3, min_length=5, diagonal_thres=10):
    """VCSL's dp (Chou et al. 2015, Eq. 5) on a float32 map. VCSL first shifts the map by +1 (in
    float32), so min_sim and ave_sim are thresholds on sims + 1. Its numba kernel keeps the DP
    matrix in float32: the diagonal candidate is a float32 sum, the two half steps float64,
    the first maximum wins and is rounded to float32. 100 paths at most, each from the first
    row-major maximum of the matrix, whose bounding box is then set to -inf."""
    sims = np.asarray(sims, dtype=np.float32)
    shifted = sims + np.float32(1)
    rows, cols = shifted.shape
    score = shifted.copy()
    back = np.full((rows, cols), -1, dtype=np.int8)
    unmatched = np.zeros((rows, cols), dtype=np.int64)
    steps = ((1, 1), (1, 0), (0, 1))
    for i in range(1, rows):
        for j in range(1, cols):
            s = shifted[i, j]
            candidates = [
                float(np.float32(score[i - 1, j - 1] + s)),
                float(score[i - 1, j]) + 0.5 * float(s),
                float(score[i, j - 1]) + 0.5 * float(s),
            ]
            move = int(np.argmax(candidates))
            di, dj = steps[move]
            if float(s) < float(np.float32(min_sim)):
                unmatched[i, j] = unmatched[i - di, j - dj] + 1
            if unmatched[i, j] <= discontinue:
                back[i, j] = move
                score[i, j] = np.float32(candidates[move])
    boxes, scores = [], []
    for _ in range(100):
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[i, j] == -np.inf:
            break
        path = [(int(i), int(j))]
        while back[i, j] != -1:
            di, dj = steps[back[i, j]]
            i, j = i - di, j - dj
            if score[i, j] == -np.inf:
                break
            path.append((int(i), int(j)))
        path.reverse()
        (q0, r0), (q1, r1) = path[0], path[-1]
        score[q0 : q1 + 1, r0 : r1 + 1] = -np.inf
        found, found_scores = _boxes_from_path(sims, shifted, path, diagonal_thres, min_length, ave_sim)
        boxes += found
        scores += found_scores
    return np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(scores, dtype=np.float32)


def dtw_reference(sims, discontinue=3, min_sim=0.2, min_length=5):
    """VCSL's dtw: tslearn's dtw_path_from_metric on the float32 distance 1 - sims. Accumulated
    cost in float64, C[i, j] = d[i, j] + min(C[i-1, j-1], C[i-1, j], C[i, j-1]), the path traced
    back from the last cell to the first minimum of (diagonal, up, left), straight up or left
    on the first column or row. Pieces cut with `discontinue`, filtered with mean(sims) > min_sim."""
    sims = np.asarray(sims, dtype=np.float32)
    dist = np.float32(1) - sims
    rows, cols = dist.shape
    acc = np.full((rows + 1, cols + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(rows):
        for j in range(cols):
            acc[i + 1, j + 1] = float(dist[i, j]) + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    cost = acc[1:, 1:]
    path = [(rows - 1, cols - 1)]
    while path[-1] != (0, 0):
        i, j = path[-1]
        if i == 0:
            path.append((0, j - 1))
        elif j == 0:
            path.append((i - 1, 0))
        else:
            move = int(np.argmin([cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]]))
            path.append(((i - 1, j - 1), (i - 1, j), (i, j - 1))[move])
    path.reverse()
    boxes, scores = _boxes_from_path(sims, sims, path, discontinue, min_length, min_sim)
    return np.array(boxes, dtype=np.int64).reshape(-1, 4), np.array(scores, dtype=np.float32)


# --- trimming: a box cut to its heaviest chain (cpp/align/chains.cpp) ---
# A chain: cells >= trim_sim (compared in float32, as NumPy compares a float32 map with a Python
# float), each 1..trim_gap rows below and 0..trim_gap columns right of the one before; weight:
# the float64 sum of its similarities in chain order, less stall_cost per step that stays in its
# column. Every cell is visited and every predecessor tried; ties: the nearer column, then the
# older row, then the first end cell in row-major order. Score: the chain's similarities' sum
# over its number of cells, rounded to float32.


def chain_extent_ref(sim, trim_sim, trim_gap, stall_cost=0.0, claimed=None):
    """(q_start, r_start, q_end, r_end, score) of the heaviest chain, or None; no step crosses
    a row `claimed` (a boolean per row) holds."""
    sim = np.asarray(sim, np.float32)
    tq, tr = sim.shape
    weight = np.zeros((tq, tr))
    start, length, stalls = {}, {}, {}
    best, best_span, end = 0.0, 0, None
    for i in range(tq):
        for j in range(tr):
            if not sim[i, j] >= np.float32(trim_sim):
                continue
            prev, prev_start, prev_length, prev_stalls = 0.0, (i, j), 0, 0
            # the diagonal first, then the same column, then further left: they win ties
            for d in [1, 0, *range(2, trim_gap + 1)] if trim_gap else [0]:
                for i2 in range(i - trim_gap, i):  # older rows first: they win ties
                    j2 = j - d
                    if i2 < 0 or j2 < 0 or weight[i2, j2] <= 0:
                        continue
                    if claimed is not None and claimed[i2 + 1:i].any():
                        continue
                    w = weight[i2, j2] - (stall_cost if d == 0 else 0.0)
                    if w > prev:
                        prev, prev_start, prev_length = w, start[i2, j2], length[i2, j2]
                        prev_stalls = stalls[i2, j2] + (d == 0)
            weight[i, j] = float(sim[i, j]) + prev
            start[i, j], length[i, j], stalls[i, j] = prev_start, prev_length + 1, prev_stalls
            # equal weights: the box wider on its narrower axis, then the first in row-major order
            span = min(i - start[i, j][0], j - start[i, j][1]) + 1
            if weight[i, j] > best or (weight[i, j] == best and span > best_span):
                best, best_span, end = weight[i, j], span, (i, j)
    if end is None:
        return None
    return (*start[end], *end, float(np.float32((best + stalls[end] * stall_cost) / length[end])))


def chains_ref(sim, min_sim, max_step, min_frames, max_chains, stall_cost=0.0):
    """The chain method: the heaviest chain, its query rows then claimed (they hold no chain
    cell and no chain steps across them), again up to max_chains times; chains shorter than
    min_frames on an axis are dropped."""
    sim = np.array(sim, np.float32)
    claimed = np.zeros(len(sim), bool)
    out_boxes, out_scores = [], []
    for _ in range(max_chains):
        chain = chain_extent_ref(sim, min_sim, max_step, stall_cost, claimed)
        if chain is None:
            break
        qs, rs, qe, re_, score = chain
        sim[qs : qe + 1] = -np.inf
        claimed[qs : qe + 1] = True
        if qe - qs + 1 >= min_frames and re_ - rs + 1 >= min_frames:
            out_boxes.append([qs, rs, qe, re_])
            out_scores.append(score)
    return np.array(out_boxes, np.int64).reshape(-1, 4), np.array(out_scores, np.float32)


def trim_ref(sim, boxes, trim_sim, trim_gap):
    """Each box cut to the heaviest chain inside it and rescored; boxes with none dropped."""
    out_boxes, out_scores = [], []
    for qs, rs, qe, re_ in np.asarray(boxes).tolist():
        chain = chain_extent_ref(np.asarray(sim)[qs : qe + 1, rs : re_ + 1], trim_sim, trim_gap)
        if chain is not None:
            q0, r0, q1, r1, score = chain
            out_boxes.append([qs + q0, rs + r0, qs + q1, rs + r1])
            out_scores.append(score)
    return np.array(out_boxes, np.int64).reshape(-1, 4), np.array(out_scores, np.float32)


def best_line_ref(block, first, last, speed_prior, slopes, offset_step=0.25, near_best=0.01):
    """vcdfast.lines.best_line cell by cell: every line x(i) = centre + slope * (i - (n - 1) / 2),
    centres first - 1 .. last + 1; tolerant score (the better sample around the line) and exact
    (interpolated), off-map cells 0, minus speed_prior per octave; the best exact score among
    lines within near_best of the best tolerant one, first slope then centre on ties."""
    block = np.asarray(block, np.float64)
    n, cols = block.shape
    centres = [first - 1.0 + k * offset_step for k in range(int(round((last - first + 2.0) / offset_step)) + 1)]
    lines = []
    for slope in slopes:
        for c in centres:
            tol = ex = 0.0
            for i in range(n):
                x = c + slope * (i - (n - 1) / 2)
                if not 0 <= x <= cols - 1:
                    continue
                j = min(int(np.floor(x)), max(cols - 2, 0))
                a, b = block[i, j], block[i, min(j + 1, cols - 1)]
                tol += max(a, b)
                ex += a + (x - j) * (b - a)
            prior = speed_prior * abs(np.log2(slope))
            lines.append((np.round(tol / n - prior, 9), np.round(ex / n - prior, 9), c, slope))
    top = max(t for t, _, _, _ in lines)
    best = None
    for t, e, c, slope in lines:
        if t >= top - near_best and (best is None or e > best[0]):
            best = (e, c, slope)
    _, c, slope = best
    return c - slope * (n - 1) / 2, slope


def extend_ends_ref(matches, query, query_times, query_intervals, bias, refs, min_sim, rows=3, slopes=(0.5, 2.0),
                    min_rows=4):
    """vcdfast.lines.extend_ends on whole maps (query_view_max_ref), sample by sample: each box
    in turn grows its end, then its start, by up to `rows` query samples along the line
    through its ends at its speed (clipped to `slopes`; 1x under `min_rows` samples) while the
    better of the two samples around the line's time reaches min_sim (the first or last two
    when that time lies before the reference's first sample or after its last), within the
    reference and off the query samples any box of the pair holds so far."""
    from dataclasses import replace

    maps = {rid: query_view_max_ref(query, vectors, bias) for rid, (vectors, _, _) in refs.items()}
    spans = [list((m.frames[0], m.frames[2])) for m in matches]
    out = []
    for k, m in enumerate(matches):
        vectors, times, last_end = refs[m.ref_id]
        qs, rs, qe, re_ = m.frames
        speed = 1.0
        if qe - qs + 1 >= min_rows and m.query_end > m.query_start:
            speed = min(max((m.ref_end - m.ref_start) / (m.query_end - m.query_start), slopes[0]), slopes[1])

        def passes(row, q0, r0):
            if not 0 <= row < len(query_times):
                return False
            for other, span in zip(matches, spans):
                if (other.query_id, other.ref_id) == (m.query_id, m.ref_id) and span[0] <= row <= span[1]:
                    return False
            t = r0 + speed * (query_times[row] - q0)
            if t < 0 or t > last_end:
                return False
            before = [j for j, x in enumerate(times) if x < t]
            after = [j for j, x in enumerate(times) if x >= t]
            if not before:
                cols = [0, 1]
            elif not after:
                cols = [len(times) - 2, len(times) - 1]
            else:
                cols = [before[-1], after[0]]
            cols = [j for j in cols if 0 <= j < len(times)]
            return max(maps[m.ref_id][row, j] for j in cols) >= min_sim

        start, end = qs, qe
        while end - qe < rows and passes(end + 1, m.query_end, m.ref_end):
            end += 1
            spans[k][1] = end
        while qs - start < rows and passes(start - 1, m.query_start, m.ref_start):
            start -= 1
            spans[k][0] = start
        grown = m
        if end != qe:
            q_end = float(query_intervals[end][1])
            grown = replace(grown, query_end=q_end, ref_end=min(m.ref_end + speed * (q_end - m.query_end), last_end))
        if start != qs:
            q_start = float(query_intervals[start][0])
            grown = replace(grown, query_start=q_start,
                            ref_start=max(0.0, m.ref_start - speed * (m.query_start - q_start)))
        out.append(replace(grown, frames=(start, rs, end, re_)))
    return out
