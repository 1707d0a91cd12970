"""The NYU Hand Pose Dataset (``nyu_hand_dataset_v2``) in its published layout.

::

    <root>/train/joint_data.mat          joint_uvd, joint_xyz: (3 kinects, frames, 36, 3)
    <root>/train/depth_1_0000001.png     kinect 1, frame 1 (1-based, 7 digits)
    <root>/test/...                      the same for the 8252 test frames

``<root>/dataset/train`` (the archive's own top folder) is accepted as well.
Depth PNGs are 8-bit colour images with depth_mm = G * 256 + B (R unused).
``joint_uvd`` holds u, v (pixels) and d (mm); only it is read (``joint_xyz``,
y up, is not needed). Frames come from one Kinect (1, the frontal camera used
by every published result, unless told otherwise) and keep the 14 evaluation
joints, NYU ids 0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32
(:data:`livepose.skeletons.NYU36_TO_NYU14`, layout ``nyu14``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from livepose.datasets.base import FrameList, LabelledFrame
from livepose.datasets.files import read_depth_frame, require_file, require_folder
from livepose.errors import LivePoseError
from livepose.skeletons import NYU36_TO_NYU14

logger = logging.getLogger(__name__)

NYU_JOINTS = 36
JOINT_KEY = "joint_uvd"


class NyuFrames(FrameList):
    """NYU frames of one split and one Kinect, 14 joints (u, v px; d mm), depth in mm."""

    def __init__(self, root: str | Path, split: str = "train", kinect: int = 1) -> None:
        super().__init__("nyu", root, split, ("train", "test"))
        require_folder(self.root, "the NYU dataset folder (nyu_hand_dataset_v2) holding train/ and test/")
        folder = self.root / split
        if not folder.is_dir() and (self.root / "dataset" / split).is_dir():
            folder = self.root / "dataset" / split
        self.folder = require_folder(folder, f"NYU's {split}/ folder with joint_data.mat and depth_1_*.png")
        self.kinect = int(kinect)
        joints36 = read_nyu_uvd(self.folder / "joint_data.mat", self.kinect)
        self.joints_uvd = np.ascontiguousarray(joints36[:, list(NYU36_TO_NYU14)])
        logger.info("NYU %s: %d frames of kinect %d in %s", split, len(self.joints_uvd), self.kinect, self.folder)

    def __len__(self) -> int:
        return int(self.joints_uvd.shape[0])

    def depth_path(self, index: int) -> Path:
        """The depth PNG of frame ``index`` (0-based): ``depth_<kinect>_<index + 1, 7 digits>.png``."""
        return self.folder / f"depth_{self.kinect}_{index + 1:07d}.png"

    def _read(self, index: int) -> LabelledFrame:
        path = self.depth_path(index)
        depth = read_depth_frame(path, "nyu_rgb", self.intrinsics)
        return LabelledFrame(depth=depth, joints_uvd=self.joints_uvd[index].copy(), intrinsics=self.intrinsics,
                             name=path.name)


def read_nyu_uvd(path: Path, kinect: int = 1) -> np.ndarray:
    """Read ``joint_uvd`` of one Kinect from NYU's ``joint_data.mat``.

    Args:
        path: ``joint_data.mat`` (MATLAB v5).
        kinect: 1-based Kinect number.

    Returns:
        (N, 36, 3) float64: u, v in pixels, d in mm.
    """
    from scipy.io import loadmat, whosmat

    require_file(path, f"NYU's joint_data.mat with {JOINT_KEY} of shape (3, frames, 36, 3)")
    try:
        listing = {name: shape for name, shape, _kind in whosmat(str(path))}
    except NotImplementedError:
        raise LivePoseError(f"{path}: a MATLAB v7.3 file; expected NYU's v5 joint_data.mat") from None
    except Exception as exc:  # scipy raises ValueError, MatReadError, TypeError... on corrupt files
        raise LivePoseError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc}); expected NYU's "
                            "joint_data.mat") from None
    if JOINT_KEY not in listing:
        found = ", ".join(sorted(listing)) or "none"
        raise LivePoseError(f"{path}: no {JOINT_KEY!r} array (found: {found}); expected NYU's joint_data.mat "
                            f"with {JOINT_KEY} of shape (3, frames, 36, 3)")
    shape = tuple(listing[JOINT_KEY])
    if len(shape) != 4 or shape[2:] != (NYU_JOINTS, 3) or shape[1] < 1:
        raise LivePoseError(f"{path}: {JOINT_KEY} of shape {shape}; expected (kinects, frames, 36, 3)")
    if not 1 <= kinect <= shape[0]:
        raise LivePoseError(f"NYU kinect {kinect}: {path} holds kinects 1 to {shape[0]}")
    try:
        array = loadmat(str(path), variable_names=[JOINT_KEY])[JOINT_KEY]
        joints = np.array(array[kinect - 1], dtype=np.float64)
    except Exception as exc:  # a file whose listing reads but whose data does not
        raise LivePoseError(f"{path}: {JOINT_KEY} is not readable ({type(exc).__name__}: {exc})") from None
    bad = ~np.isfinite(joints)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        raise LivePoseError(f"{path}: {JOINT_KEY} has NaN or infinite values (first in frame {frame + 1}); "
                            "expected finite u, v, d")
    return joints
