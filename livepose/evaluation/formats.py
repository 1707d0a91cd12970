"""Readers for published joint files: text, MATLAB ``.mat``, NumPy ``.npy`` / ``.npz``.

Every reader returns a float64 array of shape (N, J, 3): N frames, J joints,
three numbers per joint. What those numbers mean (u, v, d or x, y, z, and the
units) is decided by the dataset, not here; see :mod:`livepose.evaluation.protocols`.

Accepted layouts:

* text: one frame per line, J*3 numbers separated by whitespace; an optional
  leading non-numeric token (a frame name, as in HANDS2017 result files) is
  dropped; blank lines are skipped.
* ``.mat`` / ``.npz``: the first of a known list of keys (``keypoints3D``,
  ``resultUVD``, ``joint_uvd``, ``pred``...), holding (N, J, 3) or (N, J*3),
  possibly with leading singleton dimensions; a 4-D (K, N, J, 3) array such as
  NYU's ``joint_data.mat`` ``joint_uvd`` (one slice per Kinect) gives slice 0.
* ``.npy``: one array with the same layouts.

Every problem is raised as :class:`~livepose.errors.LivePoseError` naming the file.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)

# Keys tried in order when a .mat / .npz holds several arrays.
UVD_KEYS: tuple[str, ...] = ("keypoints3D", "resultUVD", "joint_uvd", "pred", "predictions", "labels", "uvd")
XYZ_KEYS: tuple[str, ...] = ("keypoints3D", "resultXYZ", "joint_xyz", "pred", "predictions", "labels", "xyz")


def load_joints(path: str | Path, joint_counts: Sequence[int], keys: Sequence[str] = UVD_KEYS) -> np.ndarray:
    """Read a joint file and return its frames.

    Args:
        path: a text, ``.mat``, ``.npy`` or ``.npz`` file.
        joint_counts: the numbers of joints a file may hold (e.g. ``(14, 36)`` for NYU).
        keys: keys tried in order in ``.mat`` / ``.npz`` files.

    Returns:
        (N, J, 3) float64 array, J one of ``joint_counts``, every value finite.

    Raises:
        LivePoseError: missing or unreadable file, unknown keys, a wrong shape, NaN or inf.
    """
    path = Path(path)
    if not path.exists():
        raise LivePoseError(f"{path}: no such file")
    if not path.is_file():
        raise LivePoseError(f"{path}: not a file (expected a .txt, .mat, .npy or .npz joint file)")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        array = _read_mat(path, keys)
    elif suffix == ".npy":
        array = _read_npy(path)
    elif suffix == ".npz":
        array = _read_npz(path, keys)
    else:
        array = _read_text(path)
    joints = to_frames(array, joint_counts, source=str(path))
    bad = ~np.isfinite(joints)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        raise LivePoseError(f"{path}: {int(bad.sum())} NaN or infinite values (first in frame {frame}); "
                            "expected finite joint coordinates")
    logger.debug("read %s: %d frames x %d joints", path, joints.shape[0], joints.shape[1])
    return joints


def to_frames(array: np.ndarray, joint_counts: Sequence[int], source: str) -> np.ndarray:
    """Reshape a loaded array to (N, J, 3).

    Args:
        array: (N, J, 3), (N, J*3), (J*3,) for a single frame, (K, N, J, 3) (slice 0 is used), any of
            these with extra leading singleton dimensions.
        joint_counts: accepted values of J.
        source: the file name used in error messages.

    Returns:
        (N, J, 3) float64 array.
    """
    expected = " or ".join(f"(N, {j}, 3) / (N, {j * 3})" for j in joint_counts)
    try:
        array = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise LivePoseError(f"{source}: joint data is not numeric; expected an array of shape "
                            f"{expected}") from None
    shape = array.shape
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 4 and array.shape[-1] == 3 and array.shape[-2] in joint_counts:
        logger.info("%s: array of shape %s, using the first of %d slices (NYU kinect 0)", source, shape,
                    array.shape[0])
        array = array[0]
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim == 2 and array.shape[1] % 3 == 0 and array.shape[1] // 3 in joint_counts:
        array = array.reshape(array.shape[0], -1, 3)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[1] not in joint_counts:
        raise LivePoseError(f"{source}: joint data of shape {shape}; expected {expected}")
    if array.shape[0] == 0:
        raise LivePoseError(f"{source}: no frames; expected at least one frame of joints")
    return array


def _read_text(path: Path) -> np.ndarray:
    """Parse a text joint file into an (N, M) array, one row per non-blank line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LivePoseError(f"{path}: not a text joint file (binary data); expected one frame per line of "
                            "'u v d' numbers, or a .mat / .npy file") from None
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows: list[list[float]] = []
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            try:
                values = [float(t) for t in tokens[1:]]  # a leading frame name
            except ValueError:
                raise LivePoseError(f"{path}: line {number} has a non-numeric value; expected an optional "
                                    "frame name followed by numbers") from None
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise LivePoseError(f"{path}: line {number} has {len(values)} numbers but earlier lines have "
                                f"{width}; expected the same number of joints on every line")
        rows.append(values)
    if not rows or not width:
        raise LivePoseError(f"{path}: no joint data; expected one frame per line of 'u v d' numbers")
    return np.asarray(rows, dtype=np.float64)


def _pick_key(source: Path, available: Sequence[str], keys: Sequence[str]) -> str:
    for key in keys:
        if key in available:
            return key
    found = ", ".join(sorted(available)) or "none"
    raise LivePoseError(f"{source}: no known joint array (keys found: {found}); expected one of "
                        f"{', '.join(keys)}")


def _read_mat(path: Path, keys: Sequence[str]) -> np.ndarray:
    from scipy.io import loadmat

    try:
        contents = loadmat(str(path))
    except NotImplementedError:
        raise LivePoseError(f"{path}: MATLAB v7.3 (HDF5) file; expected a v5 .mat file (re-save with "
                            "save(..., '-v7'))") from None
    except Exception as exc:  # scipy raises ValueError, MatReadError, TypeError... on corrupt files
        raise LivePoseError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    names = [k for k in contents if not k.startswith("__")]
    key = _pick_key(path, names, keys)
    logger.debug("%s: using key %r", path, key)
    return contents[key]


def _read_npz(path: Path, keys: Sequence[str]) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as contents:
            key = _pick_key(path, list(contents.files), keys)
            return np.array(contents[key])
    except LivePoseError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LivePoseError(f"{path}: not a readable .npz file ({exc})") from None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise LivePoseError(f"{path}: not a readable .npy file ({exc})") from None
