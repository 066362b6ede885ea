"""vcdfast.models: built-in specs, registration by path, sidecars, integrity checks."""

import shutil

import numpy as np
import pytest

from vcdfast.errors import ModelError
from vcdfast.models import ModelSpec, file_sha256, get_model, list_models, register_model


def test_builtin_sscd_specs_match_their_files():
    for name in ("sscd", "sscd-mobile"):
        spec = get_model(name)
        assert spec.dim == 512 and spec.input_size == (288, 288)
        assert spec.input_name == "image" and spec.output_name == "embedding"
        assert spec.preprocessing["dtype"] == "uint8" and spec.preprocessing["layout"] == "NHWC"
        assert file_sha256(spec.path) == spec.sha256
        assert spec.verify() is spec
        ident = spec.identity()
        assert set(ident) >= {"name", "version", "sha256", "dim", "preprocessing"}
    assert get_model("sscd").sha256 != get_model("sscd-mobile").sha256


def test_isc_not_exported_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VCDFAST_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="export-isc"):
        get_model("isc")
    names = [s.name for s in list_models()]
    assert "sscd" in names and "sscd-mobile" in names and "isc" not in names


def test_unknown_model():
    with pytest.raises(ModelError, match="unknown model 'nope'.*sscd"):
        get_model("nope")


def test_spec_roundtrip():
    spec = get_model("sscd-mobile")
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert get_model(spec) is spec


def test_register_by_path_with_sidecar(tmp_path):
    from vcdfast.embed import Embedder

    src = get_model("sscd-mobile")
    copy = tmp_path / "student.onnx"
    shutil.copy(src.path, copy)
    with pytest.raises(ModelError, match="no spec"):
        get_model(str(copy))
    spec = register_model("my-student", copy, input_size=(288, 288), save=True)
    assert spec.dim == 512 and spec.sha256 == src.sha256 and spec.input_name == "image"
    assert get_model("my-student") == spec
    by_path = get_model(str(copy))  # read back from the sidecar, path resolved beside it
    assert by_path.sha256 == spec.sha256 and by_path.path == str(copy.resolve())
    frames = np.random.default_rng(0).integers(0, 256, (2, 288, 288, 3), dtype=np.uint8)
    a = Embedder("sscd-mobile", num_threads=1).embed_frames(frames)
    b = Embedder(str(copy), num_threads=1).embed_frames(frames)
    np.testing.assert_array_equal(a, b)


def test_corrupt_file_is_detected(tmp_path):
    from vcdfast.embed import Embedder

    copy = tmp_path / "m.onnx"
    shutil.copy(get_model("sscd-mobile").path, copy)
    spec = register_model("corruptible", copy, input_size=(288, 288))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        spec.verify()
    with pytest.raises(ModelError, match="sha256"):
        Embedder(spec)
    copy.unlink()
    with pytest.raises(ModelError, match="does not exist"):
        spec.verify()


def test_float_nchw_model_with_mean_std(tmp_path):
    """Any ONNX image model: a float NCHW model whose output is the per-channel mean of its
    normalised input, so the expected embedding can be computed by hand."""
    onnx = pytest.importorskip("onnx", reason="building a test model needs onnx")
    from onnx import TensorProto, helper

    from vcdfast.embed import Embedder

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])],
        "channel_mean",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "mean.onnx"
    onnx.save(model, str(path))
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    spec = register_model("chanmean", path, input_size=(8, 8), dim=3,
                          preprocessing={"resize": "bilinear", "layout": "NCHW", "dtype": "float32",
                                         "mean": mean, "std": std})
    frames = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    got = Embedder(spec, num_threads=1).embed_frames(frames)[:, 0]
    want = ((frames / 255.0 - mean) / std).mean(axis=(1, 2))
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(got, want, atol=1e-5)  # float32 sums of 64 values


@pytest.mark.parametrize("pre,match", [({"layout": "HWC", "dtype": "uint8"}, "layout"),
                                       ({"layout": "NHWC", "dtype": "int8"}, "dtype"),
                                       ({"layout": "NHWC", "dtype": "uint8", "mean": [0, 0, 0]}, "float"),
                                       ({"layout": "NCHW", "dtype": "float32", "std": [1, 1]}, "3 values")])
def test_bad_preprocessing(pre, match):
    with pytest.raises(ModelError, match=match):
        register_model("bad", get_model("sscd-mobile").path, input_size=(288, 288), preprocessing=pre)


def test_missing_file():
    with pytest.raises(ModelError, match="does not exist"):
        register_model("ghost", "/nonexistent/model.onnx", input_size=(224, 224))


def test_export_isc_cli_arguments():
    """`vcdfast models export-isc` as the CLI parses it; parsing needs no torch."""
    from vcdfast.cli import build_parser, cmd_models_export_isc

    args = build_parser().parse_args(["models", "export-isc", "ck.pth.tar", "--out", "models", "--no-fp16", "--trust"])
    assert (args.func, args.checkpoint, args.out, args.no_fp16, args.trust) == \
        (cmd_models_export_isc, "ck.pth.tar", "models", True, True)
    args = build_parser().parse_args(["models", "export-isc", "ck"])
    assert (args.out, args.no_fp16, args.trust) == (None, False, False)
