"""The core's own tests and the fuzz examples under AddressSanitizer.

Builds vcdfast._core from this source tree with -DVCDFAST_SANITIZE=address (into
build/asan-tests, kept between runs so a rerun only recompiles what changed), puts it in a
temporary copy of the vcdfast package, and runs the similarity, alignment and fuzz test
files against it in a child process with libasan (and libstdc++) preloaded; Python itself
is not instrumented. Any AddressSanitizer report fails the test. Skipped, with the reason,
when the sources, CMake/Ninja, a compiler, pybind11's CMake files or libasan are missing
(e.g. when the tests run against an installed wheel).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNEL_TESTS = ["test_similarity.py", "test_similarity_bad_input.py", "test_align_bad_input.py",
                "test_align_batch.py", "test_align_dp_dtw.py", "test_align_metamorphic.py", "test_align_tn_hv.py",
                "test_fuzz_core.py"]
FUZZ_EXAMPLES_UNDER_ASAN = 25  # ASan costs ~2-3x; the plain run covers the full example count
BUILD_TIMEOUT_S = 1200  # a cold build of every SIMD kernel file on 2 busy cores
TEST_TIMEOUT_S = 900

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found; the AddressSanitizer build needs it")
    return path


def _preload() -> str:
    """LD_PRELOAD for an uninstrumented python: libasan first, and libstdc++ with it, since ASan
    resolves its C++ exception interceptor (__cxa_throw) at start-up, before the extension
    would load libstdc++ (without it every C++ throw dies in an ASan CHECK)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found; it locates libasan.so")
    libs = []
    for lib in ("libasan.so", "libstdc++.so"):
        name = subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
        path = os.path.realpath(name)
        if not os.path.isabs(name) or not os.path.exists(path):
            pytest.skip(f"{lib} not installed (Debian: apt-get install libasan8 libstdc++6)")
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                pytest.skip(f"{path} is not a shared object (a linker script?)")
        libs.append(path)
    return " ".join(libs)


def _build() -> Path:
    """build/asan-tests/_core*.so, configured once and rebuilt incrementally, under a file lock
    so concurrent test runs do not build over each other."""
    if not (ROOT / "CMakeLists.txt").is_file() or not (ROOT / "cpp").is_dir():
        pytest.skip(f"no vcdfast source tree at {ROOT} (tests running against an installed package)")
    cmake, _ = _tool("cmake"), _tool("ninja")
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler found")
    pybind11_dir = subprocess.run([sys.executable, "-m", "pybind11", "--cmakedir"], capture_output=True, text=True)
    if pybind11_dir.returncode != 0:
        pytest.skip("pybind11 (with its CMake files) is not installed")
    build = ROOT / "build" / "asan-tests"
    build.mkdir(parents=True, exist_ok=True)
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build / "build.ninja").exists():
            _run([cmake, "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DVCDFAST_SANITIZE=address",
                  "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-Dpybind11_DIR={pybind11_dir.stdout.strip()}"])
        _run([cmake, "--build", str(build), "--target", "_core", "-j", "2"])
    built = sorted(build.glob("_core*.so"))
    assert built, f"the build in {build} produced no _core*.so"
    return built[0]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _package_with(core: Path, dest: Path) -> Path:
    """A copy of python/vcdfast with the ASan build as its _core, in dest/vcdfast."""
    pkg = dest / "vcdfast"
    shutil.copytree(ROOT / "python" / "vcdfast", pkg, ignore=shutil.ignore_patterns("_core*.so", "__pycache__"))
    shutil.copy2(core, pkg / core.name)
    return dest


def test_core_tests_are_clean_under_address_sanitizer(tmp_path):
    preload = _preload()
    core = _build()
    site = _package_with(core, tmp_path / "site")
    reports = tmp_path / "asan"
    env = dict(os.environ, LD_PRELOAD=preload, PYTHONPATH=str(site), VCDFAST_FUZZ_INNER="1",
               VCDFAST_FUZZ_EXAMPLES=str(FUZZ_EXAMPLES_UNDER_ASAN),
               # leaks: CPython never frees some allocations by design. allocator_may_return_null: an
               # impossible size must reach the code as std::bad_alloc (MemoryError), as without ASan.
               # log_path: a report survives pytest's output capture of a process that ASan stops.
               ASAN_OPTIONS=f"detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:log_path={reports}")
    env.pop("VCDFAST_SIMD", None)

    probe = subprocess.run([sys.executable, "-c", "import vcdfast; print(vcdfast.build_info()['sanitizer']);"
                            "print(vcdfast._core.__file__)"], capture_output=True, text=True, env=env, timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    sanitizer, imported = probe.stdout.split()
    assert sanitizer == "address" and imported.startswith(str(site)), probe.stdout

    tests = [str(ROOT / "tests" / name) for name in KERNEL_TESTS if (ROOT / "tests" / name).exists()]
    cmd = [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
           "-o", "python_functions=test_* fuzz_*",  # test_fuzz_core.py's examples, run in-process here
           "-W", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TEST_TIMEOUT_S, cwd=tmp_path)
    output = done.stdout + done.stderr
    logged = "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("asan.*")))
    assert not logged and "AddressSanitizer" not in output, (logged or output)[-8000:]
    assert done.returncode == 0, f"tests failed under ASan (rc {done.returncode}):\n{output[-8000:]}"
