"""ONNX exports of checkpoints, made once and kept in the user's cache folder.

Exporting a ResNet-18 A2J takes a few seconds (ResNet-50: about ten), so the
ONNX Runtime backend, the default on the CPU, reuses an export whose key is a
hash of everything that shapes the graph: the weights, the checkpoint's
metadata, the export opset, this module's revision and the torch version.
Files live in ``$XDG_CACHE_HOME/livepose/onnx/`` (``~/.cache/livepose/onnx/``;
the newest 8 are kept) and are written atomically (a temporary file renamed into place), so processes
exporting the same checkpoint at once never read a half-written file. When the
cache folder cannot be written, the export goes to a temporary folder and is
deleted once loaded.

Thread-safe (no shared state besides the files).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch

from livepose.runtime.checkpoint import Checkpoint
from livepose.runtime.default_model import cache_dir
from livepose.runtime.export import ONNX_OPSET, export_onnx

log = logging.getLogger(__name__)

EXPORT_REVISION = 1  # bump when export_onnx changes the graph it writes
KEEP_EXPORTS = 8  # the newest exports kept in the cache folder (each is 45-180 MB)


def checkpoint_key(checkpoint: Checkpoint) -> str:
    """A 20-hex-digit content hash of a checkpoint's weights and metadata (and the exporter's versions)."""
    digest = hashlib.sha256()
    header = {"meta": checkpoint.metadata(), "opset": ONNX_OPSET, "revision": EXPORT_REVISION,
              "torch": torch.__version__.split("+")[0]}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for key in sorted(checkpoint.state_dict):
        tensor = checkpoint.state_dict[key]
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:20]


def onnx_bytes(checkpoint: Checkpoint) -> bytes:
    """The ONNX export of ``checkpoint`` (network + decoding + metadata), from the cache or made now."""
    key = checkpoint_key(checkpoint)
    stem = checkpoint.path.stem if checkpoint.path is not None else "model"
    folder = cache_dir() / "onnx"
    path = folder / f"{stem}-{key}.onnx"
    if path.is_file():
        return path.read_bytes()
    log.info("exporting %s to ONNX once (cached as %s)", stem, path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError:
        with tempfile.TemporaryDirectory(prefix="livepose-onnx-") as scratch:
            return _export(checkpoint, Path(scratch) / "model.onnx").read_bytes()
    try:
        data = _export(checkpoint, Path(tmp)).read_bytes()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _prune(folder)
    return data


def _prune(folder: Path) -> None:
    """Delete all but the :data:`KEEP_EXPORTS` most recently written exports (best effort)."""
    try:
        exports = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in exports[KEEP_EXPORTS:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("pruning %s: %s", folder, exc)


def _export(checkpoint: Checkpoint, out: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notices mean nothing to a user
        return export_onnx(checkpoint, out)
