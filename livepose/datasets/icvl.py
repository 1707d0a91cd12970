"""The ICVL Hand Posture Dataset in its published layout.

::

    <root>/Training/labels.txt               lines 'relative/path.png u1 v1 d1 ... u16 v16 d16'
    <root>/Training/Depth/<relative/path.png>
    <root>/Testing/test_seq_1.txt, test_seq_2.txt
    <root>/Testing/Depth/<relative/path.png>

u, v are pixels of the 320x240 image, d millimetres; depth PNGs are 16-bit
millimetres. The test split is the two test sequences one after the other
(702 + 894 frames in the published set). Layout ``icvl16``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from livepose.datasets.base import FrameList, LabelledFrame
from livepose.datasets.files import read_depth_frame, read_named_rows, require_folder
from livepose.errors import LivePoseError

logger = logging.getLogger(__name__)

LABEL_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "train": ("Training", ("labels.txt",)),
    "test": ("Testing", ("test_seq_1.txt", "test_seq_2.txt")),
}


class IcvlFrames(FrameList):
    """ICVL frames of one split: 16 joints (u, v px; d mm), depth in mm."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        super().__init__("icvl", root, split, tuple(LABEL_FILES))
        require_folder(self.root, "the ICVL dataset folder holding Training/ and Testing/")
        folder_name, label_names = LABEL_FILES[split]
        folder = require_folder(self.root / folder_name, f"ICVL's {folder_name}/ folder with "
                                f"{', '.join(label_names)} and Depth/")
        self.depth_folder = folder / "Depth"
        expected = "'relative/path.png u1 v1 d1 ... u16 v16 d16'"
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for label_name in label_names:
            file_names, values = read_named_rows(folder / label_name, 3 * self.num_joints, expected)
            names.extend(file_names)
            blocks.append(values.reshape(-1, self.num_joints, 3))
        self.names = names
        self.joints_uvd = np.concatenate(blocks)
        logger.info("ICVL %s: %d frames in %s", split, len(self.names), folder)

    def __len__(self) -> int:
        return len(self.names)

    def depth_path(self, index: int) -> Path:
        """The depth PNG of frame ``index``: ``Depth/<the label file's path>``."""
        relative = Path(self.names[index])
        if relative.is_absolute() or ".." in relative.parts:
            raise LivePoseError(f"ICVL frame name {self.names[index]!r}: expected a path relative to "
                                f"{self.depth_folder}")
        return self.depth_folder / relative

    def _read(self, index: int) -> LabelledFrame:
        depth = read_depth_frame(self.depth_path(index), "uint16", self.intrinsics)
        return LabelledFrame(depth=depth, joints_uvd=self.joints_uvd[index].copy(), intrinsics=self.intrinsics,
                             name=self.names[index])
