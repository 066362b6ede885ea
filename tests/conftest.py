import json

import pytest

import realdata
import vcdfast


def pytest_report_header(config):
    return "vcdfast build_info: " + json.dumps(vcdfast.build_info(), sort_keys=True)


@pytest.fixture(params=vcdfast.simd_levels())
def simd_level(request):
    """Run the test once per SIMD level this host supports, restoring the level afterwards."""
    previous = vcdfast.simd_level()
    vcdfast.set_simd_level(request.param)
    try:
        yield request.param
    finally:
        vcdfast.set_simd_level(previous)


@pytest.fixture(scope="session")
def opencv_doc():
    """The unpacked opencv-doc package: its sample photos and videos are the real content."""
    try:
        return realdata.package_root("opencv-doc")
    except realdata.Unavailable as e:
        pytest.skip(f"no real footage: {e}")
