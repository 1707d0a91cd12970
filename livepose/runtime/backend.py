"""What every inference backend offers: normalised crops in, decoded joints and anchor weights out.

A backend runs the A2J network *and* its anchor decoding on a batch of
network inputs (the normalised crops of :func:`livepose.detect.crop.crop_hand`).
The :class:`~livepose.runtime.predictor.Predictor` wraps a backend with the
crop before it and the mapping back to the image after it; a backend whose
``crops_on_device`` is True (the CUDA pipeline) also does those itself and
is driven through its ``run_frames`` method instead.

Backends (see :mod:`livepose.runtime.select` for how one is chosen):

| name          | module                                  | devices   | precisions |
|---------------|-----------------------------------------|-----------|------------|
| ``torch``     | :mod:`livepose.runtime.torch_backend`   | CPU, CUDA | fp32 (fp16 on CUDA) |
| ``onnxruntime`` | :mod:`livepose.runtime.onnx_backend`  | CPU (CUDA with onnxruntime-gpu) | fp32 |
| ``cuda-graph`` | :mod:`livepose.runtime.device_pipeline` | CUDA (runs on the CPU for tests) | fp16, fp32 |

Threads: a backend instance serves one thread at a time (the inference worker).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

BACKEND_NAMES = ("torch", "onnxruntime", "cuda-graph")
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class NetworkOutput:
    """Decoded network output for a batch of B crops.

    Attributes:
        joints: (B, J, 3) float32 u (column), v (row) in crop pixels and depth in the network's unit
            (mm relative to the crop centre for livepose's hand models).
        anchor_weights: (B, A, J) float32 softmax anchor weights (sum to 1 over A), official anchor order.
    """

    joints: np.ndarray
    anchor_weights: np.ndarray


class Backend(ABC):
    """One way of running network + decoding (see the module docstring).

    Attributes:
        name: one of :data:`BACKEND_NAMES`.
        device: ``"cpu"``, ``"cuda:0"``...
        precision: ``"fp32"`` or ``"fp16"`` (the network's arithmetic; decoding is always fp32).
        crops_on_device: True when the backend crops, decodes and maps back on its device itself
            (then :class:`~livepose.runtime.predictor.Predictor` calls its ``run_frames``).
    """

    name: str = ""
    device: str = "cpu"
    precision: str = "fp32"
    crops_on_device: bool = False

    @abstractmethod
    def infer(self, inputs: np.ndarray) -> NetworkOutput:
        """Run the network and decoding on ``inputs``, (B, 1, H, W) float32 normalised crops."""

    @property
    def label(self) -> str:
        """Short text for logs and the viewer HUD, e.g. ``"CPU onnxruntime FP32"``."""
        return f"{self.device.split(':')[0].upper()} {self.name} {self.precision.upper()}"

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to release
        """Release what the backend holds (sessions, device memory). Optional."""
