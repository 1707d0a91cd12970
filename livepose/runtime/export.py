"""Exporting a checkpoint to other runtimes.

The export table (one row per format): what it is called, the file suffix,
and where it runs. The exported graph holds the network *and* the anchor
decoding, so a runtime gets joints and anchor weights directly; the
checkpoint's metadata (model arguments, layout, crop and normalisation) is
embedded in the file, so an exported file alone rebuilds the predictor.

| format | suffix  | runs on                                   |
|--------|---------|-------------------------------------------|
| onnx   | .onnx   | ONNX Runtime (CPU here; CUDA / TensorRT EPs where installed) |

Inputs and outputs of the ONNX graph:

- ``depth_crop``: (B, 1, H, W) float32, the normalised crop (dynamic batch).
- ``joints``: (B, J, 3) u, v (crop px), depth (network unit).
- ``anchor_weights``: (B, A, J) softmax weights.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch

from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import Checkpoint
from livepose.runtime.export_formats import EXPORT_FORMATS

log = logging.getLogger(__name__)

ONNX_METADATA_KEY = "livepose"
ONNX_OPSET = 17




def export_checkpoint(checkpoint: Checkpoint, fmt: str, out: str | Path | None = None) -> Path:
    """Export ``checkpoint`` in format ``fmt`` (see :data:`EXPORT_FORMATS`); returns the written path."""
    if fmt not in EXPORT_FORMATS:
        raise LivePoseError(f"export format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    spec = EXPORT_FORMATS[fmt]
    if out is None:
        if checkpoint.path is None:
            raise LivePoseError("export: give an output path (the checkpoint has no file name)")
        out = checkpoint.path.with_suffix(spec.suffix)
    out = Path(out)
    if fmt == "onnx":
        return export_onnx(checkpoint, out)
    raise AssertionError(fmt)


def export_onnx(checkpoint: Checkpoint, out: Path) -> Path:
    """Write network + decoding as ONNX with the checkpoint's metadata embedded (dynamic batch)."""
    import onnx

    model = checkpoint.build_model("cpu")
    crop = checkpoint.crop
    example = torch.zeros(1, 1, crop.height, crop.width)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns that the anchor grid becomes a constant: intended, the input size is fixed.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(model, (example,), str(out), input_names=["depth_crop"],
                          output_names=["joints", "anchor_weights"], opset_version=ONNX_OPSET,
                          dynamic_axes={"depth_crop": {0: "batch"}, "joints": {0: "batch"},
                                        "anchor_weights": {0: "batch"}},
                          dynamo=False)
    proto = onnx.load(str(out))
    entry = proto.metadata_props.add()
    entry.key = ONNX_METADATA_KEY
    entry.value = json.dumps(checkpoint.metadata())
    onnx.save(proto, str(out))
    log.info("exported %s to %s", checkpoint.path or "model", out)
    return out


def read_onnx_metadata(path: str | Path) -> dict:
    """The livepose metadata embedded in an exported ONNX file."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises assorted decode errors for a bad file
        raise LivePoseError(f"{path}: not a readable ONNX file ({type(exc).__name__})") from None
    for entry in proto.metadata_props:
        if entry.key == ONNX_METADATA_KEY:
            return json.loads(entry.value)
    raise LivePoseError(f"{path}: an ONNX file without livepose metadata (not exported by livepose export)")
