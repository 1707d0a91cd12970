"""ONNX Runtime backend: the exported graph (network + anchor decoding) in an ``InferenceSession``.

On the CPU it is livepose's fast path (oneDNN-style kernel fusion, conv + BN
folding, no Python between layers): about 1.6x eager PyTorch for a ResNet-18
A2J at 176x176 on 2 cores. With ``onnxruntime-gpu`` installed it also runs on
CUDA (``device="cuda"``); TensorRT users can give the same ``.onnx`` file to
``trtexec`` or ONNX Runtime's TensorRT provider (see the README).

Inputs and outputs are those of :mod:`livepose.runtime.export`. A session may be
used from one thread at a time here (the inference worker).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livepose.errors import LivePoseError
from livepose.runtime.backend import Backend, NetworkOutput


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise LivePoseError("the onnxruntime backend needs the onnxruntime package (pip install onnxruntime)") \
            from None
    return onnxruntime


class OnnxRuntimeBackend(Backend):
    """An ONNX Runtime session on an exported livepose graph.

    Args:
        model: the ``.onnx`` file, or its bytes.
        device: ``"cpu"``, or ``"cuda[:N]"`` when ONNX Runtime has its CUDA provider (onnxruntime-gpu).
        threads: intra-op threads (None: ONNX Runtime's default, one per physical core).
        spinning: let idle worker threads spin between operators (lower latency, but they burn CPU that the
            capture thread may need on a small machine; off by default).
    """

    name = "onnxruntime"

    def __init__(self, model: str | Path | bytes, device: str = "cpu", threads: int | None = None,
                 spinning: bool = False) -> None:
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: no provider notices on stderr
        if threads:
            options.intra_op_num_threads = int(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        kind, _, index = device.partition(":")
        if kind == "cpu":
            providers: list = ["CPUExecutionProvider"]
        elif kind == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise LivePoseError("--device cuda with an .onnx model needs onnxruntime-gpu (this onnxruntime has "
                                    "no CUDA provider); use the .pt checkpoint for the CUDA FP16 path")
            providers = [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]
        else:
            raise LivePoseError(f"device {device!r}: the onnxruntime backend runs on cpu or cuda")
        source = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(source, options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own assorted exception types for bad files
            what = "the exported graph" if isinstance(model, bytes) else str(model)
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise LivePoseError(f"{what}: ONNX Runtime cannot load it ({first})") from None
        names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if names != ["depth_crop"] or outputs[:2] != ["joints", "anchor_weights"]:
            raise LivePoseError(f"{source if isinstance(source, str) else 'graph'}: not a livepose export (inputs "
                                f"{names}, outputs {outputs})")
        self.device = "cpu" if kind == "cpu" else f"cuda:{int(index or 0)}"
        self.precision = "fp32"

    def infer(self, inputs: np.ndarray) -> NetworkOutput:
        """(B, 1, H, W) float32 crops -> joints (B, J, 3) and anchor weights (B, A, J), float32 numpy."""
        joints, weights = self.session.run(["joints", "anchor_weights"],
                                           {"depth_crop": np.ascontiguousarray(inputs, dtype=np.float32)})
        return NetworkOutput(joints, weights)
