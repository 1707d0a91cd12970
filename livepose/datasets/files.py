"""File helpers shared by the dataset loaders: folders, depth PNGs, text label files.

Every problem is raised as :class:`~livepose.errors.LivePoseError` with one
line naming the file and what was expected.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from livepose.camera import Intrinsics
from livepose.depth_io import read_depth_png
from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)


def require_folder(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else a LivePoseError saying what was expected there."""
    if not path.is_dir():
        state = "is not a folder" if path.exists() else "no such folder"
        raise LivePoseError(f"{path}: {state}; expected {what}")
    return path


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else a LivePoseError saying what was expected there."""
    if not path.is_file():
        state = "is not a file" if path.exists() else "no such file"
        raise LivePoseError(f"{path}: {state}; expected {what}")
    return path


def read_depth_frame(path: Path, encoding: str, intrinsics: Intrinsics) -> np.ndarray:
    """Read one depth PNG of a dataset whose depth unit is the millimetre.

    Args:
        path: the PNG.
        encoding: ``"uint16"`` or ``"nyu_rgb"`` (see :func:`livepose.depth_io.read_depth_png`).
        intrinsics: the dataset camera; the image must have its size.

    Returns:
        (H, W) float32 depth in millimetres, 0 = no reading.
    """
    raw = read_depth_png(path, encoding)
    if raw.shape != (intrinsics.height, intrinsics.width):
        raise LivePoseError(f"{path}: a {raw.shape[1]}x{raw.shape[0]} image; expected the dataset camera's "
                            f"{intrinsics.width}x{intrinsics.height}")
    depth = raw.astype(np.float32)
    if intrinsics.depth_unit_mm != 1.0:
        depth *= np.float32(intrinsics.depth_unit_mm)
    return depth


def read_named_rows(path: Path, values_per_row: int, expected: str) -> tuple[list[str], np.ndarray]:
    """Read a label file of lines ``name v1 v2 ... vK`` (whitespace separated, blank lines skipped).

    Args:
        path: the text file.
        values_per_row: K, the numbers after the name on every line.
        expected: a description of a line for error messages (``"'name u1 v1 d1 ... u16 v16 d16'"``).

    Returns:
        The names (one per line) and an (N, K) float64 array, every value finite.
    """
    require_file(path, f"a label file with lines {expected}")
    names: list[str] = []
    line_numbers: list[int] = []
    try:
        with path.open(encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                head = line.split(None, 1)
                if head:
                    names.append(head[0])
                    line_numbers.append(number)
    except UnicodeDecodeError:
        raise LivePoseError(f"{path}: not a text file; expected lines {expected}") from None
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot be read ({exc.strerror or exc}); expected lines {expected}") from None
    if not names:
        raise LivePoseError(f"{path}: no labelled frame; expected lines {expected}")
    values = _parse_numbers(path, values_per_row, expected)
    if values.shape != (len(names), values_per_row):
        # np.loadtxt and the name pass disagree only on files this module does not understand.
        raise LivePoseError(f"{path}: {values.shape[0]} rows of numbers for {len(names)} lines; expected lines "
                            f"{expected}")
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise LivePoseError(f"{path}: line {line_numbers[row]} has a NaN or infinite value; expected finite numbers")
    logger.debug("read %s: %d lines of %d numbers", path, len(names), values_per_row)
    return names, values


def _parse_numbers(path: Path, values_per_row: int, expected: str) -> np.ndarray:
    """(N, K) numbers of every non-blank line (the first field skipped); a slow scan names a bad line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns about an empty file; that case is caught below
            table = np.loadtxt(path, dtype=np.float64, comments=None, ndmin=2, encoding="utf-8",
                               converters={0: lambda _name: 0.0})
    except (ValueError, IndexError):
        _find_bad_line(path, values_per_row, expected)
        raise LivePoseError(f"{path}: not readable as lines {expected}") from None
    if table.shape[1] != values_per_row + 1:
        _find_bad_line(path, values_per_row, expected)
        raise LivePoseError(f"{path}: lines of {table.shape[1] - 1} numbers after the name; expected lines "
                            f"{expected}")
    return table[:, 1:]


def _find_bad_line(path: Path, values_per_row: int, expected: str) -> None:
    """Raise a LivePoseError naming the first line that is not ``name`` + ``values_per_row`` numbers."""
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != values_per_row + 1:
                raise LivePoseError(f"{path}: line {number} has {len(fields) - 1} numbers after the name; "
                                    f"expected {values_per_row} ({expected})")
            for field in fields[1:]:
                try:
                    float(field)
                except ValueError:
                    raise LivePoseError(f"{path}: line {number} has a non-numeric value {field[:40]!r}; "
                                        f"expected lines {expected}") from None
