"""The one table of alignment parameters (cpp/include/vcdfast/align_params.hpp): the kernels, the
bindings and Python read their defaults and ranges from it, and no other source restates one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import vcdfast
from vcdfast import _core
from vcdfast.align import defaults, params
from vcdfast.query import AlignMethod, method_params

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["tn", "hv", "dp", "dtw", "chain"]


def _map():
    rng = np.random.default_rng(0)
    sim = rng.uniform(0, 0.4, (40, 50)).astype(np.float32)
    sim[np.arange(5, 30), np.arange(10, 35)] = 0.9
    return sim


def test_each_method_takes_its_rows_and_the_trim_rows():
    table = params()
    for method in METHODS:
        names = [row["name"] for row in table if row["group"] in (method, "trim")]
        assert list(defaults(method)) == names
        assert defaults(method)["trim_sim"] is None  # the single-pair kernels do not trim by default
    assert {row["group"] for row in table} == {*METHODS, "trim", "norm"}


@pytest.mark.parametrize("method", METHODS)
def test_the_kernels_defaults_are_the_tables(method):
    # a kernel called without keywords equals one given every default of the table explicitly
    kernel = getattr(vcdfast.align, method)
    implicit, explicit = kernel(_map()), kernel(_map(), **defaults(method))
    np.testing.assert_array_equal(implicit.boxes, explicit.boxes)
    np.testing.assert_array_equal(implicit.scores, explicit.scores)


@pytest.mark.parametrize("method", METHODS)
def test_every_lower_bound_is_enforced(method):
    for row in params():
        if row["group"] != method or row["min"] is None:
            continue
        bad = row["min"] - 1 if row["kind"] == "int" else (row["min"] if not row["min_inclusive"] else row["min"] - 0.5)
        with pytest.raises(ValueError, match=f"{method}: {row['name']} must be"):
            getattr(vcdfast.align, method)(_map(), **{row["name"]: bad})


def test_query_defaults_differ_from_the_kernels_only_for_tn():
    for method in AlignMethod:
        query, kernel = method_params(method, None), defaults(method.value)
        changed = {k for k in kernel if query[k] != kernel[k]}
        assert changed == ({"max_step", "min_sim", "min_length", "trim_sim"} if method is AlignMethod.TN else set())
    assert method_params(AlignMethod.TN, {"trim_sim": None})["trim_sim"] is None


def _number(node) -> float | None:
    sign = -1 if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else 1
    node = node.operand if isinstance(node, ast.UnaryOp) else node
    return sign * node.value if isinstance(node, ast.Constant) and type(node.value) in (int, float) else None


def test_no_source_restates_an_alignment_default():
    # In the Python package and the benchmarks: no parameter of the table gets one of its
    # defaults (kernel or query) as a function default, a dict literal entry or an assignment
    # (prose in docstrings, e.g. VCSL's own values, is not code; index's 64 neighbours per frame
    # are not TN's top_k). In the bindings: no number assigned to a parameter name. Each
    # default lives in the table alone.
    names = {row["name"] for row in params()}
    values = {name: set() for name in names}
    for row in params():
        values[row["name"]].add(row["default"])
    for method in METHODS:
        for name, value in defaults(method, preset="query").items():
            values[name].add(value)
    hits = []
    for path in [*(ROOT / "python" / "vcdfast").rglob("*.py"), *(ROOT / "bench").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            pairs = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = args.posonlyargs + args.args
                pairs += zip(positional[len(positional) - len(args.defaults):], args.defaults)
                pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                pairs = [(a.arg, d) for a, d in pairs]
            elif isinstance(node, ast.Dict):
                pairs = [(k.value, v) for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)]
            elif isinstance(node, ast.Assign):
                pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
            hits += [f"{path.name}:{node.lineno}: {name}" for name, value in pairs
                     if name in names and _number(value) is not None and _number(value) in values[name]]
    pattern = re.compile(rf"""\b({"|".join(sorted(names))})\b"?\)?\s*=\s*-?[\d.]""")
    for path in (ROOT / "cpp" / "bindings").glob("*.[ch]pp"):
        hits += [f"{path.name}: {m.group(0)}" for m in pattern.finditer(path.read_text())]
    assert not hits, hits


def test_values_of_the_wrong_type_are_type_errors():
    with pytest.raises(TypeError, match="tn parameter 'max_step' must be an int, got bool"):
        _core.tn(_map(), max_step=True)
    with pytest.raises(TypeError, match="trim_sim' must be a real number, got str"):
        _core.tn(_map(), trim_sim="0.6")
    with pytest.raises(ValueError, match="preset must be 'kernel' or 'query'"):
        defaults("tn", preset="tuned")
