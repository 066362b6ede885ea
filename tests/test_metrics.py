"""vcdfast.metrics against the peers' own outputs, hand-computed cases and metamorphic relations."""

import json
import math
import random
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from vcdfast import metrics
from vcdfast.metrics import Match

DATA = Path(__file__).parent / "data"
EPS = np.finfo(np.float64).eps


def m(qs, qe, rs, re, score=1.0, q="Q1", r="R2"):
    return Match(q, r, qs, qe, rs, re, score)


# --------------------------------------------------------------------------- VCSL, per pair


def test_vcsl_pair_matches_peer_cases():
    cases = json.loads((DATA / "vcsl_pair_metric_cases.json").read_text())["cases"]
    assert len(cases) == 300
    for case in cases:
        p, r = metrics.vcsl_pair_precision_recall(np.reshape(case["pred"], (-1, 4)), np.reshape(case["gt"], (-1, 4)))
        # the peer sums in float32 and adds 1e-6 to denominators (of ~10..100): 1e-4 covers both
        assert p == pytest.approx(case["precision"], abs=1e-4)
        assert r == pytest.approx(case["recall"], abs=1e-4)


@pytest.mark.parametrize(
    "pred, gt, expected",
    [
        # half the box on each axis overlaps: 1/2 * 1/2 both ways
        ([[0, 0, 10, 10]], [[5, 5, 15, 15]], (0.25, 0.25)),
        # VCSL Fig. 4: one copy found as two consecutive pieces is still perfect
        ([[0, 0, 5, 5], [5, 5, 10, 10]], [[0, 0, 10, 10]], (1.0, 1.0)),
        # VCSL Fig. 4(f): boxes aligned on each axis but not in 2-D score nothing
        ([[0, 20, 10, 30], [20, 0, 30, 10]], [[0, 0, 10, 10], [20, 20, 30, 30]], (0.0, 0.0)),
        # overlapping predictions count twice in the precision denominator (sum, not union):
        # tp per axis = 10 + 5 of 20 -> 0.75^2; recall sees the union of intersections = 10/10
        ([[0, 0, 10, 10], [5, 5, 15, 15]], [[0, 0, 10, 10]], (0.5625, 1.0)),
        # a prediction that covers two ground truths: precision (4+4)/20 per axis, recall 1
        ([[0, 0, 20, 20]], [[0, 0, 4, 4], [10, 10, 14, 14]], ((8 / 20) * (8 / 20), 1.0)),
        # the abnormal values VCSL assigns when a side is empty
        ([[0, 0, 1, 1]], [], (0.0, 1.0)),
        ([], [[0, 0, 1, 1]], (1.0, 0.0)),
        ([], [], (1.0, 1.0)),
    ],
)
def test_vcsl_pair_hand_cases(pred, gt, expected):
    assert metrics.vcsl_pair_precision_recall(pred, gt) == expected


def test_vcsl_pair_axes_split_the_products():
    # the query span found exactly, the reference span twice too long and starting early:
    # the query axis is perfect, the reference axis has half its length on the copy
    (p_q, p_r), (r_q, r_r) = metrics.vcsl_pair_axes([[0, 8, 10, 28]], [[0, 10, 10, 20]])
    assert (p_q, p_r, r_q, r_r) == (1.0, 0.5, 1.0, 1.0)
    assert metrics.vcsl_pair_precision_recall([[0, 8, 10, 28]], [[0, 10, 10, 20]]) == (0.5, 1.0)


def test_vcsl_micro_average_and_video_rates():
    gt = [m(0, 10, 0, 10, q="A"), m(0, 10, 0, 10, q="C")]
    pred = [m(0, 10, 0, 10, q="A"), m(0, 5, 0, 5, q="B")]
    # A: (1, 1); B: false alarm (0, 1); C: missed (1, 0)
    out = metrics.vcsl_segment_metric(pred, gt)
    assert (out["precision"], out["recall"], out["frr"], out["far"]) == (0.5, 0.5, 0.5, None)  # no negatives known
    assert out["f1"] == 0.5
    # listing a true negative pair D without predictions: P/R unchanged, FAR halves
    pairs = [("A", "R2"), ("B", "R2"), ("C", "R2"), ("D", "R2")]
    out = metrics.vcsl_segment_metric(pred, gt, pairs=pairs)
    assert (out["precision"], out["recall"], out["frr"], out["far"]) == (0.5, 0.5, 0.5, 0.5)
    # VCSL's formulas with its pos/neg ratio set to the true ratio give the same rates
    n, ratio = 4, 2 / 2
    assert out["frr"] == (1 + ratio) / ratio * 1 / n and out["far"] == (1 + ratio) * 1 / n


def test_vcsl_rejects_ground_truth_outside_pairs():
    with pytest.raises(ValueError, match="outside `pairs`"):
        metrics.vcsl_segment_metric([], [m(0, 1, 0, 1)], pairs=[("Q9", "R9")])


# --------------------------------------------------------------------------- VSC 2022


def test_vsc_matches_peer_cases():
    cases = json.loads((DATA / "vsc_matching_cases.json").read_text())["cases"]
    assert len(cases) == 200
    for case in cases:
        gt = [Match(*row) for row in case["gt"]]
        pred = [Match(*row) for row in case["pred"]]
        # same definition in float64; the peer adds per-prediction deltas in another order:
        # a few hundred additions of values <= 1 differ by at most ~1e3 * eps
        assert metrics.vsc_micro_ap(pred, gt) == pytest.approx(case["segment_ap"], abs=1e3 * EPS)
        assert metrics.video_ap(pred, gt) == pytest.approx(case["pair_ap"], abs=1e3 * EPS)


def test_vsc_hand_cases():
    gt = [m(4, 14, 10, 18)]
    assert metrics.vsc_micro_ap([m(4, 14, 10, 18)], gt) == 1.0
    assert metrics.vsc_micro_ap([m(4, 8, 10, 14, 1.0), m(8, 14, 14, 18, 2.0)], gt) == 1.0  # split segment
    # vsc2022's "imperfect, calibrated" case by hand (gt lengths q 10, r 8):
    # score 2: q 6/10, r 2/8, P 1; score 1: q 10/10, r 6/8, P 1; score 0: R 1, P sqrt(10/30 * 8/20)
    pred = [m(4, 8, 10, 14, 1.0), m(8, 14, 16, 18, 2.0), m(0, 30, 5, 25, 0.0)]
    r1, r2 = math.sqrt(0.6 * 0.25), math.sqrt(1.0 * 0.75)
    expected = r1 + (r2 - r1) + math.sqrt(10 / 30 * 8 / 20) * (1 - r2)
    assert metrics.vsc_micro_ap(pred, gt) == pytest.approx(expected, abs=4 * EPS)  # 4 roundings in the sum
    # the same predictions, miscalibrated: the imprecise one ranked first
    pred[2] = replace(pred[2], score=3.0)
    assert metrics.vsc_micro_ap(pred, gt) == pytest.approx(math.sqrt(10 / 30 * 8 / 20), abs=4 * EPS)
    # VCSL Fig. 4(f): predictions that match each axis separately but no box in 2-D
    fig4f = [m(4, 14, 21, 29), m(20, 28, 10, 18)]
    assert metrics.vsc_micro_ap(fig4f, [m(4, 14, 10, 18), m(20, 28, 21, 29)]) == 0.0
    # vsc2022's multiple pairs: the correct pair comes third, precision 1/3 when it does
    pred = [m(4, 14, 10, 18, 3.0, q="Q2"), m(4, 14, 10, 18, 2.0, r="R1"), m(4, 14, 10, 18, 1.0)]
    assert metrics.vsc_micro_ap(pred, gt) == 1 / 3


def test_video_ap_hand_cases():
    gt = [m(0, 1, 0, 1, q="1", r="10"), m(0, 1, 0, 1, q="2", r="11")]

    def c(q, r, s):
        return m(0, 1, 0, 1, s, q=q, r=r)

    assert metrics.video_ap([c("1", "10", 8), c("2", "11", 4), c("99", "99", 2)], gt) == 1.0
    assert metrics.video_ap([c("1", "10", 8), c("2", "11", 4), c("99", "99", 5)], gt) == (1 + 2 / 3) / 2
    assert metrics.video_ap([c("1", "10", 3), c("2", "10", 2), c("99", "99", 1)], gt) == 0.5
    assert metrics.video_ap([c("1", "10", 2), c("2", "10", 3), c("99", "99", 1)], gt) == 0.25
    # a tie is one threshold: both pairs enter together at precision 1/2
    assert metrics.video_ap([c("1", "10", 1), c("9", "9", 1)], gt) == 0.25
    # a pair's score is its best match
    assert metrics.video_ap([c("1", "10", 1), c("1", "10", 9), c("9", "9", 5)], gt) == 0.5


def test_empty_ground_truth_is_an_error():
    with pytest.raises(ValueError, match="ground truth is empty"):
        metrics.vsc_micro_ap([m(0, 1, 0, 1)], [])
    with pytest.raises(ValueError, match="ground truth is empty"):
        metrics.video_ap([m(0, 1, 0, 1)], [])


# --------------------------------------------------------------------------- retrieval


def test_hit_ratio_and_map_hand_cases():
    ranked = {"a": [1, 2, 3], "b": [1, 2, 3]}
    relevant = {"a": [3, 2], "b": [3, 2, 5], "c": []}  # "c" has nothing relevant: not averaged
    assert metrics.mhr_at_k(ranked, relevant, 3) == (1 + 2 / 3) / 2
    assert metrics.mhr_at_k({"a": [3, 2, 1], "b": [1, 2]}, relevant, 2) == (1 + 1 / 3) / 2
    # a: hits at ranks 2, 3 -> (1/2 + 2/3); b: the same hits
    assert metrics.map_at_k(ranked, relevant, 3, normalize="hits") == (1 / 2 + 2 / 3) / 2
    assert metrics.map_at_k(ranked, relevant, 3) == ((1 / 2 + 2 / 3) / 2 + (1 / 2 + 2 / 3) / 3) / 2
    assert metrics.map_at_k({}, relevant, 3) == 0.0
    with pytest.raises(ValueError, match="normalize"):
        metrics.map_at_k(ranked, relevant, 3, normalize="x")


def test_ranked_refs_orders_by_best_score():
    pred = [m(0, 1, 0, 1, 0.2, r="x"), m(0, 1, 0, 1, 0.9, r="y"), m(0, 1, 0, 1, 1.0, r="x"), m(0, 1, 0, 1, 0.9, r="w")]
    assert metrics.ranked_refs(pred) == {"Q1": ["x", "w", "y"]}


# --------------------------------------------------------------------------- files, metamorphic


def _random_set(seed):
    rng = np.random.default_rng(seed)
    gt, pred = [], []
    for q in range(4):
        for r in range(3):
            if rng.random() < 0.5:
                s = float(rng.uniform(0, 50))
                gt.append(m(s, s + 10, s + 3, s + 13, q=f"Q{q}", r=f"R{r}"))
            for _ in range(int(rng.integers(0, 3))):
                s = float(rng.uniform(0, 50))
                pred.append(m(s, s + float(rng.uniform(1, 12)), s + 3, s + 9, float(rng.choice([0.3, 0.6, 0.9])),
                              q=f"Q{q}", r=f"R{r}"))
    return pred, gt


@pytest.mark.parametrize("seed", range(5))
def test_shuffling_predictions_never_changes_a_score(seed):
    pred, gt = _random_set(seed)
    if not gt:
        pytest.skip("this seed drew no ground truth")
    reference = metrics.evaluate(pred, gt)
    for i in range(5):
        shuffled = list(pred)
        random.Random(seed * 10 + i).shuffle(shuffled)
        assert metrics.evaluate(shuffled, gt) == reference


def test_evaluate_files_round_trip(tmp_path):
    pred, gt = _random_set(3)
    metrics.write_matches_csv(pred, tmp_path / "pred.csv")
    # ground truth without a score column, columns in another order
    with open(tmp_path / "gt.csv", "w") as f:
        f.write("ref_id,query_id,query_start,query_end,ref_start,ref_end\n")
        for g in gt:
            f.write(f"{g.ref_id},{g.query_id},{g.query_start!r},{g.query_end!r},{g.ref_start!r},{g.ref_end!r}\n")
    assert metrics.read_matches_csv(tmp_path / "pred.csv") == pred
    assert metrics.read_ground_truth_csv(tmp_path / "gt.csv") == gt
    assert metrics.evaluate_files(tmp_path / "pred.csv", tmp_path / "gt.csv") == metrics.evaluate(pred, gt)


@pytest.mark.parametrize(
    "text, error",
    [
        ("query_id,ref_id,query_start\nq,r,1\n", "missing column"),
        ("query_id,ref_id,query_start,query_end,ref_start,ref_end,score\nq,r,1,x,0,1,1\n", "line 2: non-numeric"),
        ("query_id,ref_id,query_start,query_end,ref_start,ref_end,score\nq,r,1,2,0,1,nan\n", "must be finite"),
        ("query_id,ref_id,query_start,query_end,ref_start,ref_end,score\nq,r,3,2,0,1,1\n", "ends before it starts"),
    ],
)
def test_bad_csv_names_file_and_problem(tmp_path, text, error):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=error) as info:
        metrics.read_matches_csv(path)
    assert "bad.csv" in str(info.value)


class ForeignMatch(NamedTuple):
    """A match type of the caller's own: metrics read attributes, never the type."""

    query_id: str
    ref_id: str
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float


def test_accepts_any_match_type_with_the_vsc_columns(tmp_path):
    pred, gt = _random_set(1)
    foreign = [ForeignMatch(*(getattr(p, c) for c in metrics.COLUMNS)) for p in pred]
    assert metrics.evaluate(foreign, gt) == metrics.evaluate(pred, gt)
    metrics.write_matches_csv(foreign, tmp_path / "p.csv")
    assert metrics.read_matches_csv(tmp_path / "p.csv") == pred
