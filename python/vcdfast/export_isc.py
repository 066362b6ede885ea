"""`vcdfast models export-isc CHECKPOINT`: the ISC21 descriptor-track winner as ONNX.

The checkpoint is the original training format of lyakaap/ISC21-Descriptor-Track-1st
(`isc_ft_v107.pth.tar`): a dict with "arch" (timm name, e.g. "tf_efficientnetv2_m_in21ft1k"),
"args" (an argparse.Namespace with input_size) and "state_dict" ("module."-prefixed keys
for backbone.*, fc.weight, bn.*). The network is timm's `features_only` backbone, GeM
pooling over its last feature map, a 256-d bias-free linear layer, BatchNorm1d and L2
normalisation. The exported graph takes uint8 RGB NHWC pixels at input_size x input_size
and normalises inside (the backbone's mean/std), so vcdfast feeds it decoded frames as is.

Needs the `export` extra (torch, timm, onnx). Its weights cannot be bundled: the user
brings the checkpoint; nothing is downloaded.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from vcdfast.errors import ModelError

__all__ = ["export_isc", "load_checkpoint"]

# names the 2021 checkpoints use -> their names in timm >= 0.9
_ARCH_ALIASES = {
    "tf_efficientnetv2_m_in21ft1k": "tf_efficientnetv2_m.in21k_ft_in1k",
}


def _import_timm():
    """Import timm. timm imports torchvision at import time but its EfficientNet models never
    call it; where torchvision cannot be installed (a CPU-only torch with only CUDA builds of
    torchvision on offer), stand-in modules satisfy those imports while timm loads and are
    removed right after, so `import torchvision` elsewhere still fails. Any call into a
    stand-in raises."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass
    else:
        import timm

        return timm
    import importlib.abc
    import importlib.machinery
    import types

    class _Absent(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            sub = _Absent(f"{cls.__name__}.{name}", (), {})  # distinct per name: timm keys dicts on them
            type.__setattr__(cls, name, sub)
            return sub

        def __call__(cls, *args, **kwargs):
            raise ModuleNotFoundError(f"{cls.__name__}: torchvision is not installed")

    class _Module(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _Absent(f"{self.__name__}.{name}", (), {})

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname.split(".")[0] == "torchvision":
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            return _Module(spec.name)

        def exec_module(self, module):
            module.__path__ = []

    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        import timm
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] == "torchvision"]:
            del sys.modules[name]
    return timm


def _require_export_deps():
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError as e:
        raise ModelError(f"ISC export needs the export extra ({e.name} is missing): "
                         "pip install 'vcdfast[export]' (torch, timm, onnx)") from e
    try:
        timm = _import_timm()
    except ImportError as e:
        raise ModelError(f"ISC export needs timm: pip install timm ({e})") from e
    return torch, timm


def load_checkpoint(path, *, trust: bool = False) -> dict:
    """{"arch", "input_size", "state_dict" (without the "module." prefix)} from an original
    checkpoint. It is unpickled with torch's weights_only loader (argparse.Namespace allowed);
    trust=True falls back to a full unpickle, which runs code from the file."""
    import argparse as _argparse

    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals([_argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        if not trust:
            raise ModelError(f"cannot load checkpoint {path} safely: {e}; if you trust the file, "
                             "pass trust=True (vcdfast models export-isc --trust)") from e
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ModelError(f"{path} is not an ISC21 checkpoint (expected a dict with 'state_dict', 'arch', 'args')")
    args = ckpt.get("args")
    input_size = getattr(args, "input_size", None) if args is not None else None
    if input_size is None:
        raise ModelError(f"{path}: checkpoint['args'].input_size is missing")
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in ckpt["state_dict"].items()}
    return {"arch": ckpt.get("arch", "tf_efficientnetv2_m_in21ft1k"), "input_size": int(input_size),
            "state_dict": state}


def build_model(arch: str, state_dict: dict, *, gem_p: float = 1.0):
    """The ISC descriptor as a torch module taking uint8 NHWC, with the checkpoint's weights."""
    torch, timm = _require_export_deps()
    nn = torch.nn
    F = torch.nn.functional

    class ISCDescriptor(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = timm.create_model(_ARCH_ALIASES.get(arch, arch), features_only=True, pretrained=False)
            cfg = self.backbone.pretrained_cfg
            channels = self.backbone.feature_info.info[-1]["num_chs"]
            self.fc = nn.Linear(channels, state_dict["fc.weight"].shape[0], bias=False)
            self.bn = nn.BatchNorm1d(state_dict["fc.weight"].shape[0])
            self.register_buffer("mean", torch.tensor(cfg["mean"], dtype=torch.float32).view(1, 3, 1, 1) * 255.0)
            self.register_buffer("std", torch.tensor(cfg["std"], dtype=torch.float32).view(1, 3, 1, 1) * 255.0)
            self.gem_p = float(gem_p)

        def forward(self, image):
            x = image.permute(0, 3, 1, 2).to(self.mean.dtype)
            x = (x - self.mean) / self.std
            x = self.backbone(x)[-1]
            # GeM pooling, as the original: clamp, power p, spatial mean, power 1/p
            x = x.clamp(min=1e-6).pow(self.gem_p).mean(dim=(2, 3)).pow(1.0 / self.gem_p)
            x = self.bn(self.fc(x))
            return F.normalize(x.float(), dim=1)

    model = ISCDescriptor()
    own = {k: v for k, v in state_dict.items()}
    missing, unexpected = model.load_state_dict(own, strict=False)
    missing = [k for k in missing if k not in ("mean", "std")]
    if missing or unexpected:
        raise ModelError(f"checkpoint does not fit {arch}: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                         f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    return model.eval()


def _export(model, path: Path, input_size: int, opset: int) -> None:
    import torch

    example = torch.zeros((1, input_size, input_size, 3), dtype=torch.uint8)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer/deprecation chatter from torch and timm
        torch.onnx.export(model, (example,), str(path), input_names=["image"], output_names=["embedding"],
                          dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=opset,
                          dynamo=False)


def export_isc(checkpoint, out_dir=None, *, fp16: bool = True, gem_p: float = 1.0, opset: int = 17,
               trust: bool = False, name: str = "isc") -> list[Path]:
    """Export the checkpoint to `<out_dir>/isc.onnx` (fp32), `isc_fp16.onnx` (fp16 weights and
    maths; output float32) when fp16, and the spec `isc.onnx.json` that `get_model("isc")`
    reads. out_dir defaults to the model directory (vcdfast.models.model_dir()).
    Returns the written paths."""
    from vcdfast.models import UINT8_NHWC, ModelSpec, file_sha256, model_dir, write_sidecar

    _require_export_deps()
    out = Path(out_dir) if out_dir is not None else model_dir()
    out.mkdir(parents=True, exist_ok=True)
    ck = load_checkpoint(checkpoint, trust=trust)
    model = build_model(ck["arch"], ck["state_dict"], gem_p=gem_p)
    size = ck["input_size"]
    fp32_path = out / f"{name}.onnx"
    _export(model, fp32_path, size, opset)
    written = [fp32_path]
    fp16_path = None
    if fp16:
        fp16_path = out / f"{name}_fp16.onnx"
        _export(model.half(), fp16_path, size, opset)
        written.append(fp16_path)
    spec = ModelSpec(
        name=name, version=f"{ck['arch']}-gem{gem_p:g}-{size}px", path=str(fp32_path), sha256=file_sha256(fp32_path),
        input_size=(size, size), preprocessing=dict(UINT8_NHWC), dim=int(ck["state_dict"]["fc.weight"].shape[0]),
        fp16_path=str(fp16_path) if fp16_path else None,
        source=f"lyakaap/ISC21-Descriptor-Track-1st checkpoint {Path(checkpoint).name}, exported by vcdfast",
        licence="code MIT (lyakaap/ISC21-Descriptor-Track-1st); weights: as the checkpoint's publisher states",
        extra={"checkpoint_sha256": file_sha256(checkpoint),
               "fp16_sha256": file_sha256(fp16_path) if fp16_path else None},
    )
    written.append(write_sidecar(spec))
    return written

