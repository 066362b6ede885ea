"""Metamorphic properties of TN and HV: planted copies are recovered, transposing swaps the box
axes where the algorithm is symmetric, and what raising min_sim does (and does not) guarantee.
Each test says which exact property it checks and why it holds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vcdfast.align import hv, tn

TOWHEE = dict(max_step=10, top_k=5, max_path=10, min_sim=0.2, min_length=5, max_iou=0.3)
VCSL_TUNED = dict(TOWHEE, top_k=3, min_sim=0.3)


def iou(a, b) -> float:
    """IoU of [q0, r0, q1, r1] boxes with inclusive sides."""
    iw = max(min(a[2], b[2]) - max(a[0], b[0]) + 1, 0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]) + 1, 0)
    inter = iw * ih
    area = lambda x: (x[2] - x[0] + 1) * (x[3] - x[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def planted_map(seed: int, speeds=(1.0, 0.5, 2.0), rows=240, cols=270, noise=0.1):
    """Noise in [0, noise) plus one copy per speed, each in its own query band and reference
    band, at least 12 frames (> max_step) from the other copies on the query axis. A copy at
    speed s maps query frame q0 + i to reference frame r0 + floor(i * s), similarity 0.7-0.95.
    Sizes: speed 1 and 1/2 copies span >= 40 query frames, speed 2 copies >= 30."""
    rng = np.random.default_rng(seed)
    sims = rng.uniform(0.0, noise, (rows, cols)).astype(np.float32)
    n = len(speeds)
    q_band, r_band = rows // n, cols // n
    ref_bands = rng.permutation(n)
    planted = []
    for i, speed in enumerate(speeds):
        max_len = min(q_band - 12, int((r_band - 1) / speed))
        length = int(rng.integers(30 if speed == 2.0 else 40, max_len + 1))
        r_len = int((length - 1) * speed) + 1
        q0 = i * q_band + 6 + int(rng.integers(0, q_band - 12 - length + 1))
        r0 = ref_bands[i] * r_band + int(rng.integers(0, r_band - r_len + 1))
        for k in range(length):
            sims[q0 + k, r0 + int(k * speed)] = rng.uniform(0.7, 0.95)
        planted.append([q0, r0, q0 + length - 1, r0 + r_len - 1])
    return sims, planted


# A recovered path may begin at one noise frame up to max_step - 1 = 9 frames before the copy on
# both axes (noise frames can be edge sources but never targets, their similarity being below
# min_sim), and at speed 1/2 it takes one of each pair of query frames sharing a reference frame,
# so it may miss the copy's first or last query frame. The box therefore contains
# [q0 + 1, q1 - 1] x [r0, r1] and lies within [q0 - 9, q1] x [r0 - 9, r1]; with the sizes of
# planted_map the worst case (speed 1/2, 40 x 20 frames) gives IoU >= 38 * 20 / (49 * 29) = 0.535.
TAU = 0.5


@pytest.mark.parametrize("params", [TOWHEE, VCSL_TUNED], ids=["towhee", "vcsl_tuned"])
@pytest.mark.parametrize("seed", range(12))
def test_tn_recovers_planted_copies_at_speeds_1_half_2(seed, params):
    sims, planted = planted_map(seed)
    boxes = tn(sims, **params).boxes.tolist()
    for copy in planted:
        assert max((iou(copy, box) for box in boxes), default=0.0) >= TAU, (copy, boxes)
    for box in boxes:  # and nothing else
        assert max(iou(copy, box) for copy in planted) >= TAU, (box, planted)


def diagonal_box(offset: int, rows: int, cols: int) -> list[int]:
    """HV's box for the diagonal r - q = offset: the whole diagonal."""
    q0, q1 = max(0, -offset), min(rows, cols - offset)
    return [q0, q0 + offset, q1 - 1, q1 - 1 + offset]


@pytest.mark.parametrize("seed", range(8))
def test_hv_votes_the_planted_offsets_first(seed):
    """HV's boxes span whole diagonals, so their IoU with a copy is not the measure; its
    property is that each speed-1 copy's offset r0 - q0 wins a vote. Noise below 0.25 gives an
    offset without a copy a vote of at most 0.25 * (cells >= min_sim), about 0.225 * 0.2 * 200 = 9
    on average, below the >= 40 * 0.7 = 28 of a copy; the offsets are ~70 apart, so their
    whole-diagonal boxes overlap by IoU < iou_thresh (checked) and none suppresses another."""
    rng = np.random.default_rng(seed)
    rows, cols = 200, 220
    sims = rng.uniform(0.0, 0.25, (rows, cols)).astype(np.float32)
    offsets = [base + int(rng.integers(-10, 11)) for base in (-70, 0, 70)]
    for offset in offsets:
        q_first, q_last = max(0, -offset), min(rows, cols - offset) - 1
        length = int(rng.integers(40, 80))
        q0 = int(rng.integers(q_first, q_last - length + 2))
        q = np.arange(q0, q0 + length)
        sims[q, q + offset] = rng.uniform(0.7, 0.95, length)
    planted_boxes = [diagonal_box(o, rows, cols) for o in offsets]
    assert max(iou(a, b) for a in planted_boxes for b in planted_boxes if a != b) < 0.9
    boxes = hv(sims, iou_thresh=0.9).boxes
    assert sorted(map(tuple, boxes[: len(offsets)].tolist())) == sorted(map(tuple, planted_boxes))


def clean_copies(seed: int, rows=200, cols=220, n=3, step=10, top_k=5):
    """Speed-1 copies on a zero background, in distinct query and reference bands, at least
    max_step + top_k frames from every map edge and more than max_step apart on both axes."""
    rng = np.random.default_rng(seed)
    sims = np.zeros((rows, cols), np.float32)
    margin = step + top_k
    q_band, r_band = (rows - 2 * margin) // n, (cols - 2 * margin) // n
    for i, j in enumerate(rng.permutation(n)):
        length = int(rng.integers(12, min(q_band, r_band) - step))
        q0 = margin + i * q_band + int(rng.integers(0, q_band - length - step + 1))
        r0 = margin + j * r_band + int(rng.integers(0, r_band - length - step + 1))
        sims[np.arange(q0, q0 + length), np.arange(r0, r0 + length)] = rng.uniform(0.5, 1.0, length)
    return sims


@pytest.mark.parametrize("params", [TOWHEE, VCSL_TUNED], ids=["towhee", "vcsl_tuned"])
@pytest.mark.parametrize("seed", range(10))
def test_tn_transpose_swaps_axes_on_clean_copies(seed, params):
    """TN is not symmetric in general: it ranks the top-k per query row only, C3 accumulates per
    source row, and equal path lengths are broken in query-major node order, so on noisy maps
    tn(S.T) and tn(S) disagree by a few frames (e.g. tests/data's median_187). On maps whose only
    cells >= min_sim are speed-1 copies with distinct rows and columns, the top-k of every row
    of S and of S.T holds the copy cell (if any) plus zero cells that are too far (> max_step)
    from every copy to be linked, so both graphs are the copies' chains, mirrored. The same
    chains give the same paths, float32 sums and boxes (axes swapped); only the order in which
    equal-weight chains are found can differ, so boxes are compared as sets."""
    sims = clean_copies(seed)
    direct = tn(sims, **params)
    transposed = tn(np.ascontiguousarray(sims.T), **params)
    swapped = direct.boxes[:, [1, 0, 3, 2]]
    assert len(direct.boxes) == 3
    assert sorted(map(tuple, swapped.tolist())) == sorted(map(tuple, transposed.boxes.tolist()))
    key = lambda pair: tuple(pair[0])  # noqa: E731
    assert sorted(zip(swapped.tolist(), direct.scores.tolist()), key=key) == sorted(
        zip(transposed.boxes.tolist(), transposed.scores.tolist()), key=key
    )


@pytest.mark.parametrize("seed", range(10))
def test_hv_transpose_swaps_axes_when_votes_are_distinct(seed):
    """Transposing maps diagonal r - q = s to q - r = s with the same cells in the same order,
    so every vote (NumPy-order float32 sum) is unchanged and the IoUs are symmetric. What can
    change is the order of equal votes (VCSL keeps ascending offset, which transposition
    reverses), so the property is exact when all votes differ, which the test checks first."""
    rng = np.random.default_rng(seed)
    sims = rng.uniform(-0.1, 0.6, (int(rng.integers(20, 90)), int(rng.integers(20, 90)))).astype(np.float32)
    voted = np.where(sims < np.float32(0.2), np.float32(0), sims)
    diagonals = [np.diagonal(voted, offset) for offset in range(-sims.shape[0] + 1, sims.shape[1])]
    votes = [float(np.sum(d)) for d in diagonals if (d >= np.float32(0.2)).any()]  # the voting offsets
    assert len(set(votes)) == len(votes)
    direct = hv(sims)
    transposed = hv(np.ascontiguousarray(sims.T))
    np.testing.assert_array_equal(direct.boxes[:, [1, 0, 3, 2]], transposed.boxes)
    np.testing.assert_array_equal(direct.scores, transposed.scores)


def test_tn_raising_min_sim_can_add_boxes():
    """'Raising min_sim never adds boxes' is false for VCSL's TN, so vcdfast (exact to it) does
    not have it either. min_sim is also C4's edge threshold: raising it removes edges, which can
    split one path into several. Here two copies joined by a 12-frame bridge of similarity 0.25
    form one path (one box) at min_sim 0.2; at 0.3 the bridge frames cannot be edge targets and
    the 12-frame gap exceeds max_step, so the copies become two boxes. (IoU suppression breaks
    it in the same way: a rejected box no longer suppresses the boxes it overlapped.)"""
    sims = np.zeros((100, 100), np.float32)
    i = np.arange(100)
    sims[i[10:40], i[10:40]] = 0.9
    sims[i[40:52], i[40:52]] = 0.25
    sims[i[52:82], i[52:82]] = 0.9
    assert len(tn(sims, min_sim=0.2).boxes) == 1
    assert len(tn(sims, min_sim=0.3).boxes) == 2


@st.composite
def noisy_copies(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows, cols = draw(st.integers(5, 60)), draw(st.integers(5, 60))
    sims = rng.uniform(-0.1, 0.6, (rows, cols))
    for _ in range(draw(st.integers(0, 3))):
        q0, r0, length = int(rng.integers(0, rows)), int(rng.integers(0, cols)), int(rng.integers(5, 40))
        for k in range(length):
            if q0 + k < rows and r0 + k < cols:
                sims[q0 + k, r0 + k] = rng.uniform(0.4, 1.0)
    return sims.astype(np.float32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sims=noisy_copies(), low=st.sampled_from([0.0, 0.1, 0.2, 0.3]), frac=st.floats(0.01, 0.99))
def test_tn_raising_min_sim_within_an_edge_gap_only_removes_boxes(sims, low, frac):
    """The exact monotone property of TN: with IoU suppression off (max_iou > 1 >= any IoU) and
    min_sim raised from `low` to a `high` that no top-k similarity lies between (so C4 keeps the
    same edges), the graph, its max_path + 1 heaviest paths and their boxes are the same; only
    the density test score / ave_length > min_sim is stricter. So the boxes at `high` are the
    boxes at `low` minus some, in the same order."""
    top_k = 5
    topk = -np.sort(-sims, axis=1)[:, :top_k]
    above = topk[topk >= np.float32(low)]
    ceiling = float(above.min()) if above.size else 1.0
    high = low + frac * (ceiling - low)
    # C4 compares in float32: no top-k similarity may lie in [float32(low), float32(high)).
    assume(np.float32(low) < np.float32(high) <= np.float32(ceiling))
    kwargs = dict(top_k=top_k, max_iou=1.5)
    at_low = tn(sims, min_sim=low, **kwargs).boxes.tolist()
    at_high = tn(sims, min_sim=high, **kwargs).boxes.tolist()
    it = iter(at_low)
    assert all(any(box == other for other in it) for box in at_high), (at_low, at_high)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sims=noisy_copies(), low=st.sampled_from([0.0, 0.1, 0.2, 0.3]), delta=st.sampled_from([0.05, 0.1, 0.3]))
def test_hv_raising_min_sim_only_removes_boxes_without_suppression(sims, low, delta):
    """HV's exact monotone property: with NMS off (iou_thresh >= 1 >= any IoU) and every diagonal
    kept (max_peaks >= P + Q - 1), a diagonal kept at min_sim b > a holds a cell >= b > a and
    its float32 vote at a sums cells that are >= those at b in the same order (rounding is
    monotone), so it is kept at a too: boxes(b) is a subset of boxes(a). With NMS on this
    fails like TN's: a diagonal dropped at b no longer suppresses its neighbours."""
    kwargs = dict(iou_thresh=1.0, max_peaks=sum(sims.shape))
    at_low = set(map(tuple, hv(sims, min_sim=low, **kwargs).boxes.tolist()))
    at_high = set(map(tuple, hv(sims, min_sim=low + delta, **kwargs).boxes.tolist()))
    assert at_high <= at_low
