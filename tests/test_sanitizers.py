"""The core's own tests under AddressSanitizer and ThreadSanitizer.

Each builds vcdfast._core from this source tree with -DVCDFAST_SANITIZE=address|thread for the
Python running the tests (into build/asan-tests-<python> or build/tsan-<python>, kept between
runs so a rerun only recompiles what changed), puts it in a temporary copy of the vcdfast
package, and runs core test files against it in a child process with the sanitizer runtime
preloaded; Python itself is not instrumented. Any sanitizer report fails the test. Skipped,
with the reason, when the sources, CMake/Ninja, a compiler, pybind11's CMake files or a runtime
library are missing (e.g. when the tests run against an installed wheel).

ASan: the similarity, alignment, trimming, parameter-table and fuzz test files.

TSan: the files that run the core on several threads: align_batch with num_threads=2, cancel
from another thread, the GIL released during a batch, kernels called from a thread pool,
and a batch while another thread switches the SIMD level. GCC's libgomp hands work to its
threads through raw futexes that TSan cannot see, so under it every read, after a parallel
region, of what the region's threads wrote is reported as a race (measured: the binding
reading align_batch's results). The run therefore loads LLVM's OpenMP runtime (libomp, which
implements libgomp's GOMP_* entry points, so GCC-compiled code runs on it unchanged) with
its Archer tool, which tells TSan about OpenMP's fork, join, barriers and locks;
ignore_noninstrumented_modules keeps TSan from reporting libomp's own uninstrumented
internals (its mutexes, initialised on one thread and taken on another). No suppressions. A
canary shows the setup works both ways: a racy OpenMP loop compiled here is reported, a
correct one (threads write, the caller reads after the join) is not.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASAN_TESTS = ["test_similarity.py", "test_similarity_bad_input.py", "test_align_bad_input.py",
              "test_align_batch.py", "test_align_dp_dtw.py", "test_align_metamorphic.py", "test_align_tn_hv.py",
              "test_fuzz_core.py", "test_query_trim.py", "test_query_view_max.py", "test_align_params.py"]
TSAN_TESTS = ["test_align_batch.py", "test_similarity.py", "test_query_view_max.py",
              "test_fuzz_core.py::fuzz_align_batch_while_another_thread_switches_simd_level"]
FUZZ_EXAMPLES_UNDER_ASAN = 25  # ASan costs ~2-3x; the plain run covers the full example count
BUILD_TIMEOUT_S = 1200  # a cold build of every SIMD kernel file on 2 busy cores
TEST_TIMEOUT_S = 900

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found; the sanitizer build needs it")
    return path


def _shared_object(path: str, install_hint: str) -> str:
    real = os.path.realpath(path)
    if not os.path.isabs(path) or not os.path.exists(real):
        pytest.skip(f"{os.path.basename(path)} not installed ({install_hint})")
    with open(real, "rb") as f:
        if f.read(4) != b"\x7fELF":
            pytest.skip(f"{real} is not a shared object (a linker script?)")
    return real


def _gcc_lib(lib: str, install_hint: str) -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip(f"gcc not found; it locates {lib}")
    name = subprocess.run([gcc, f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
    return _shared_object(name, install_hint)


def _llvm_openmp() -> tuple[str, str]:
    """LLVM's libomp and its Archer tool (newest LLVM first)."""
    for lib_dir in sorted(glob.glob("/usr/lib/llvm-*/lib"), key=lambda d: int(d.split("-")[-1].split("/")[0]),
                          reverse=True):
        omp, archer = os.path.join(lib_dir, "libomp.so.5"), os.path.join(lib_dir, "libarcher.so")
        if os.path.exists(omp) and os.path.exists(archer):
            hint = "Debian: apt-get install libomp-14-dev"
            return _shared_object(omp, hint), _shared_object(archer, hint)
    pytest.skip("LLVM's OpenMP runtime with Archer (libomp.so.5 + libarcher.so) not found; TSan cannot see "
                "libgomp's synchronisation without it (Debian: apt-get install libomp-14-dev)")


def _build(sanitizer: str, folder: str) -> Path:
    """build/<folder>-<python>/_core*.so for the Python running the tests (CMake left to itself
    may find another one), configured once and rebuilt incrementally, under a file lock so
    concurrent test runs do not build over each other."""
    if not (ROOT / "CMakeLists.txt").is_file() or not (ROOT / "cpp").is_dir():
        pytest.skip(f"no vcdfast source tree at {ROOT} (tests running against an installed package)")
    cmake, _ = _tool("cmake"), _tool("ninja")
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler found")
    pybind11_dir = subprocess.run([sys.executable, "-m", "pybind11", "--cmakedir"], capture_output=True, text=True)
    if pybind11_dir.returncode != 0:
        pytest.skip("pybind11 (with its CMake files) is not installed")
    build = ROOT / "build" / f"{folder}-{sys.implementation.cache_tag}"
    build.mkdir(parents=True, exist_ok=True)
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build / "build.ninja").exists():
            _run([cmake, "-S", str(ROOT), "-B", str(build), "-G", "Ninja", f"-DVCDFAST_SANITIZE={sanitizer}",
                  "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-Dpybind11_DIR={pybind11_dir.stdout.strip()}",
                  f"-DPython_EXECUTABLE={sys.executable}"])
        _run([cmake, "--build", str(build), "--target", "_core", "-j", "2"])
    built = sorted(build.glob("_core*.so"))
    assert built, f"the build in {build} produced no _core*.so"
    return built[0]


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _package_with(core: Path, dest: Path) -> Path:
    """A copy of python/vcdfast with the sanitizer build as its _core, in dest/vcdfast."""
    pkg = dest / "vcdfast"
    shutil.copytree(ROOT / "python" / "vcdfast", pkg, ignore=shutil.ignore_patterns("_core*.so", "__pycache__"))
    shutil.copy2(core, pkg / core.name)
    return dest


def _probe(env: dict, site: Path, sanitizer: str, cwd: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", "import vcdfast; print(vcdfast.build_info()['sanitizer']);"
                            "print(vcdfast._core.__file__)"], capture_output=True, text=True, env=env, timeout=120,
                           cwd=cwd)
    assert probe.returncode == 0, probe.stderr[-3000:]
    reported, imported = probe.stdout.split()
    assert reported == sanitizer and imported.startswith(str(site)), probe.stdout


def _pytest(tests: list[str], env: dict, cwd: Path) -> tuple[int, str]:
    """Run the given tests in a child pytest: its exit status and output."""
    cmd = [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
           "-o", "python_functions=test_* fuzz_*",  # test_fuzz_core.py's examples, run in-process here
           "-W", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TEST_TIMEOUT_S, cwd=cwd)
    return done.returncode, done.stdout + done.stderr


def _logged(folder: Path, prefix: str) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(folder.glob(f"{prefix}.*")))


def test_core_tests_are_clean_under_address_sanitizer(tmp_path):
    # ASan resolves its C++ exception interceptor (__cxa_throw) at start-up, before the extension
    # would load libstdc++: preload both, or every C++ throw dies in an ASan CHECK.
    hint = "Debian: apt-get install libasan8 libstdc++6"
    preload = " ".join([_gcc_lib("libasan.so", hint), _gcc_lib("libstdc++.so", hint)])
    site = _package_with(_build("address", "asan-tests"), tmp_path / "site")
    env = dict(os.environ, LD_PRELOAD=preload, PYTHONPATH=str(site), VCDFAST_FUZZ_INNER="1",
               VCDFAST_FUZZ_EXAMPLES=str(FUZZ_EXAMPLES_UNDER_ASAN),
               # leaks: CPython never frees some allocations by design. allocator_may_return_null: an
               # impossible size must reach the code as std::bad_alloc (MemoryError), as without ASan.
               # log_path: a report survives pytest's output capture of a process that ASan stops.
               ASAN_OPTIONS=f"detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:log_path={tmp_path / 'asan'}")
    env.pop("VCDFAST_SIMD", None)
    _probe(env, site, "address", tmp_path)
    tests = [str(ROOT / "tests" / name) for name in ASAN_TESTS if (ROOT / "tests" / name).exists()]
    rc, output = _pytest(tests, env, tmp_path)
    logged = _logged(tmp_path, "asan")
    assert not logged and "AddressSanitizer" not in output, (logged or output)[-8000:]
    assert rc == 0, f"tests failed under ASan (rc {rc}):\n{output[-8000:]}"


def _tsan_runtimes() -> tuple[str, str, str]:
    """libtsan, LLVM's libomp and its Archer tool; skips when one is missing."""
    return (_gcc_lib("libtsan.so", "Debian: apt-get install libtsan2"), *_llvm_openmp())


def _tsan_env(runtimes: tuple[str, str, str], reports: Path) -> dict:
    libtsan, libomp, archer = runtimes
    # libomp after libtsan and before the extension's libgomp: the GOMP_* and omp_* symbols bind to it
    env = dict(os.environ, LD_PRELOAD=f"{libtsan} {libomp}", OMP_TOOL_LIBRARIES=archer,
               TSAN_OPTIONS=f"ignore_noninstrumented_modules=1:log_path={reports}")
    for name in ("VCDFAST_SIMD", "OMP_TOOL", "ARCHER_OPTIONS"):
        env.pop(name, None)
    return env


CANARY = r"""
#include <omp.h>
// Racy: both threads add to one counter with no synchronisation.
extern "C" long racy(long n) {
  long counter = 0;
#pragma omp parallel num_threads(2)
  for (long i = 0; i < n; ++i) counter += 1;
  return counter;
}
// Correct: each thread writes its own slot; the caller reads them after the join.
extern "C" long joined(long n) {
  long slots[2] = {0, 0};
#pragma omp parallel num_threads(2)
  for (long i = 0; i < n; ++i) slots[omp_get_thread_num()] += 1;
  return slots[0] + slots[1];
}
"""


def test_thread_sanitizer_setup_reports_a_real_race_and_no_false_one(tmp_path):
    runtimes = _tsan_runtimes()
    gxx = shutil.which("g++") or pytest.skip("g++ not found; the canary needs it")
    (tmp_path / "canary.cpp").write_text(CANARY)
    _run([gxx, "-O1", "-g", "-fopenmp", "-fsanitize=thread", "-fPIC", "-shared", "canary.cpp", "-o", "canary.so"],
         cwd=tmp_path)
    call = "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); print(getattr(lib, sys.argv[2])(100000))"
    for name, racy in (("joined", False), ("racy", True)):
        reports = tmp_path / f"canary-{name}"
        done = subprocess.run([sys.executable, "-c", call, str(tmp_path / "canary.so"), name], capture_output=True,
                              text=True, env=_tsan_env(runtimes, reports), timeout=120)
        logged = _logged(tmp_path, reports.name)
        if racy:
            assert "ThreadSanitizer: data race" in logged and "canary.cpp" in logged and "in racy" in logged, \
                (logged or done.stderr)[-4000:]
        else:
            assert done.returncode == 0 and done.stdout.strip() == "200000", done.stderr[-4000:]
            assert not logged, logged[-8000:]


def test_threaded_core_tests_are_clean_under_thread_sanitizer(tmp_path):
    env = _tsan_env(_tsan_runtimes(), tmp_path / "tsan")
    site = _package_with(_build("thread", "tsan"), tmp_path / "site")
    env.update(PYTHONPATH=str(site), VCDFAST_FUZZ_INNER="1")
    _probe(env, site, "thread", tmp_path)
    rc, output = _pytest([str(ROOT / "tests" / name) for name in TSAN_TESTS], env, tmp_path)
    logged = _logged(tmp_path, "tsan")
    assert not logged and "ThreadSanitizer" not in output, (logged or output)[-8000:]
    assert rc == 0, f"tests failed under TSan (rc {rc}):\n{output[-8000:]}"
