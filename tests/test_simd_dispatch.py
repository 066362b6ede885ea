"""Run-time SIMD dispatch: introspection (simd_levels, simd_level, build_info), forcing a level
(set_simd_level, VCDFAST_SIMD_LEVEL) and refusing levels this host cannot run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vcdfast

KNOWN = ["serial", "avx2", "avx512"]
PYTHON_DIR = str(Path(vcdfast.__file__).resolve().parent.parent)


def run_python(code: str, level: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("VCDFAST_SIMD_LEVEL", None)
    if level is not None:
        env["VCDFAST_SIMD_LEVEL"] = level
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_levels_are_known_and_ordered():
    levels = vcdfast.simd_levels()
    assert levels[0] == "serial"
    assert levels == [lvl for lvl in KNOWN if lvl in levels]  # lowest first, no unknown names


def test_default_level_is_the_best_supported():
    result = run_python("import vcdfast; print(vcdfast.simd_level())", None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == vcdfast.simd_levels()[-1]


def test_build_info_describes_the_build():
    info = vcdfast.build_info()
    assert set(info) >= {"version", "compiler", "build_type", "openmp", "compiled_levels", "supported_levels",
                         "active_level", "native"}
    assert info["compiled_levels"][0] == "serial"
    assert set(info["supported_levels"]) <= set(info["compiled_levels"])
    assert info["supported_levels"] == vcdfast.simd_levels()
    assert info["active_level"] == vcdfast.simd_level()
    json.dumps(info)  # plain data, printable by CI


def test_set_simd_level_switches_and_restores(simd_level):
    assert vcdfast.simd_level() == simd_level
    q = np.random.default_rng(0).standard_normal((5, 9), dtype=np.float32)
    assert vcdfast.cosine(q, q).shape == (5, 5)


def test_set_unknown_level_is_value_error():
    before = vcdfast.simd_level()
    with pytest.raises(ValueError, match=r"unknown SIMD level 'sse9'; use one of simd_levels\(\)"):
        vcdfast.set_simd_level("sse9")
    assert vcdfast.simd_level() == before


@pytest.mark.parametrize("level", [lvl for lvl in KNOWN if lvl not in vcdfast.simd_levels()] or ["(none)"])
def test_set_unsupported_level_is_value_error(level):
    if level == "(none)":
        pytest.skip("this host supports every level compiled in")
    before = vcdfast.simd_level()
    with pytest.raises(ValueError, match=rf"SIMD level '{level}' is not supported on this CPU"):
        vcdfast.set_simd_level(level)
    assert vcdfast.simd_level() == before


@pytest.mark.parametrize("level", vcdfast.simd_levels())
def test_env_var_forces_a_level(level):
    code = ("import numpy as np, vcdfast; q = np.ones((3, 4), np.float32); "
            "print(vcdfast.simd_level(), vcdfast.cosine(q, q)[0, 0])")
    result = run_python(code, level)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [level, "4.0"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sse9", r"VCDFAST_SIMD_LEVEL='sse9' is not a SIMD level; use serial, avx2 or avx512"),
        ("AVX2", r"VCDFAST_SIMD_LEVEL='AVX2' is not a SIMD level"),
    ]
    + [(lvl, rf"VCDFAST_SIMD_LEVEL='{lvl}' is not supported on this CPU")
       for lvl in KNOWN if lvl not in vcdfast.simd_levels()],
)
def test_env_var_with_bad_value_fails_the_import(value, message):
    result = run_python("import vcdfast", value)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_empty_env_var_means_default():
    result = run_python("import vcdfast; print(vcdfast.simd_level())", "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == vcdfast.simd_levels()[-1]


PRE_AVX_CHECK = """
import sys
import numpy as np
import vcdfast
sys.path.insert(0, sys.argv[1])
from reference import chamfer_products_ref, chamfer_symmetric_ref, cosine_ref
assert vcdfast.simd_levels() == ["serial"], vcdfast.simd_levels()
u = 2.0**-24
gamma = lambda n: n * u / (1 - n * u)
rng = np.random.default_rng(0)
q, r = rng.standard_normal((13, 37), dtype=np.float32), rng.standard_normal((21, 37), dtype=np.float32)
a, b = rng.standard_normal((5, 3, 20), dtype=np.float32), rng.standard_normal((7, 4, 20), dtype=np.float32)
# The bounds of test_similarity.py (cosine_bound, chamfer_bound) without the subnormal terms.
cos_ok = np.abs(vcdfast.cosine(q, r, num_threads=2) - cosine_ref(q, r)) <= gamma(38) * cosine_ref(abs(q), abs(r))
cham_bound = gamma(20 + 3 + 4 + 4) * chamfer_products_ref(abs(a), abs(b)).max(axis=(1, 3))
cham_ok = np.abs(vcdfast.chamfer_symmetric(a, b) - chamfer_symmetric_ref(a, b)) <= cham_bound
print(bool(cos_ok.all()), bool(cham_ok.all()))
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="needs qemu-user (apt-get install qemu-user)")
def test_baseline_code_runs_on_a_pre_avx_cpu():
    # Forcing "serial" on an AVX2 host cannot catch AVX instructions leaked into baseline code
    # (STYLE.md section 5); an emulated Nehalem (SSE4.2, no AVX) can: a leak is SIGILL here.
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("VCDFAST_SIMD_LEVEL", None)
    tests_dir = str(Path(__file__).resolve().parent)
    result = subprocess.run(["qemu-x86_64", "-cpu", "Nehalem", sys.executable, "-c", PRE_AVX_CHECK, tests_dir],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True"]
