"""The benchmark's scoring rules, on a split written by hand (no footage): bench_e2e's Judge
accepts a box on another showing of a copy's frames and nothing else, and sweep_query's rule
admits a report threshold only if it holds 0.05 lower too. Also the diagnostic tools' own
mechanics: the layout oracle's rectangles, and requery's true insets on a generated
picture-in-picture (decoded and embedded for real)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from vcdfast.metrics import Match

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_e2e  # noqa: E402
import bias_oracle  # noqa: E402
import subset_split  # noqa: E402
import sweep_query  # noqa: E402

# Q copies M's 10-14 s at 2-6 s (M shows those frames again at 30-34 s); N is copy-free.
GT = "query_id,ref_id,query_start,query_end,ref_start,ref_end\nQ,M,2.0,6.0,10.0,14.0\n"
LOG = {"query_id": "Q", "ref_id": "M", "part": 1, "query_start": 2.0, "query_end": 6.0, "ref_start": 10.0,
       "ref_end": 14.0, "repeats": [[2.0, 6.0, 30.0, 34.0]], "transforms": [{"name": "hflip", "params": {}}],
       "encoding": {}}


@pytest.fixture()
def judge(tmp_path):
    (tmp_path / "gt.csv").write_text(GT)
    (tmp_path / "transforms.jsonl").write_text(json.dumps(LOG) + "\n")
    (tmp_path / "dataset.json").write_text(json.dumps({
        "ground_truth": "gt.csv", "transforms": "transforms.jsonl",
        "queries": [{"id": "Q"}, {"id": "N"}],
        "references": [{"id": "M", "shots": [{"source": "clip", "seconds": 40.0, "start": 0.0}]}]}))
    return bench_e2e.Judge(tmp_path)


def box(qs, qe, rs, re, score=1.0, q="Q", r="M"):
    return Match(q, r, qs, qe, rs, re, score)


def test_a_box_on_either_showing_is_the_copy(judge):
    on_row, on_repeat = judge([box(2, 6, 10, 14)], detail=True), judge([box(2, 6, 30, 34)], detail=True)
    assert on_row["vcsl_f1"] == pytest.approx(1.0) and on_row["boxes_on_repeated_showings"] == 0
    assert on_repeat["vcsl_f1"] == pytest.approx(1.0) and on_repeat["boxes_on_repeated_showings"] == 1
    assert on_repeat["recall_by_transform"]["hflip"]["recall"] == pytest.approx(1.0)


def test_a_box_elsewhere_stays_false(judge):
    moved, n = judge.onto_rows([box(2, 6, 20, 24), box(8, 10, 30, 34), box(2, 6, 30, 34, r="X")])
    assert n == 0 and [(m.ref_start, m.ref_end) for m in moved] == [(20, 24), (30, 34), (30, 34)]
    assert judge([box(2, 6, 20, 24)])["vcsl_f1"] == 0.0


def test_a_box_on_the_row_and_the_repeat_is_one_copy_found_twice(judge):
    # both showings named: recall stays whole, and the second box lands on the first
    row = judge([box(2, 6, 10, 14), box(2, 4, 30, 32)])
    assert row["vcsl_recall"] == pytest.approx(1.0) and row["vcsl_precision"] == pytest.approx(1.0)


def test_copy_free_queries_flagged(judge):
    assert judge([box(0, 3, 0, 3, q="N")])["negatives_flagged"] == 1.0


def test_some_configurations_are_scored_but_never_written_to_the_report(tmp_path, monkeypatch, capsys):
    every = bench_e2e.configs()
    assert bench_e2e.chosen_configs(None) == every
    some = bench_e2e.chosen_configs(["vcdfast", "seed recipe (sscd)", "vcdfast"])
    assert list(some) == ["vcdfast", "seed recipe (sscd)"] and some["vcdfast"] == every["vcdfast"]
    # a name with a comma in it is one configuration
    assert list(bench_e2e.chosen_configs(["vcdfast, TN + trim instead of chains"])) == [
        "vcdfast, TN + trim instead of chains"]
    with pytest.raises(ValueError, match=r"unknown configuration 'sscd'; known: 'seed recipe \(sscd\)'"):
        bench_e2e.chosen_configs(["vcdfast", "sscd"])
    # refused before any split is read (the dataset folder does not exist)
    for argv, message in (([], "leave out --config"), (["--config", "nope"], "unknown configuration 'nope'")):
        md = tmp_path / "B.md"
        monkeypatch.setattr(sys, "argv", ["bench_e2e.py", str(tmp_path / "none"), "--config", "vcdfast",
                                          "--md", str(md), *argv])
        with pytest.raises(SystemExit) as exit_:
            bench_e2e.main()
        assert exit_.value.code == 2 and message in capsys.readouterr().err and not md.exists()


def test_a_subset_split_scores_only_its_queries(tmp_path):
    split, out = tmp_path / "heldout1", tmp_path / "heldout1-new"
    for d in ("refs", "queries"):
        (split / d).mkdir(parents=True)
        (split / d / "x").write_text(d)
    logs = [{**LOG, "query_id": q} for q in ("Q000", "Q061")]
    (split / "gt.csv").write_text(GT.replace("Q,", "Q000,") + "Q061,M,1.0,3.0,20.0,22.0\n")
    (split / "transforms.jsonl").write_text("".join(json.dumps(e) + "\n" for e in logs))
    (split / "sources.json").write_text("[]")
    queries = [{"id": q} for q in ("Q000", "Q001", "Q060", "Q061")]
    (split / "dataset.json").write_text(json.dumps({
        "split": "heldout1", "ground_truth": "gt.csv", "transforms": "transforms.jsonl", "sources": "sources.json",
        "queries": queries, "plan": queries, "references": [{"id": "M"}]}))
    assert subset_split.subset_split(split, out, "Q060") == 2
    sub = bench_e2e.Judge(out)
    assert sub.query_ids == ["Q060", "Q061"] and sub.negatives == ["Q060"]
    assert sub.true_pairs == {("Q061", "M")} and [e["query_id"] for e in sub.log] == ["Q061"]
    assert (out / "queries" / "x").read_text() == "queries" and (out / "refs" / "x").read_text() == "refs"
    assert json.loads((out / "dataset.json").read_text())["split"] == "heldout1-new"  # never taken for tuning
    assert subset_split.subset_split(out, tmp_path / "tune", "Q061") == 1
    assert json.loads((tmp_path / "tune" / "dataset.json").read_text())["subset_of"] == "heldout1"
    assert sub([box(1, 3, 20, 22, q="Q061"), box(2, 6, 10, 14, q="Q000")])["vcsl_f1"] == pytest.approx(1.0)
    assert subset_split.subset_split(split, tmp_path / "first", "Q000", "Q001") == 2
    assert bench_e2e.Judge(tmp_path / "first").true_pairs == {("Q000", "M")}
    with pytest.raises(ValueError, match="no query id"):
        subset_split.subset_split(split, tmp_path / "none", "Q200")


def test_intervals_resample_the_splits_queries(judge):
    # a perfect answer stays perfect however the queries are drawn; with a false alarm on the
    # copy-free N, a draw of Q twice scores F1 1, of Q and N 2/3, and of N twice holds no copy
    # and is drawn again
    perfect = judge.intervals([box(2, 6, 10, 14)], draws=200)
    assert perfect == {"vcsl_f1": [1.0, 1.0], "vsc_micro_ap": [1.0, 1.0]}
    answer = [box(2, 6, 10, 14), box(0, 3, 0, 3, q="N")]
    assert judge(answer)["vcsl_f1"] == pytest.approx(2 / 3, abs=1e-4)
    alarm = judge.intervals(answer, draws=200)
    assert alarm["vcsl_f1"] == [pytest.approx(2 / 3, abs=1e-4), 1.0]
    assert judge.intervals(answer, draws=200) == alarm  # seeded


def test_a_paired_difference_resamples_both_settings_on_the_same_queries(judge):
    perfect, answer = [box(2, 6, 10, 14)], [box(2, 6, 10, 14), box(0, 3, 0, 3, q="N")]
    same = judge.intervals(answer, draws=200, against=answer)["difference"]
    assert same == {"vcsl_f1": [0.0, 0.0], "vsc_micro_ap": [0.0, 0.0], "objective": [0.0, 0.0]}
    # the false alarm costs F1 only in draws that hold N: 1 - 2/3 there, 0 where Q is drawn twice
    better = judge.intervals(perfect, draws=200, against=answer)
    assert better["difference"]["vcsl_f1"] == [0.0, pytest.approx(1 / 3, abs=1e-4)]
    assert better["vcsl_f1"] == judge.intervals(perfect, draws=200)["vcsl_f1"]  # the same draws
    worse = judge.intervals(answer, draws=200, against=perfect)["difference"]
    assert worse["vcsl_f1"] == [pytest.approx(-1 / 3, abs=1e-4), 0.0]


def test_recall_per_edit_carries_an_interval_over_its_segments():
    # four hflip segments of Q's, two found whole and two missed: recall 0.5 with an interval
    # that a draw of only found or only missed segments stretches towards 1 and 0; the one
    # grey segment (found) stays at 1 whatever is drawn
    log = [{**LOG, "query_start": 10.0 * k, "query_end": 10.0 * k + 4, "ref_start": 10.0 * k,
            "ref_end": 10.0 * k + 4, "repeats": []} for k in range(4)]
    log.append({**log[0], "transforms": [{"name": "grayscale", "params": {}}]})
    found = [box(0, 4, 0, 4), box(10, 14, 10, 14)]
    by_edit, by_length = bench_e2e.per_segment_recall(found, log, draws=400)
    hflip = by_edit["hflip"]
    assert hflip["n"] == 4 and hflip["recall"] == pytest.approx(0.5)
    lo, hi = hflip["ci95"]
    assert 0.0 <= lo < 0.5 < hi <= 1.0 and hi - lo > 0.4
    assert by_edit["grayscale"] == {"recall": 1.0, "n": 1, "ci95": [1.0, 1.0]}
    assert by_length["< 5 s"]["n"] == 5
    assert bench_e2e.per_segment_recall(found, log, draws=400) == (by_edit, by_length)  # seeded
    assert bench_e2e._recall_cell(hflip) == f"0.500 (4; {lo:.2f}–{hi:.2f})"


def test_recall_losses_say_how_each_segment_was_lost():
    # four copies of M's: one found whole, one with half of each axis covered (VCSL recall
    # 0.25, the product of the axes'), one whose query moments match M 20 s away, one with no
    # box; the shares add up to 1 - mean segment recall
    log = [{**LOG, "query_start": 10.0 * k, "query_end": 10.0 * k + 4, "ref_start": 10.0 * k,
            "ref_end": 10.0 * k + 4, "repeats": []} for k in range(4)]
    found = [box(0, 4, 0, 4), box(10, 12, 10, 12), box(20, 24, 40, 44)]
    losses = bench_e2e.recall_losses(found, log)
    assert losses == {"found": {"segments": 1, "recall_lost": 0.0},
                      "partial": {"segments": 1, "recall_lost": 0.1875},
                      "misplaced": {"segments": 1, "recall_lost": 0.25},
                      "missed": {"segments": 1, "recall_lost": 0.25}}
    recalls = [r for _, r, _ in bench_e2e.segment_recalls(found, log)]
    assert sum(v["recall_lost"] for v in losses.values()) == pytest.approx(1 - sum(recalls) / len(recalls))
    # a box on another query's rows, or on another reference, covers nothing of these
    assert bench_e2e.recall_losses([box(30, 34, 30, 34, q="N"), box(30, 34, 30, 34, r="X")],
                                   log[3:])["missed"]["segments"] == 1


def test_recall_losses_per_edit_count_each_segment_under_each_of_its_edits():
    # hflip on all three copies (found, misplaced, missed); crop on the misplaced one with
    # grey; a copy with no edit is "plain"; each edit's shares add up to 1 - its recall
    log = [{**LOG, "query_start": 10.0 * k, "query_end": 10.0 * k + 4, "ref_start": 10.0 * k,
            "ref_end": 10.0 * k + 4, "repeats": []} for k in range(4)]
    log[1]["transforms"] = [*LOG["transforms"], {"name": "crop", "params": {}}, {"name": "grayscale", "params": {}}]
    log[3]["transforms"] = []
    found = [box(0, 4, 0, 4), box(10, 14, 40, 44), box(30, 34, 30, 34)]
    by_edit = bench_e2e.recall_losses_by_edit(found, log)
    assert sorted(by_edit) == ["crop", "grayscale", "hflip", "plain"]
    lost = {name: {k: v["recall_lost"] for k, v in d.items()} for name, d in by_edit.items()}
    assert lost["hflip"] == {"found": 0.0, "partial": 0.0, "misplaced": pytest.approx(1 / 3, abs=1e-4),
                             "missed": pytest.approx(1 / 3, abs=1e-4)}
    assert lost["crop"] == lost["grayscale"] == {"found": 0.0, "partial": 0.0, "misplaced": 1.0, "missed": 0.0}
    assert by_edit["plain"]["found"] == {"segments": 1, "recall_lost": 0.0}
    recall = bench_e2e.per_segment_recall(found, log, draws=10)[0]
    for name, d in by_edit.items():
        assert sum(v["recall_lost"] for v in d.values()) == pytest.approx(1 - recall[name]["recall"], abs=1e-3)


def test_axes_say_which_side_of_a_found_pair_is_off(judge):
    # the query side exact, the reference side 4 s longer (2 s either side); N's false
    # alarm is no found pair and stays out
    a = judge.axes([box(2, 6, 8, 16), box(0, 3, 0, 3, q="N")])
    assert a == {"pairs": 1, "precision": [1.0, 0.5], "recall": [1.0, 1.0]}
    assert judge.axes([])["pairs"] == 0


def _row(min_score, flagged, f1=0.8, views=("full",)):
    return {"model": "sscd-mobile", "label": None, "views": list(views), "candidates": 5, "trim_sim": None,
            "min_score": min_score, "vcsl_precision": f1, "vcsl_recall": f1, "vcsl_f1": f1, "vsc_micro_ap": f1,
            "video_ap": 1.0, "negatives_flagged": flagged, "candidate_recall": 1.0}


def test_figures_by_footage_split_photographs_from_clips(tmp_path):
    # M pans over a photograph for 20 s, then shows a clip; A copies the photograph, B the
    # clip, C across the cut. A is found exactly, B missed, C found on its first half only.
    (tmp_path / "gt.csv").write_text("query_id,ref_id,query_start,query_end,ref_start,ref_end\n"
                                     "A,M,0,4,2,6\nB,M,0,4,25,29\nC,M,0,4,18,22\n")
    (tmp_path / "transforms.jsonl").write_text("")
    (tmp_path / "dataset.json").write_text(json.dumps({
        "ground_truth": "gt.csv", "transforms": "transforms.jsonl", "queries": [{"id": q} for q in "ABC"],
        "references": [{"id": "M", "shots": [{"source": "p", "seconds": 20.0},
                                              {"source": "v", "seconds": 20.0, "start": 0.0}]}]}))
    j = bench_e2e.Judge(tmp_path)
    assert [j.footage((q, "M")) for q in "ABC"] == ["photographs", "clips", "both"]
    got = j.by_footage([box(0, 4, 2, 6, q="A"), box(0, 2, 18, 20, q="C"), box(0, 4, 0, 4, q="N")])
    assert got["photographs"] == {"pairs": 1, "vcsl_precision": 1.0, "vcsl_recall": 1.0, "vcsl_f1": 1.0}
    assert got["clips"] == {"pairs": 1, "vcsl_precision": 0.0, "vcsl_recall": 0.0, "vcsl_f1": 0.0}
    # half of each axis: recall 0.5 x 0.5
    assert got["both"]["vcsl_precision"] == 1.0 and got["both"]["vcsl_recall"] == pytest.approx(0.25)


def test_threshold_must_hold_with_a_margin():
    # at 0.2 nothing is flagged, but 0.15 flags 10%: 0.2 sits on the edge; 0.25 holds
    rows = [_row(-1.0, 0.5), _row(0.15, 0.1), _row(0.2, 0.0, f1=0.85), _row(0.25, 0.0, f1=0.84)]
    margin = sweep_query.flagged_with_margin(rows)
    assert [margin[id(r)] for r in rows] == [1.0, 0.5, 0.1, 0.0]
    assert sweep_query.choose(rows)[0]["min_score"] == 0.25
    # another setting's rows are not its margin
    other = _row(0.15, 0.0, views=("full", "flip"))
    assert sweep_query.flagged_with_margin([*rows, other])[id(rows[2])] == 0.1


def test_a_vetoed_setting_passes_the_choice_to_the_next_in_rank():
    # the lowest min score has no margin below it and is never admitted
    rows = [_row(0.15, 0.0, f1=0.5), _row(0.2, 0.0, f1=0.85), _row(0.25, 0.0, f1=0.84), _row(0.3, 0.0, f1=0.83)]
    chosen, vetoed = sweep_query.choose(rows, veto=lambda r: ["too early"] if r["min_score"] < 0.3 else [])
    assert chosen is rows[3]
    assert [(r["min_score"], p) for r, p in vetoed] == [(0.2, ["too early"]), (0.25, ["too early"])]
    assert sweep_query.choose(rows, veto=lambda r: ["no"]) == (None, [(r, ["no"]) for r in rows[1:]])


def test_a_setting_becomes_the_query_options_it_scored():
    from vcdfast.align import defaults
    from vcdfast.query import AlignMethod

    chain = {**defaults("chain"), "min_sim": 0.3, "stall_cost": 0.05}
    row = {"views": ["full", "flip", "1x2"], "part_margin": 0.1, "frame_neighbours": 64, "candidates": 5,
           "background": {"beta": 2.0, "k": 16}, "vote": "frame", "chain": chain, "trim_sim": None, "min_score": 0.2}
    o = sweep_query.query_options(row)
    assert (o.views, o.part_margin, o.candidates, o.background.beta, o.background.k, o.votes, o.method, o.min_score) \
        == (("full", "flip", "1x2"), 0.1, 5, 2.0, 16, "frame", AlignMethod.CHAIN, 0.2)
    assert o.alignment_params() == chain
    assert o.background.margin is None  # a row from before the bias had a cap: none, whatever the default
    capped = sweep_query.query_options({**row, "background": {"beta": 3.0, "k": 16, "margin": 0.3}})
    assert (capped.background.beta, capped.background.margin) == (3.0, 0.3)
    capped_row = {**row, "model": "sscd-mobile", "label": None, "background": {"beta": 3.0, "k": 16, "margin": 0.3}}
    assert "normalised (beta 3.0, k 16, bias at most b + 0.3)" in sweep_query.describe(capped_row)
    assert "normalised (beta 2.0, k 16)," in sweep_query.describe({**capped_row, "background": row["background"]})
    tn = {**sweep_query._kernel_tn(), "max_step": 5}
    seed = {**row, "views": ["full"], "part_margin": 0.0, "background": None, "vote": "sum", "chain": None, "tn": tn,
            "trim_sim": 0.2, "min_score": -1.0}
    o = sweep_query.query_options(seed)
    assert (o.background, o.votes, o.method, o.min_score) == (None, "sum", AlignMethod.TN, None)
    assert o.alignment_params() == {**tn, "trim_sim": 0.2, "trim_gap": defaults("tn")["trim_gap"]}


def test_grid_oracle_draws_copies_on_the_sampling_grid():
    """A copy at 2.3-6.6 s of the query from 10.0 s at 1.5x: at 1 fps its samples 3-6 s
    stand for 2.5-6.5 s, and the reference ends either snap to samples or follow its line."""
    import grid_oracle

    log = [{"query_id": "Q", "ref_id": "M", "query_start": 2.3, "query_end": 6.6, "ref_start": 10.0,
            "ref_end": 10.0 + 1.5 * 4.3}]
    (near,) = grid_oracle.oracle_boxes(log, 1.0, 1.0, "nearest")
    assert (near.query_start, near.query_end) == (2.5, 6.5)
    assert (near.ref_start, near.ref_end) == (10.5, 16.5)  # samples 11 (at 3 s: 11.05) and 16 (16.0)
    (line,) = grid_oracle.oracle_boxes(log, 1.0, 1.0, "slope")
    assert (line.ref_start, line.ref_end) == pytest.approx((10.3, 16.3))
    (fine,) = grid_oracle.oracle_boxes(log, 4.0, 4.0, "nearest")
    assert abs(fine.query_start - 2.3) <= 0.125 and abs(fine.query_end - 6.6) <= 0.125
    assert grid_oracle.oracle_boxes([{**log[0], "query_start": 2.1, "query_end": 2.4}], 1.0, 1.0, "nearest") == []


def test_layout_oracle_compares_at_the_copys_reference_moments():
    """A copy of M's 10-16 s at 2-6 s of the query (1.5x): each query sample is compared with
    the reference samples within 0.75 s of where its moment shows, through its best view."""
    import types

    import layout_oracle
    import numpy as np

    seg = {"query_start": 2.0, "query_end": 6.0, "ref_start": 10.0, "ref_end": 16.0}
    ts = np.arange(0.0, 20.0)
    ref = types.SimpleNamespace(timestamps=ts, vectors=np.eye(20, dtype=np.float32)[:, None])  # sample i: axis i
    times = np.array([2.0, 4.0, 5.0])  # show at 10 s, 13 s, 14.5 s
    q = np.zeros((3, 2, 20), np.float32)
    q[0, 1, 10] = 1.0  # second view on the right sample
    q[1, 0, 12] = 1.0  # 1 s away: outside the window
    q[2, 0, 14], q[2, 1, 15] = 0.5, 0.9  # both within 0.75 s of 14.5 s; the best counts
    np.testing.assert_allclose(layout_oracle.copy_similarity(q, times, seg, ref), [1.0, 0.0, 0.9])
    assert layout_oracle.iou([0, 0, 1, 1], [0.5, 0, 1.5, 1]) == pytest.approx(1 / 3)
    assert layout_oracle.iou([0, 0, 1, 1], [np.nan] * 4) == 0.0


def test_layout_oracle_cuts_the_true_rectangle():
    import layout_oracle
    import numpy as np

    frames = np.zeros((2, 60, 80, 3), np.uint8)
    frames[:, 15:45, 20:60] = (200, 10, 30)  # rows 0.25-0.75, columns 0.25-0.75 of the frame
    frames[1, 15:45, 20:40, 1] = 255  # the second frame's rectangle: green on its left half
    cut = layout_oracle.true_rectangles(frames, [0.25, 0.25, 0.75, 0.75], (16, 8))
    assert cut.shape == (2, 8, 16, 3)
    assert (cut[0] == (200, 10, 30)).all()
    assert (cut[1, :, :7, 1] == 255).all() and (cut[1, :, 9:, 1] == 10).all()


def test_requery_true_insets_replace_the_inset_views_inside_the_copy(tmp_path):
    """A generated picture-in-picture at 2-6 s of a 8 s query: the inset views of the samples
    inside the copy become the descriptors of the true rectangle (mirrored for inset-flip), as
    Embedder embeds that crop; every other sample and view keeps its own."""
    import layout_oracle
    import make_dataset
    import numpy as np
    import requery

    from vcdfast.decode import iter_frames
    from vcdfast.embed import Embedder
    from vcdfast.synthetic import Scenes
    from videos import make_video, picture_in_picture

    params = {"area": 0.3, "x": 0.8, "y": 0.2, "border": 0, "border_colour": [0, 0, 0]}
    box = layout_oracle.true_box("pip", params)
    size = (make_dataset.W // 2, make_dataset.H // 2)
    background = Scenes(1, size, scene_seconds=3.0)
    pip = picture_in_picture(Scenes(2, size, scene_seconds=3.0), background, tuple(box))

    def content(t):
        return pip(t) if 2.0 <= t <= 6.0 else background(t)

    make_video(tmp_path / "Q.mp4", seconds=8.0, fps=10, size=size, content=content)
    log = {"query_id": "Q", "ref_id": "M", "query_start": 2.0, "query_end": 6.0, "ref_start": 0.0, "ref_end": 4.0,
           "transforms": [{"name": "pip", "params": params}]}
    (tmp_path / "transforms.jsonl").write_text(json.dumps(log) + "\n")
    meta = {"transforms": "transforms.jsonl", "queries": [{"id": "Q", "path": "Q.mp4"}]}
    views = ("full", "inset", "inset-flip")
    emb = Embedder("sscd-mobile", views=views).embed_video(tmp_path / "Q.mp4")
    out = requery.with_true_insets({"Q": emb}, tmp_path, meta)["Q"]

    inside = (emb.timestamps >= 2.0) & (emb.timestamps <= 6.0)
    assert inside.sum() >= 4 and (~inside).sum() >= 3
    frames = np.stack([f for f, _ in iter_frames(tmp_path / "Q.mp4", emb.sampling,
                                                 size=Embedder("sscd-mobile", views=views).decode_size)])
    whole = Embedder("sscd-mobile", views=("full", "flip"))
    truth = whole.embed_frames(layout_oracle.true_rectangles(frames[inside], box, whole.decode_size))
    np.testing.assert_allclose(out.vectors[inside, 1], truth[:, 0], atol=1e-5)
    np.testing.assert_allclose(out.vectors[inside, 2], truth[:, 1], atol=1e-5)
    np.testing.assert_array_equal(out.vectors[:, 0], emb.vectors[:, 0])
    np.testing.assert_array_equal(out.vectors[~inside], emb.vectors[~inside])
    assert np.abs(out.vectors[inside, 1] - emb.vectors[inside, 1]).max() > 0.01  # the detected boxes differ


def test_bias_oracle_reads_each_copy_sample_against_its_true_reference_moment(judge):
    # 4 orthogonal directions; the copy shows reference samples 2-5 at query samples 10-13 (1x),
    # through view 1 (view 0 sees noise); the bias is view 1's, as the query path subtracts it
    d = np.eye(8, dtype=np.float32)
    ref = d[[0, 0, 1, 2, 3, 4, 0, 0]][:, None, :]                       # (8, 1, 8), samples at 0..7 s
    q = np.zeros((16, 2, 8), np.float32)
    q[:, 0] = d[7]
    q[10:14, 1] = d[[1, 2, 3, 4]]
    times = np.arange(16.0)
    bias = np.zeros((16, 2), np.float32)
    bias[12, 1] = 0.95                                                 # a generic-looking sample
    seg = {"query_start": 10.0, "query_end": 14.0, "ref_start": 2.0, "ref_end": 6.0}
    raw, norm, top, cols = bias_oracle.copy_cells(q, times, bias, ref, np.arange(8.0), seg)
    assert cols.tolist() == [2, 3, 4, 5]
    assert raw == pytest.approx([1, 1, 1, 1]) and norm == pytest.approx([1, 1, 0.05, 1], abs=1e-6)
    assert top == pytest.approx([0, 0, 0.95, 0])
    # at half speed the line runs 2, 2.5, 3, 3.5 s on the reference (ties go to the earlier sample)
    slow = {**seg, "ref_end": 4.0}
    assert bias_oracle.copy_cells(q, times, None, ref, np.arange(8.0), slow)[3].tolist() == [2, 2, 3, 3]
    assert bias_oracle.source_at(judge, "M", 3.0) == "clip" and bias_oracle.source_at(judge, "vtest", 3.0) == "vtest"


def test_only_the_tuning_split_is_for_choosing(judge, tmp_path):
    # the fixture's dataset.json names no split: refused, as a held-out one is
    with pytest.raises(SystemExit, match="not a tuning split"):
        sweep_query.require_tuning_split(tmp_path)
    meta = json.loads((tmp_path / "dataset.json").read_text())
    (tmp_path / "dataset.json").write_text(json.dumps({**meta, "split": "tune"}))
    assert sweep_query.require_tuning_split(tmp_path)["ground_truth"] == "gt.csv"
    # a held-out split's queries in a folder named tune (bench/subset_split.py) stay held out
    (tmp_path / "dataset.json").write_text(json.dumps({**meta, "split": "tune", "subset_of": "heldout1"}))
    with pytest.raises(SystemExit, match="a subset of 'heldout1'"):
        sweep_query.require_tuning_split(tmp_path)


def test_requery_refuses_a_work_folder_of_another_split_or_an_unfinished_one(judge, tmp_path):
    import requery

    work = tmp_path / "work"
    work.mkdir()
    (work / "split.json").write_text(json.dumps({"split": "elsewhere", "gt_sha256": "0" * 64}))
    meta = json.loads((tmp_path / "dataset.json").read_text())
    with pytest.raises(SystemExit, match="another split"):
        requery.open_index(tmp_path, meta, work, ("full",))
    assert not (work / "index-full").exists()
    # an index with no mark of having been built is a run's, stopped before it finished adding
    (work / "split.json").unlink()
    (work / "index-full").mkdir()
    with pytest.raises(SystemExit, match="stopped while indexing"):
        requery.open_index(tmp_path, meta, work, ("full",))
    assert json.loads((work / "split.json").read_text())["split"] == str(tmp_path.resolve())


def test_requery_settings_name_their_reference_views():
    """A setting's "reference_views" picks the index, not a QueryOptions field; without it the
    index's default views."""
    import requery

    from vcdfast.index.settings import DEFAULT_INDEX_VIEWS
    from vcdfast.views import expand_views

    fields = {"reference_views": ["blend:0.8:0.5"], "min_score": 0.2}
    assert requery.reference_views(fields) == ("blend:0.8:0.5",)
    assert requery.query_options(fields).min_score == 0.2
    assert requery.reference_views({"min_score": 0.2}) == expand_views(DEFAULT_INDEX_VIEWS)
    assert requery.lower_setting(fields) == {"reference_views": ["blend:0.8:0.5"], "min_score": 0.15}
    with pytest.raises(ValueError, match="unknown view"):
        requery.reference_views({"reference_views": ["blend:2:0.5"]})


def test_requery_prints_the_objective_and_where_recall_goes(judge):
    import requery

    # the copy found on its repeat, and a chance box on the copy-free query
    line = requery.summary(judge([box(2, 6, 30, 34, 0.9), box(1, 3, 1, 3, 0.5, q="N")], detail=True))
    assert line["objective"] == pytest.approx((line["vcsl_f1"] + line["vsc_micro_ap"]) / 2, abs=1e-4)
    assert line["negatives_flagged"] == 1.0
    assert line["recall_by_edit"] == {"hflip": 1.0}
    assert line["recall_losses"]["found"]["segments"] == 1
    assert line["recall_lost_by_edit"] == {"hflip": {"partial": 0.0, "misplaced": 0.0, "missed": 0.0}}


def test_the_post_stages_run_each_at_the_best_of_the_stage_before():
    """Refinement steps, then the speed prior at the best steps, then the end growth's floor
    at the best prior; a tie of floors goes to the higher one, and a value the real-footage
    check fails is not chosen however it scores."""
    from vcdfast.align import defaults

    extra = {"background": {"beta": 3.0, "k": 16}, "vote": "frame", "chain": defaults("chain"), "tn": None,
             "full_score_seconds": 12.0}
    rows = [{**_row(0.15, 0.0, f1=0.7), **extra}, {**_row(0.2, 0.0, f1=0.8), **extra}]
    asked = []

    def refine(row, runs):
        asked.append(runs)
        gains = {"refine_steps": {2: 0.02}, "speed_prior": {0.05: 0.01}, "extend_min_sim": {0.05: 0.005, 0.1: 0.005,
                                                                                            0.0: 0.03}}
        out = []
        for post in runs:
            gain = sum(gains[k].get(v, 0.0) for k, v in post.items())
            out.append({**row, **post, "refine_cpu": 0.01, "vcsl_f1": row["vcsl_f1"] + gain,
                        "vsc_micro_ap": row["vsc_micro_ap"] + gain})
        return out

    def veto(r):
        return ["too long"] if r.get("extend_min_sim") == 0.0 else []

    text = sweep_query.table(rows, "tune", veto=veto, refine=refine)
    post = ("refine_steps", "speed_prior", "extend_min_sim")
    assert asked == [[dict(zip(post, (n, None, None))) for n in sweep_query.REFINE_STEPS],
                     [dict(zip(post, (2, p, None))) for p in sweep_query.SPEED_PRIORS],
                     [dict(zip(post, (2, 0.05, x))) for x in sweep_query.EXTEND_MIN_SIMS]]
    grown = text.split("`extend_min_sim`")[1]
    assert "| **0.1** |" in grown and "| 0.05 |" in grown and "0.8350 |" in grown
    assert "| 0.0 |" in grown and "| too long |" in grown
    assert sweep_query.query_options({**rows[1], "refine_steps": 2, "extend_min_sim": 0.1}).extend_min_sim == 0.1


def test_requery_grid_runs_each_setting_and_its_lower_min_score_once():
    import requery

    from vcdfast.query import QueryOptions

    settings, runs = requery.grid_settings({"background": [{"beta": 3, "margin": 0.3}], "min_score": [0.2, 0.15]})
    assert settings == [{"background": {"beta": 3, "margin": 0.3}, "min_score": 0.2},
                        {"background": {"beta": 3, "margin": 0.3}, "min_score": 0.15}]
    assert [r["min_score"] for r in runs] == [0.2, 0.15, 0.1]  # 0.15 is both a setting and 0.2's check
    # no min score given: the check runs at the default's minus the margin; None has no check
    assert requery.grid_settings({"speed_prior": [0.1]})[1] == [
        {"speed_prior": 0.1}, {"speed_prior": 0.1, "min_score": round(QueryOptions().min_score - 0.05, 6)}]
    assert requery.grid_settings({"min_score": [None]})[1] == [{"min_score": None}]
    # a list of grids: each one's combinations in turn, a setting repeated runs once
    settings, runs = requery.grid_settings([{"min_score": [0.3]}, {"min_score": [0.25, 0.3]}])
    assert settings == [{"min_score": 0.3}, {"min_score": 0.25}]
    assert [r["min_score"] for r in runs] == [0.3, 0.25, 0.2]


def test_requery_grid_choice_needs_the_threshold_to_hold_lower_too():
    import requery

    def line(min_score, objective, flagged, margin=0.3):
        return {"options": {"background": {"beta": 3, "margin": margin}, "min_score": min_score},
                "objective": objective, "negatives_flagged": flagged, "vcsl_precision": 0.9, "vcsl_recall": 0.8,
                "vcsl_f1": 0.85, "vsc_micro_ap": 0.9, "video_ap": 0.95, "recall_by_edit": {"crop": 0.5}}

    # margin 0.3 at 0.2 holds at 0.15 (5% flagged); margin 0.25 at 0.2 scores higher but
    # flags 30% at 0.15; 0.15 alone flags 5% but 20% at 0.1
    lines = [line(0.2, 0.888, 0.0), line(0.15, 0.890, 0.05), line(0.1, 0.86, 0.2),
             line(0.2, 0.891, 0.0, 0.25), line(0.15, 0.85, 0.3, 0.25)]
    settings = [lines[0]["options"], lines[1]["options"], lines[3]["options"]]
    chosen, rows = requery.grid_choice(settings, lines)
    assert chosen["options"] == lines[0]["options"]
    assert [r["at_margin"] for r in rows] == [0.05, 0.2, 0.3]
    table = requery.grid_table(rows, chosen)
    assert table.count("\n| `") == 3 and "| 0.00 | 0.05 | 0.8880 | – | 0.50 / – / – / – / – |" in table
    rows[0]["against"] = {"objective": [-0.00001, 0.0024]}
    assert "| +0.0000 to +0.0024 |" in requery.grid_table(rows, chosen)
    assert table.rstrip().endswith(f"`{json.dumps(lines[0]['options'], sort_keys=True)}` (objective 0.8880)")
    # an equal objective goes to the higher min score; nothing admitted says so
    tie = [line(0.2, 0.888, 0.0), line(0.15, 0.888, 0.0), line(0.1, 0.8, 0.0)]
    assert requery.grid_choice([tie[0]["options"], tie[1]["options"]], tie)[0]["options"]["min_score"] == 0.2
    none = [line(0.2, 0.888, 0.1), line(0.15, 0.88, 0.1)]
    assert requery.grid_choice([none[0]["options"]], none)[0] is None
    assert "Rule's choice: none admitted" in requery.grid_table(requery.grid_choice([none[0]["options"]], none)[1],
                                                                None)
