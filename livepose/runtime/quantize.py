"""INT8 post-training quantisation of an exported graph for ONNX Runtime on the CPU (measured, not a default).

Only the convolutions are quantised (QDQ format, per-channel symmetric int8
weights, uint8 activations with min-max ranges from calibration crops); the
softmax vote and everything after it stays FP32, since the joints are a
weighted mean over ~2000 anchors and coarse weights would move them. The cost
in accuracy is not negligible for a regression network, so ``livepose bench``
reports it beside the speed (``int8`` section) and no backend picks INT8 by
itself.

Pure function; any thread (it writes only to a private temporary folder).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from livepose.errors import LivePoseError


def quantize_int8(model: bytes, calibration: np.ndarray) -> bytes:
    """An INT8 (convolutions) version of an exported livepose graph.

    Args:
        model: the FP32 ONNX graph (:func:`livepose.runtime.onnx_cache.onnx_bytes`).
        calibration: (N, 1, H, W) float32 normalised crops that look like real inputs (N of 16-64 is plenty).

    Returns:
        The quantised graph, loadable by :class:`~livepose.runtime.onnx_backend.OnnxRuntimeBackend`.
    """
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            QuantFormat,
            QuantType,
            quantize_static,
        )
    except ImportError:
        raise LivePoseError("INT8 quantisation needs onnxruntime's quantization tools (pip install onnxruntime)") \
            from None
    crops = np.ascontiguousarray(calibration, dtype=np.float32)
    if crops.ndim != 4 or crops.shape[1] != 1 or not len(crops):
        raise LivePoseError(f"calibration crops of shape {crops.shape}: expected (N, 1, H, W) with N >= 1")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.index = 0

        def get_next(self) -> dict | None:
            if self.index >= len(crops):
                return None
            self.index += 1
            return {"depth_crop": crops[self.index - 1:self.index]}

    quiet = _QuietRoot()  # the quantiser logs advice on the root logger; it means nothing to a livepose user
    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        with tempfile.TemporaryDirectory(prefix="livepose-int8-") as scratch:
            source, target = Path(scratch) / "fp32.onnx", Path(scratch) / "int8.onnx"
            source.write_bytes(model)
            quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["Conv"])
            return target.read_bytes()
    finally:
        root.removeFilter(quiet)


class _QuietRoot(logging.Filter):
    """Drops root-logger records below ERROR while quantising."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.name != "root"
