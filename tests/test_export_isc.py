"""ISC21 export: a checkpoint in the original training format (random weights) -> ONNX that
matches an independent PyTorch reference of the original network. Needs torch + timm."""

import argparse
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="ISC export tests need torch (the `export` extra)")
pytest.importorskip("onnx", reason="ISC export tests need onnx (the `export` extra)")

from vcdfast.errors import ModelError  # noqa: E402

try:
    from vcdfast.export_isc import _import_timm

    timm = _import_timm()
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("ISC export tests need timm (the `export` extra)", allow_module_level=True)

pytestmark = pytest.mark.slow

INPUT_SIZE = 96  # the original uses 512; the network is fully convolutional and 96 keeps the test fast


def _reference(state: dict):
    """The original ISCNet (timm features -> GeM(p=1) -> fc -> bn -> L2) in float NCHW, with
    its own preprocessing: pixels / 255, minus mean, over std."""
    nn, F = torch.nn, torch.nn.functional
    backbone = timm.create_model("tf_efficientnetv2_m.in21k_ft_in1k", features_only=True, pretrained=False)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.fc = nn.Linear(backbone.feature_info.info[-1]["num_chs"], 256, bias=False)
            self.bn = nn.BatchNorm1d(256)

        def forward(self, x):
            x = self.backbone(x)[-1]
            x = F.avg_pool2d(x.clamp(min=1e-6).pow(1.0), (x.size(-2), x.size(-1))).pow(1.0).view(x.shape[0], -1)
            return F.normalize(self.bn(self.fc(x)))

    net = Net()
    net.load_state_dict(state)
    net.eval()
    mean = torch.tensor(backbone.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(backbone.pretrained_cfg["std"]).view(1, 3, 1, 1)

    def run(images_uint8: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float() / 255.0
        with torch.no_grad():
            return net((x - mean) / std).numpy()

    return run


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random-weight checkpoint in the original layout, its reference, and the export."""
    from vcdfast.cli import main

    tmp = tmp_path_factory.mktemp("isc")
    torch.manual_seed(0)
    backbone = timm.create_model("tf_efficientnetv2_m.in21k_ft_in1k", features_only=True, pretrained=False)
    fc = torch.nn.Linear(backbone.feature_info.info[-1]["num_chs"], 256, bias=False)
    bn = torch.nn.BatchNorm1d(256)
    # Random weights with running statistics taken from data, as training leaves them: without
    # this, activations grow ~10x per stage and float rounding alone decides the output.
    model = torch.nn.Sequential(backbone)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average
    gen = torch.Generator().manual_seed(1)
    backbone.train()
    with torch.no_grad():
        for _ in range(2):
            feats = backbone(torch.randn(8, 3, INPUT_SIZE, INPUT_SIZE, generator=gen))[-1]
        pooled = feats.clamp(min=1e-6).mean(dim=(2, 3))
        bn.running_mean = fc(pooled).mean(0)
        bn.running_var = fc(pooled).var(0) + 1e-3
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.normal_(0.0, 0.1)
    state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    state.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
    state.update({f"bn.{k}": v for k, v in bn.state_dict().items()})
    ckpt = tmp / "isc_random.pth.tar"
    torch.save({"epoch": 1, "arch": "tf_efficientnetv2_m_in21ft1k", "optimizer": {},
                "state_dict": {f"module.{k}": v for k, v in state.items()},
                "args": argparse.Namespace(input_size=INPUT_SIZE, gem_p=1.0)}, ckpt)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # through the command line: it prints the written paths
        assert main(["models", "export-isc", str(ckpt), "--out", str(tmp / "models")]) == 0
    paths = [Path(line) for line in printed.getvalue().splitlines()]
    assert [p.name for p in paths] == ["isc.onnx", "isc_fp16.onnx", "isc.onnx.json"]
    images = np.random.default_rng(2).integers(0, 256, (3, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    return {"paths": paths, "reference": _reference(state)(images), "images": images, "ckpt": ckpt, "dir": tmp}


def _run(path, images):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["embedding"], {"image": images})[0]


def test_fp32_matches_pytorch(exported):
    out = _run(exported["paths"][0], exported["images"])
    assert out.dtype == np.float32 and out.shape == (3, 256)
    # unit vectors; 1e-4 absolute is float32 rounding over ~50 blocks with well-scaled activations
    np.testing.assert_allclose(out, exported["reference"], atol=1e-4, rtol=0)
    # and the reference is not degenerate: different images, different descriptors
    assert np.abs(exported["reference"][0] @ exported["reference"][1]) < 0.99


def test_fp16_close_to_pytorch(exported):
    out = _run(exported["paths"][1], exported["images"])
    assert out.dtype == np.float32
    cos = (out * exported["reference"]).sum(1) / np.linalg.norm(out, axis=1)
    assert cos.min() > 0.999


def test_spec_written_and_loadable(exported, monkeypatch):
    from vcdfast.embed import Embedder
    from vcdfast.models import file_sha256, get_model

    monkeypatch.setenv("VCDFAST_MODEL_DIR", str(exported["dir"] / "models"))
    spec = get_model("isc")
    assert spec.dim == 256 and spec.input_size == (INPUT_SIZE, INPUT_SIZE)
    assert spec.sha256 == file_sha256(exported["paths"][0])
    assert spec.extra["checkpoint_sha256"] == file_sha256(exported["ckpt"])
    emb = Embedder("isc", num_threads=1)
    vecs = emb.embed_frames(exported["images"])
    np.testing.assert_allclose(vecs[:, 0], exported["reference"], atol=1e-4, rtol=0)


def test_bad_checkpoints_are_model_errors(tmp_path):
    from vcdfast.export_isc import export_isc

    with pytest.raises(ModelError, match="does not exist"):
        export_isc(tmp_path / "missing.pth.tar", tmp_path)
    torch.save({"weights": {}}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match="not an ISC21 checkpoint"):
        export_isc(tmp_path / "other.pth", tmp_path)
    torch.save({"arch": "tf_efficientnetv2_m_in21ft1k", "state_dict": {"module.fc.weight": torch.zeros(256, 512)},
                "args": argparse.Namespace(input_size=64)}, tmp_path / "partial.pth")
    with pytest.raises(ModelError, match="does not fit"):
        export_isc(tmp_path / "partial.pth", tmp_path)
