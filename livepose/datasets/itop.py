"""The ITOP body dataset (side and top views) in its published HDF5 layout.

::

    <root>/ITOP_<view>_<split>_depth_map.h5   data (N, 240, 320) float16 metres, id (N,)
    <root>/ITOP_<view>_<split>_labels.h5      id (N,), is_valid (N,), visible_joints (N, 15),
                                               image_coordinates (N, 15, 2) px,
                                               real_world_coordinates (N, 15, 3) metres (y up),
                                               segmentation (N, 240, 320): body part per pixel, -1 = background

``view`` is ``side`` or ``top``, ``split`` ``train`` or ``test``. Only frames
marked ``is_valid`` are kept. Joints come from ``real_world_coordinates``
projected with the profile's camera, ITOP's own projection
(``u = x * fx / z + cx``, ``v = cy - y * fy / z``, ``d = z`` in metres, with
fx = fy = 1 / 0.0035): sub-pixel, where ``image_coordinates`` are rounded to
whole pixels. The body box is the bounding box of the pixels the
segmentation gives to the person (None when it has none, or when the file
has no ``segmentation``). Layout ``itop15``.

Needs ``h5py``, imported when a set is opened. HDF5 files are opened per
process when a frame is read and never pickled, so the frames work in
``DataLoader`` worker processes (fork or spawn).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from livepose.datasets.base import FrameList, LabelledFrame
from livepose.datasets.files import require_file, require_folder
from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)

VIEWS: tuple[str, ...] = ("side", "top")


def import_h5py() -> Any:
    """The h5py module, or a one-line LivePoseError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise LivePoseError("reading ITOP needs h5py: pip install h5py") from None
    return h5py


class ItopFrames(FrameList):
    """Valid ITOP frames of one view and split: 15 joints (u, v px; d m), depth in metres, body box."""

    def __init__(self, root: str | Path, split: str = "train", view: str = "side") -> None:
        if view not in VIEWS:
            raise LivePoseError(f"ITOP view {view!r}: expected 'side' or 'top'")
        super().__init__(f"itop_{view}", root, split, ("train", "test"))
        h5py = import_h5py()
        require_folder(self.root, f"the ITOP folder holding ITOP_{view}_{split}_depth_map.h5 and _labels.h5")
        self.view = view
        self.depth_file = require_file(self.root / f"ITOP_{view}_{split}_depth_map.h5",
                                       "ITOP's depth map HDF5 file (datasets data, id)")
        self.labels_file = require_file(self.root / f"ITOP_{view}_{split}_labels.h5",
                                        "ITOP's labels HDF5 file (datasets id, is_valid, real_world_coordinates, ...)")
        labels = _read_labels(h5py, self.labels_file, self.num_joints)
        self._check_depth_file(h5py, labels["id"])
        valid = np.flatnonzero(labels["is_valid"] != 0)
        world = labels["real_world_coordinates"][valid].astype(np.float64)
        if (world[..., 2] <= 0).any():
            row = int(np.argwhere(world[..., 2] <= 0)[0][0])
            raise LivePoseError(f"{self.labels_file}: valid frame {labels['id'][valid[row]]} has a joint at z <= 0; "
                                "expected real_world_coordinates in metres in front of the camera")
        self.rows = valid
        self.ids = [labels["id"][i] for i in valid]
        self.joints_world = world
        self.joints_uvd = world_to_uvd(world, self.intrinsics.fx, self.intrinsics.fy, self.intrinsics.cx,
                                       self.intrinsics.cy)
        self.has_segmentation = labels["has_segmentation"]
        self._handles: dict[Path, Any] = {}
        self._pid: int | None = None
        logger.info("ITOP %s %s: %d valid frames of %d in %s", view, split, len(valid), len(labels["id"]), self.root)

    def _check_depth_file(self, h5py: Any, label_ids: list[str]) -> None:
        path = self.depth_file
        with _open(h5py, path) as handle:
            data = _dataset(handle, "data", path)
            expected = (len(label_ids), self.intrinsics.height, self.intrinsics.width)
            if tuple(data.shape) != expected:
                raise LivePoseError(f"{path}: data of shape {tuple(data.shape)}; expected {expected} (frames of "
                                    f"{self.labels_file.name}, height, width)")
            if "id" in handle:
                ids = _ids(handle["id"][()], path)
                if len(ids) != len(label_ids):
                    raise LivePoseError(f"{path}: {len(ids)} ids for {len(label_ids)} frames; expected one id per "
                                        "frame, as in the labels file")
                if ids != label_ids:
                    first = next(i for i, (a, b) in enumerate(zip(ids, label_ids, strict=True)) if a != b)
                    raise LivePoseError(f"{path}: frame {first} is {ids[first]!r} but {self.labels_file.name} has "
                                        f"{label_ids[first]!r}; expected the same ids in the same order")

    def __len__(self) -> int:
        return len(self.rows)

    def _handle(self, path: Path) -> Any:
        """This process's open handle on ``path`` (opened on first use; a forked child opens its own)."""
        if self._pid != os.getpid():
            self._handles = {}
            self._pid = os.getpid()
        handle = self._handles.get(path)
        if handle is None:
            handle = _open(import_h5py(), path)
            self._handles[path] = handle
        return handle

    def _read(self, index: int) -> LabelledFrame:
        row = int(self.rows[index])
        try:
            depth = np.asarray(self._handle(self.depth_file)["data"][row], dtype=np.float32)
            box = None
            if self.has_segmentation:
                box = body_box(np.asarray(self._handle(self.labels_file)["segmentation"][row]))
        except (OSError, KeyError, ValueError) as exc:
            raise LivePoseError(f"{self.depth_file.parent}: frame {self.ids[index]} of ITOP {self.view} "
                                f"{self.split} is not readable ({exc})") from None
        depth[~np.isfinite(depth)] = 0.0
        return LabelledFrame(depth=depth, joints_uvd=self.joints_uvd[index].copy(), intrinsics=self.intrinsics,
                             name=self.ids[index], box=box)

    def close(self) -> None:
        """Close this process's HDF5 handles (they reopen when a frame is read again)."""
        if self._pid == os.getpid():
            for handle in self._handles.values():
                handle.close()
        self._handles = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"] = {}
        state["_pid"] = None
        return state


def world_to_uvd(world: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """ITOP world coordinates (..., 3) in metres, y up, to (..., 3) u, v (px) and d (m)."""
    world = np.asarray(world, dtype=np.float64)
    uvd = np.empty_like(world)
    uvd[..., 0] = world[..., 0] * fx / world[..., 2] + cx
    uvd[..., 1] = cy - world[..., 1] * fy / world[..., 2]
    uvd[..., 2] = world[..., 2]
    return uvd


def body_box(segmentation: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x_min, y_min, x_max, y_max) of the person's pixels (label >= 0), max one past the last pixel; or None."""
    mask = segmentation >= 0
    if not mask.any():
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    return float(columns[0]), float(rows[0]), float(columns[-1] + 1), float(rows[-1] + 1)


def _open(h5py: Any, path: Path) -> Any:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise LivePoseError(f"{path}: not a readable HDF5 file ({exc}); expected an ITOP .h5 file") from None


def _dataset(handle: Any, key: str, path: Path) -> Any:
    if key not in handle:
        found = ", ".join(sorted(handle.keys())) or "none"
        raise LivePoseError(f"{path}: no dataset {key!r} (found: {found}); expected ITOP's published datasets")
    return handle[key]


def _ids(values: np.ndarray, path: Path) -> list[str]:
    values = np.asarray(values).reshape(-1)
    return [v.decode("ascii", "replace") if isinstance(v, bytes) else str(v) for v in values.tolist()]


def _read_labels(h5py: Any, path: Path, num_joints: int) -> dict[str, Any]:
    """ids (list of str), is_valid (N,), real_world_coordinates (N, J, 3) and whether segmentation exists."""
    with _open(h5py, path) as handle:
        ids = _ids(_dataset(handle, "id", path)[()], path)
        count = len(ids)
        is_valid = np.asarray(_dataset(handle, "is_valid", path)[()]).reshape(-1)
        world = np.asarray(_dataset(handle, "real_world_coordinates", path)[()])
        has_segmentation = "segmentation" in handle
        if has_segmentation and handle["segmentation"].shape[0] != count:
            raise LivePoseError(f"{path}: segmentation holds {handle['segmentation'].shape[0]} frames; expected "
                                f"{count}, one per id")
    if is_valid.shape != (count,):
        raise LivePoseError(f"{path}: is_valid of shape {is_valid.shape}; expected ({count},), one per id")
    if world.shape != (count, num_joints, 3):
        raise LivePoseError(f"{path}: real_world_coordinates of shape {world.shape}; expected "
                            f"({count}, {num_joints}, 3)")
    if not np.isfinite(world[is_valid != 0]).all():
        raise LivePoseError(f"{path}: real_world_coordinates of a valid frame has NaN or infinite values")
    return {"id": ids, "is_valid": is_valid, "real_world_coordinates": world, "has_segmentation": has_segmentation}
