"""Real footage and photographs from pinned Debian packages, for tests and benchmarks.

Nothing here is committed footage: `package_root(PKG)` returns the unpacked tree of a .deb
pinned by version and sha256 (`PACKAGES`), taken from the cache folder ($VCDFAST_TEST_DATA,
default ~/.cache/vcdfast-test-data) or else fetched with `apt-get download PKG=VERSION`
(Debian only) and unpacked with `dpkg -x`; `real_file(pkg, path, sha256)` checks one file
of it. Where the package cannot be had (no apt-get, offline, another distribution) they
raise `Unavailable` with the reason, naming the package; the tests' fixtures (test_embed.py
`opencv_doc`) turn that into a skip. `.ci/run` fetches the packages into the cache before the
tests (`python3 tests/realdata.py [PKG ...]`).

This module lives with the tests (not in vcdfast: it is no product code); the benchmarks
import it through sys.path, as they already import tests/videos.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

# package -> (version, sha256 of the .deb, licence note)
PACKAGES = {
    "opencv-doc": ("4.6.0+dfsg-12", "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
                   "OpenCV sample data, Debian main (see /usr/share/doc/opencv-doc/copyright)"),
    "gnome-user-docs": ("43.0-2", "0d635a840747958ca84da778b40d341f1155603851f922c9a171f5a181d6a39f",
                        "GNOME help, CC-BY-SA 3.0"),
    "xine-ui": ("0.99.14-1", "7bce1590a4b1d4407558530d67015f304d14784395682f6230ca1aba3a8521f9", "xine-ui, GPL-2+"),
    # the benchmark's further footage (bench/make_dataset.py, bench/datasets.md)
    "lebiniou-data": ("3.66.0-1", "22625deade3a04b0595efb883c8278cf3e208298bd583700e2e41c457ef61e5f",
                      "Le Biniou data, GPL-2+; images CC0 / public domain, a few CC-BY(-SA)-4.0 (see its copyright)"),
    "scratch": ("1.4.0.6~dfsg1-6.1", "36c582eb93110f64f06c4e685c41e933ccba2fa68db12f79b10bfe840b21fc10",
                "Scratch 1.4 media, CC-BY-SA-3.0 (MIT)"),
    "plasma-workspace-wallpapers": ("4:5.27.5-2", "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b",
                                    "KDE Plasma wallpapers, GPL-2+ (per-wallpaper metadata names the artists)"),
    "mate-backgrounds": ("1.26.0-1", "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
                         "MATE backgrounds, GPL-2+ and CC-BY-SA (per file in its copyright)"),
    "gnome-backgrounds": ("43.1-1", "a670dea21572652127d6e55f9cdb3a226d0037854fdbfd037003c7d00ee0dc4e",
                          "GNOME backgrounds, CC-BY-SA-3.0"),
    "lomiri-wallpapers-16.04": ("20.04.0-2", "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab",
                                "Ubuntu community wallpapers, CC-BY(-SA)-3.0/4.0 per file"),
    "lomiri-wallpapers-20.04": ("20.04.0-2", "d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709",
                                "Ubuntu community wallpapers, CC-BY(-SA)-3.0/4.0 per file"),
    "ukui-wallpapers": ("20.04.3-1.1", "6d49be70152e6d603163458e177e501deb0be8f2916389ccbfcf59b0d7fc0262",
                        "UKUI wallpapers, CC-BY-SA-3.0"),
    "tuxpaint-data": ("1:0.9.28-sdl2-1", "f5d0de8f9a70d2efc1241d19f26168cb8bf279f1b77abd3631e7a1a55c40e5e5",
                      "Tux Paint data (templates are photographs), GPL-2+"),
    "python3-skimage": ("0.19.3-8", "728d88c3e3440f1f3712de0805dc834d29248ff07e1eec8c0f3da07606f752f9",
                        "scikit-image, BSD-3-Clause (sample images: public domain / CC0)"),
    "fonts-noto-color-emoji": ("2.042-0+deb12u1", "a5ab0f69c7938423862320d9aca5dd187b3fd879d6a9a57dd52e17c3fa8d2751",
                               "Noto Color Emoji, SIL OFL 1.1"),
}
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data/"


class Unavailable(Exception):
    """A pinned package or file cannot be had on this host; the message says which and why."""


def cache_dir() -> Path:
    return Path(os.environ.get("VCDFAST_TEST_DATA") or Path.home() / ".cache" / "vcdfast-test-data")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _deb(pkg: str, cache: Path) -> Path:
    version, deb_sha, _ = PACKAGES[pkg]
    want = f"{pkg}={version} (sha256 {deb_sha[:12]}…)"
    for p in cache.glob(f"{pkg}_*.deb"):
        if sha256_file(p) == deb_sha:
            return p
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{want} is not in {cache} and this host has no apt-get to fetch it "
                          f"(put the .deb there, or set VCDFAST_TEST_DATA to a folder that has it)")
    try:
        run = subprocess.run(["apt-get", "download", f"{pkg}={version}"], cwd=cache, capture_output=True, text=True,
                             timeout=600)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{want}: apt-get download took over 10 minutes (offline?)") from None
    for p in cache.glob(f"{pkg}_*.deb"):
        if sha256_file(p) == deb_sha:
            return p
    why = run.stderr.strip().splitlines()[-1] if run.returncode and run.stderr.strip() else "its sha256 differs"
    raise Unavailable(f"{want}: apt-get download failed: {why} (offline, or run `apt-get update` first; the "
                      "version is pinned so that the data never changes)")


def package_root(pkg: str, cache: Path | None = None) -> Path:
    """The unpacked tree of the pinned `pkg` (fetched and unpacked once into the cache)."""
    if pkg not in PACKAGES:
        raise KeyError(f"{pkg!r} is not a pinned package; known: {sorted(PACKAGES)}")
    cache = cache_dir() if cache is None else Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / "unpacked" / f"{pkg}_{PACKAGES[pkg][0]}"
    if not root.exists():
        deb = _deb(pkg, cache)
        if shutil.which("dpkg") is None:
            raise Unavailable(f"{pkg}: {deb} is here but this host has no dpkg to unpack it")
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(deb), str(tmp)], check=True)
        tmp.rename(root)
    return root


def real_file(pkg: str, path: str, sha256: str, cache: Path | None = None) -> Path:
    """One file of a pinned package, checked against its sha256."""
    p = package_root(pkg, cache) / path
    if not p.is_file():
        raise Unavailable(f"{pkg}={PACKAGES[pkg][0]} has no {path}")
    if sha256_file(p) != sha256:
        raise Unavailable(f"{p}: sha256 {sha256_file(p)} is not the pinned {sha256} (damaged cache? delete it)")
    return p


def main(argv: list[str]) -> None:
    """`python tests/realdata.py [PKG ...]`: fetch packages into the cache (default: all)."""
    for pkg in argv or list(PACKAGES):
        try:
            print(f"{pkg}: {package_root(pkg)}")
        except Unavailable as e:
            sys.exit(f"realdata: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
