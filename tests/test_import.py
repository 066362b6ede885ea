"""`import vcdfast` stays light: it loads NumPy and the C++ core, never the decoding, model,
storage or plotting stacks (those are imported by the modules that use them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import vcdfast

PYTHON_DIR = str(Path(vcdfast.__file__).resolve().parent.parent)
HEAVY = ["av", "onnxruntime", "pymilvus", "milvus_lite", "plyvel", "matplotlib", "torch"]

# Budget for vcdfast's own import, NumPy excluded (NumPy is the one dependency it must load):
# 250 ms, best of 3 runs. vcdfast's modules, importlib.metadata and the extension take ~30 ms on
# an idle machine and ~130 ms on a busy 2-core CI box; pymilvus (~2.6 s) and torch (~7 s) blow it
# at once. Light forbidden modules (plyvel: ~3 ms) are caught by the sys.modules check instead.
BUDGET_US = 250_000


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
    own = []
    for _ in range(3):
        result = run_python("-X", "importtime", "-c", "import vcdfast")
        assert result.returncode == 0, result.stderr
        own.append(cumulative_us(result.stderr, "vcdfast") - cumulative_us(result.stderr, "numpy"))
    assert min(own) <= BUDGET_US, f"import vcdfast costs {min(own) / 1000:.0f} ms beyond numpy (budget 250 ms)"
