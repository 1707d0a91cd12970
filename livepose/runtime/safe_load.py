"""Reading PyTorch files without running pickled code, and strict state-dict loading.

Both functions turn every failure into a one-line :class:`~livepose.errors.LivePoseError`
naming the file (or key) and what was expected. Zip checkpoints are checked
before PyTorch reads them: their entries must be stored uncompressed (as
``torch.save`` writes them) and fit in the file, so a damaged or hostile file
cannot make the reader decompress more than it holds. Thread-safe.
"""

from __future__ import annotations

import pickle
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

from livepose.errors import LivePoseError

MAX_ZIP_ENTRIES = 100_000


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU with one-line errors for every bad file."""
    path = Path(path)
    if not path.exists():
        raise LivePoseError(f"{path}: no such file")
    if path.is_dir():
        raise LivePoseError(f"{path}: is a directory, expected a PyTorch checkpoint file")
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise LivePoseError(f"{path}: empty file, expected a PyTorch checkpoint")
    if head[:2] != b"PK" and head[:1] != b"\x80":
        raise LivePoseError(f"{path}: not a PyTorch checkpoint (expected a file written by torch.save)")
    if head[:2] == b"PK":
        _check_zip(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _detail(exc)
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found or "unsupported global" in str(exc).lower():
            what = f"it would call {found.group(1)}" if found else detail
            raise LivePoseError(f"{path}: refused: it holds pickled objects other than tensors and plain data, "
                                f"which could run code ({what})") from None
        kind = "truncated or corrupt PyTorch checkpoint" if head[:2] == b"PK" else "not a PyTorch checkpoint"
        raise LivePoseError(f"{path}: {kind} ({detail})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError, TypeError,
            IndexError, KeyError, UnicodeDecodeError, MemoryError, OverflowError, RecursionError,
            NotImplementedError, struct.error) as exc:
        kind = "truncated or corrupt PyTorch checkpoint" if head[:2] == b"PK" else "not a PyTorch checkpoint"
        raise LivePoseError(f"{path}: {kind} ({_detail(exc)})") from None


def _check_zip(path: Path) -> None:
    """Refuse a zip checkpoint whose directory is damaged or whose entries would decompress to more than the
    file holds (torch.save stores its entries uncompressed; a compressed entry could be a zip bomb)."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds on a damaged directory
        raise LivePoseError(f"{path}: truncated or corrupt PyTorch checkpoint ({_detail(exc)})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise LivePoseError(f"{path}: not a PyTorch checkpoint ({len(entries)} zip entries)")
    total = 0
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED or entry.file_size != entry.compress_size:
            raise LivePoseError(f"{path}: not a PyTorch checkpoint (compressed zip entry {entry.filename[:80]!r}; "
                                "torch.save stores its entries as they are)")
        total += entry.file_size
    if total > size:
        raise LivePoseError(f"{path}: truncated or corrupt PyTorch checkpoint (its entries claim {total} bytes, "
                            f"the file has {size})")


def _detail(exc: BaseException) -> str:
    """The informative first line of a torch.load error, shortened."""
    text = str(exc).strip()
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1].strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    first = first.split(". ")[0]
    return first[:160]


def load_state_dict_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model`` requiring every key to match; errors name the keys and shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_few(unexpected)}")
        raise LivePoseError(f"{source}: weights do not fit the network: {'; '.join(parts)}")
    for key, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise LivePoseError(f"{source}: {key} is a {type(tensor).__name__}, expected a tensor")
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise LivePoseError(f"{source}: {key} has shape {tuple(tensor.shape)}, the network expects "
                                f"{tuple(expected[key].shape)} (wrong backbone or joint count?)")
    model.load_state_dict(state, strict=True)


def _few(keys: list[str], limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
