"""The export table: format name, file suffix and where it runs (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    """One row of the export table."""

    name: str
    suffix: str
    runs_on: str


EXPORT_FORMATS = {"onnx": ExportFormat("onnx", ".onnx", "ONNX Runtime: CPU, CUDA, TensorRT execution providers")}
