"""The plain PyTorch backend: the A2J module called eagerly, FP32 (the reference every other backend is checked
against), on the CPU or a CUDA device.

Threads: one thread at a time per instance (the module is shared with the predictor that owns it).
"""

from __future__ import annotations

import numpy as np
import torch

from livepose.a2j.model import A2J
from livepose.errors import LivePoseError
from livepose.runtime.backend import Backend, NetworkOutput


class TorchBackend(Backend):
    """Eager ``A2J.forward`` (network and vectorised anchor decoding) on ``device``.

    Args:
        model: the network (moved to ``device``, put in eval mode).
        device: a torch device string.
        precision: ``"fp32"``, or ``"fp16"`` on CUDA only (decoding then runs in fp16 too).
    """

    name = "torch"

    def __init__(self, model: A2J, device: str = "cpu", precision: str = "fp32") -> None:
        self.torch_device = torch.device(device)
        if precision not in ("fp32", "fp16"):
            raise LivePoseError(f"precision {precision!r}: expected fp32 or fp16")
        if precision == "fp16" and self.torch_device.type != "cuda":
            raise LivePoseError("fp16 needs a CUDA device (the CPU runs fp32)")
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.model = model.to(self.torch_device, self.dtype).eval()
        self.device = str(self.torch_device)
        self.precision = precision

    @torch.inference_mode()
    def infer(self, inputs: np.ndarray) -> NetworkOutput:
        """(B, 1, H, W) float32 crops -> joints (B, J, 3) and anchor weights (B, A, J), float32 numpy."""
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)).to(self.torch_device, self.dtype)
        out = self.model(x)
        return NetworkOutput(out.joints.float().cpu().numpy(), out.anchor_weights.float().cpu().numpy())
