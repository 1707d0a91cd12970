"""Which backend runs a model: from the model file's suffix, the device and the user's choice.

``backend="auto"`` (the default of ``livepose live`` and
:meth:`~livepose.runtime.predictor.Predictor.from_checkpoint`):

| model file | device | backend | precision (auto) |
|------------|--------|---------|------------------|
| ``.onnx``  | cpu (cuda with onnxruntime-gpu) | ``onnxruntime`` | fp32 |
| ``.pt``    | cuda   | ``cuda-graph`` (the GPU pipeline) | fp16 (``precision="fp32"`` opts out) |
| ``.pt``    | cpu    | ``onnxruntime`` (exported once, cached; ``torch`` if onnxruntime is missing) | fp32 |

``backend="torch"`` is plain eager PyTorch (FP32 unless ``precision="fp16"`` on
CUDA). Every refusal is one :class:`~livepose.errors.LivePoseError` line.

Pure functions; any thread.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch

from livepose.errors import LivePoseError

BACKEND_CHOICES = ("auto", "torch", "onnxruntime", "cuda-graph")
PRECISION_CHOICES = ("auto", "fp32", "fp16")


@dataclass(frozen=True)
class BackendChoice:
    """A resolved choice: ``backend`` (never "auto"), ``device`` (``"cpu"``, ``"cuda:0"``), ``precision``."""

    backend: str
    device: str
    precision: str


def onnxruntime_available() -> bool:
    """Whether the ONNX export and ONNX Runtime can both be imported here."""
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def parse_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` as a torch device; refuses others and CUDA where there is none."""
    try:
        parsed = torch.device(str(device))
    except (RuntimeError, ValueError):
        raise LivePoseError(f"--device {device!r}: expected cpu, cuda or cuda:N") from None
    if parsed.type not in ("cpu", "cuda"):
        raise LivePoseError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise LivePoseError(f"--device {device}: no CUDA device here (torch.cuda.is_available() is False); "
                                "use --device cpu")
        index = parsed.index or 0
        if index >= torch.cuda.device_count():
            raise LivePoseError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        parsed = torch.device("cuda", index)
    return parsed


def resolve_backend(model: str | Path | None, device: str = "cpu", backend: str = "auto",
                    precision: str = "auto") -> BackendChoice:
    """Pick the backend and precision for a model file (``None``: a checkpoint held in memory) on ``device``.

    See the module docstring for the rules.
    """
    if backend not in BACKEND_CHOICES:
        raise LivePoseError(f"--backend {backend!r}: expected one of {', '.join(BACKEND_CHOICES)}")
    if precision not in PRECISION_CHOICES:
        raise LivePoseError(f"--precision {precision!r}: expected one of {', '.join(PRECISION_CHOICES)}")
    dev = parse_device(device)
    is_onnx = model is not None and Path(model).suffix.lower() == ".onnx"
    if is_onnx:
        if backend not in ("auto", "onnxruntime"):
            raise LivePoseError(f"{model}: an .onnx model runs on onnxruntime; give the .pt checkpoint for "
                                f"--backend {backend}")
        chosen = "onnxruntime"
    elif backend != "auto":
        chosen = backend
    elif dev.type == "cuda":
        chosen = "cuda-graph"
    else:
        chosen = "onnxruntime" if onnxruntime_available() else "torch"
    if chosen == "cuda-graph" and dev.type != "cuda":
        raise LivePoseError("--backend cuda-graph needs --device cuda")
    if precision == "auto":
        precision = "fp16" if chosen == "cuda-graph" else "fp32"
    if precision == "fp16":
        if dev.type != "cuda":
            raise LivePoseError("--precision fp16 needs --device cuda (the CPU runs fp32)")
        if chosen == "onnxruntime":
            raise LivePoseError("--precision fp16: the onnxruntime backend runs the fp32 export; use the .pt "
                                "checkpoint with --device cuda for the FP16 pipeline")
    return BackendChoice(backend=chosen, device=str(dev), precision=precision)
