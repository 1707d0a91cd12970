"""The HANDS 2017 challenge (BigHand2.2M) training set in its published layout.

::

    <root>/training/Training_Annotation.txt   lines 'image_D00000001.png x1 y1 z1 ... x21 y21 z21'
    <root>/training/images/image_D00000001.png

Labels are camera-frame millimetres (x right, y down, z forward); they are
projected to u, v, d with the ``hands2017`` profile's camera
(``u = x * fx / z + cx``, ``v = y * fy / z + cy``, ``d = z``). Depth PNGs are
16-bit millimetres. The challenge never published test labels, so only the
``"train"`` split exists. Layout ``hands21``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from livepose.datasets.base import FrameList, LabelledFrame
from livepose.datasets.files import read_depth_frame, read_named_rows, require_folder
from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)

ANNOTATION_FILE = "Training_Annotation.txt"


class Hands2017Frames(FrameList):
    """HANDS2017 training frames: 21 joints (u, v px; d mm), depth in mm."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        if split == "test":
            raise LivePoseError("hands2017 split 'test': the challenge published no test labels; expected 'train' "
                                "(hold out part of it for validation)")
        super().__init__("hands2017", root, split, ("train",))
        require_folder(self.root, "the HANDS2017 folder holding training/")
        folder = require_folder(self.root / "training", f"HANDS2017's training/ folder with {ANNOTATION_FILE} "
                                "and images/")
        self.image_folder = folder / "images"
        path = folder / ANNOTATION_FILE
        names, values = read_named_rows(path, 3 * self.num_joints, "'image_D00000001.png x1 y1 z1 ... x21 y21 z21'")
        xyz = values.reshape(-1, self.num_joints, 3)
        if (xyz[..., 2] <= 0).any():
            row = int(np.argwhere(xyz[..., 2] <= 0)[0][0])
            raise LivePoseError(f"{path}: frame {names[row]} has a joint at z <= 0; expected camera-frame "
                                "millimetres in front of the camera")
        self.names = names
        self.joints_xyz = xyz
        self.joints_uvd = self.intrinsics.xyz_to_uvd(xyz)
        logger.info("HANDS2017 %s: %d frames in %s", split, len(names), folder)

    def __len__(self) -> int:
        return len(self.names)

    def depth_path(self, index: int) -> Path:
        """The depth PNG of frame ``index``: ``training/images/<name>``."""
        return self.image_folder / Path(self.names[index]).name

    def _read(self, index: int) -> LabelledFrame:
        depth = read_depth_frame(self.depth_path(index), "uint16", self.intrinsics)
        return LabelledFrame(depth=depth, joints_uvd=self.joints_uvd[index].copy(), intrinsics=self.intrinsics,
                             name=self.names[index])
