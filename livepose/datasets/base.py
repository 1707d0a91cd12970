"""What every real-dataset loader returns: labelled depth frames, read lazily.

A loader (:func:`open_dataset`) reads a dataset's label files when it is
opened and each depth frame only when it is asked for, so the published sets
(hundreds of thousands of frames) open in seconds and stay small in memory.
Loaders hold no open file handle across ``fork`` / pickling, so they work in
``torch.utils.data.DataLoader`` worker processes.

Coordinates: ``joints_uvd`` are image pixels (u = column, v = row, origin at
the centre of the top-left pixel) and depth along the camera's z axis in the
dataset's depth unit: millimetres for the hand sets, metres for ITOP.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from livepose.calibration import CropSettings, load_profile
from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.skeletons import get_layout

logger = logging.getLogger(__name__)

#: Names :func:`open_dataset` understands.
DATASET_NAMES: tuple[str, ...] = ("nyu", "icvl", "hands2017", "itop_side", "itop_top")


@dataclass(frozen=True)
class LabelledFrame:
    """One depth frame and its ground truth.

    Attributes:
        depth: (H, W) float32 depth in the dataset's unit (mm for hands, metres for ITOP), 0 = no reading.
        joints_uvd: (J, 3) float64: u, v in image pixels, depth in the same unit as ``depth``.
        intrinsics: the dataset camera (fy > 0, y down).
        name: the frame's file name or id, for messages.
        box: body box (x_min, y_min, x_max, y_max) in pixels for ITOP (from the person's
            segmentation; x_max / y_max one past the last pixel), else None.
    """

    depth: np.ndarray
    joints_uvd: np.ndarray
    intrinsics: Intrinsics
    name: str
    box: tuple[float, float, float, float] | None = None


@runtime_checkable
class LabelledFrames(Protocol):
    """A sequence of :class:`LabelledFrame` with the dataset's layout and crop settings.

    Attributes:
        layout: a :mod:`livepose.skeletons` layout name (``nyu14``, ``icvl16``, ``hands21``, ``itop15``).
        crop: the dataset's official crop settings (from its calibration profile).
    """

    layout: str
    crop: CropSettings

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> LabelledFrame: ...


class FrameList(Sequence):
    """Shared bookkeeping of the loaders: profile, layout, crop, indexing.

    Subclasses fill in :meth:`__len__` and :meth:`_read` (one frame, index already checked).

    Attributes:
        dataset: the dataset name (``nyu``, ``icvl``...), also the calibration profile's name.
        split: ``"train"`` or ``"test"``.
        root: the folder the dataset was opened from.
        layout: joint layout name.
        crop: official crop settings.
        intrinsics: the dataset camera.
    """

    def __init__(self, dataset: str, root: str | Path, split: str, splits: Sequence[str]) -> None:
        if split not in splits:
            raise LivePoseError(f"{dataset} split {split!r}: expected one of {', '.join(map(repr, splits))}")
        profile = load_profile(dataset)
        if profile.intrinsics is None or profile.crop is None or profile.layout is None:
            raise LivePoseError(f"{profile.path}: a dataset profile needs a camera, a crop and a layout")
        self.dataset = dataset
        self.split = split
        self.root = Path(root)
        self.layout: str = profile.layout
        self.crop: CropSettings = profile.crop
        self.intrinsics: Intrinsics = profile.intrinsics
        self.num_joints = get_layout(profile.layout).num_joints

    def _read(self, index: int) -> LabelledFrame:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> LabelledFrame:  # type: ignore[override]
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be integers, not {type(index).__name__}")
        count = len(self)
        position = int(index) + count if index < 0 else int(index)
        if not 0 <= position < count:
            raise IndexError(f"frame {int(index)} of a {count}-frame {self.dataset} {self.split} set")
        return self._read(position)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r}, split={self.split!r}, frames={len(self)})"


def open_dataset(name: str, root: str | Path, split: str = "train") -> LabelledFrames:
    """Open a published dataset in its published folder layout.

    Args:
        name: ``nyu``, ``icvl``, ``hands2017``, ``itop_side`` or ``itop_top``.
        root: the dataset folder (see each loader: :mod:`livepose.datasets.nyu`, ``icvl``, ``hands2017``, ``itop``).
        split: ``"train"`` or ``"test"`` (HANDS2017 publishes labels for ``"train"`` only).

    Returns:
        The frames, read lazily; label files are read now.

    Raises:
        LivePoseError: unknown name or split, missing or malformed files.
    """
    # Imported here: the loaders import this module.
    if name == "nyu":
        from livepose.datasets.nyu import NyuFrames

        return NyuFrames(root, split)
    if name == "icvl":
        from livepose.datasets.icvl import IcvlFrames

        return IcvlFrames(root, split)
    if name == "hands2017":
        from livepose.datasets.hands2017 import Hands2017Frames

        return Hands2017Frames(root, split)
    if name in ("itop_side", "itop_top"):
        from livepose.datasets.itop import ItopFrames

        return ItopFrames(root, split, view=name.removeprefix("itop_"))
    raise LivePoseError(f"unknown dataset {name!r}; expected one of {', '.join(DATASET_NAMES)}")
