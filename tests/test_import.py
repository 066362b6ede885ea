"""`import vcdfast` stays light: it loads NumPy and the C++ core, never the decoding, model,
storage or plotting stacks (those are imported by the modules that use them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vcdfast

PYTHON_DIR = str(Path(vcdfast.__file__).resolve().parent.parent)
HEAVY = ["av", "onnxruntime", "pymilvus", "milvus_lite", "plyvel", "faiss", "matplotlib", "torch"]

# Budget: vcdfast's own import (its modules, importlib.metadata, the extension) may cost at most
# 0.75x NumPy's import time, measured in the same process, best of 3 runs. A ratio, not
# milliseconds, so a loaded CI box does not make it flaky: it measured 0.25-0.4x on the 2-core dev
# box at load averages 8 to 23. pymilvus (~6x NumPy), torch (~17x) or matplotlib (~1.3x) each blow
# it; lighter forbidden modules (onnxruntime ~0.4x, plyvel ~3 ms) are caught by the sys.modules check.
BUDGET_VS_NUMPY = 0.75


def run_python(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("VCDFAST_SIMD_LEVEL", None)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)


def test_import_does_not_load_heavy_modules():
    code = f"import sys, json, vcdfast; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def cumulative_us(importtime_stderr: str, module: str) -> int:
    """Cumulative microseconds of `module` from `python -X importtime` output."""
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.split("|")[-1].strip() == module:
            return int(line.split("|")[1])
    raise AssertionError(f"{module} not in -X importtime output")


def test_import_time_budget():
    ratios = []
    for _ in range(3):
        result = run_python("-X", "importtime", "-c", "import vcdfast")
        assert result.returncode == 0, result.stderr
        numpy_us = cumulative_us(result.stderr, "numpy")
        ratios.append((cumulative_us(result.stderr, "vcdfast") - numpy_us) / numpy_us)
    assert min(ratios) <= BUDGET_VS_NUMPY, f"import vcdfast costs {min(ratios):.2f}x NumPy's import beyond it"


def test_version_is_the_installed_distribution_s():
    from importlib import metadata

    try:
        dist = metadata.distribution("vcdfast")
    except metadata.PackageNotFoundError:
        pytest.skip("vcdfast is not installed here: the tests import it from the source tree")
    if Path(dist.locate_file("vcdfast/__init__.py")).resolve() != Path(vcdfast.__file__).resolve():
        pytest.skip(f"the imported vcdfast ({vcdfast.__file__}) is not the installed distribution's")
    assert vcdfast.__version__ == dist.version
