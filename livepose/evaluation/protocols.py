"""Per-dataset evaluation protocols: which joints, which units, which frame.

A protocol turns the arrays read from a prediction or label file into metric
3D coordinates in which Euclidean distances are taken.

* Hands (nyu, icvl, msra, hands2017): files hold u, v (pixels) and d (mm),
  back-projected with the dataset profile's camera to camera-frame mm; with
  ``coords="xyz"`` the files already hold camera-frame mm.
* ITOP (itop_side, itop_top): labels hold world coordinates in metres (y up);
  predictions hold u, v (pixels of the 320x240 image) and z (metres), mapped
  to the world frame with ``x = (u - 160) * z * 0.0035``, ``y = (120 - v) * z * 0.0035``
  (the profile's camera has fx = fy = 1 / 0.0035). With ``coords="xyz"``
  predictions already hold world metres. Distances are in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.evaluation.formats import UVD_KEYS, XYZ_KEYS, load_joints
from livepose.skeletons import NYU36_TO_NYU14, Layout, get_layout

HAND_DATASETS: tuple[str, ...] = ("nyu", "icvl", "msra", "hands2017")
BODY_DATASETS: tuple[str, ...] = ("itop_side", "itop_top")
DATASETS: tuple[str, ...] = HAND_DATASETS + BODY_DATASETS
COORDS: tuple[str, ...] = ("uvd", "xyz")


@dataclass(frozen=True)
class Protocol:
    """How one dataset is evaluated.

    Attributes:
        dataset: dataset name (one of :data:`DATASETS`).
        layout: the joint layout of the evaluated joints.
        intrinsics: the dataset camera (fy > 0, y down).
        world_metres: True for ITOP: labels are world metres and distances come out in metres.
    """

    dataset: str
    layout: Layout
    intrinsics: Intrinsics
    world_metres: bool

    @property
    def mm_per_unit(self) -> float:
        """Millimetres per unit of the distances this protocol produces."""
        return 1000.0 if self.world_metres else 1.0

    @property
    def joint_counts(self) -> tuple[int, ...]:
        """Joint counts a file may hold (NYU files may hold all 36 joints)."""
        if self.dataset == "nyu":
            return (self.layout.num_joints, 36)
        return (self.layout.num_joints,)

    def select_joints(self, joints: np.ndarray) -> np.ndarray:
        """(N, J, 3) -> (N, layout joints, 3): NYU's 36 joints are reduced to the 14 evaluation joints."""
        if self.dataset == "nyu" and joints.shape[1] == 36:
            return joints[:, list(NYU36_TO_NYU14)]
        return joints

    def load_predictions(self, path: str | Path, coords: str = "uvd") -> np.ndarray:
        """Read predictions and return (N, J, 3) metric coordinates (hands: camera mm; ITOP: world m)."""
        _check_coords(coords)
        keys = XYZ_KEYS if coords == "xyz" else UVD_KEYS
        joints = self.select_joints(load_joints(path, self.joint_counts, keys))
        if coords == "xyz":
            return joints
        if self.world_metres:
            return self.itop_uvz_to_world(joints)
        return self.intrinsics.uvd_to_xyz(joints)

    def load_labels(self, path: str | Path, coords: str = "uvd") -> np.ndarray:
        """Read labels and return (N, J, 3) metric coordinates (hands: camera mm; ITOP: world m).

        ITOP labels are always world metres, whatever ``coords`` says.
        """
        _check_coords(coords)
        keys = XYZ_KEYS if (coords == "xyz" or self.world_metres) else UVD_KEYS
        joints = self.select_joints(load_joints(path, self.joint_counts, keys))
        if coords == "xyz" or self.world_metres:
            return joints
        return self.intrinsics.uvd_to_xyz(joints)

    def itop_uvz_to_world(self, uvz: np.ndarray) -> np.ndarray:
        """ITOP image points to world coordinates.

        Args:
            uvz: (..., 3) u, v in pixels of the 320x240 image, z in metres.

        Returns:
            (..., 3) x, y, z in metres, y up: ``x = (u - cx) * z / fx``, ``y = (cy - v) * z / fy``.
        """
        uvz = np.asarray(uvz, dtype=np.float64)
        k = self.intrinsics
        world = np.empty_like(uvz)
        world[..., 0] = (uvz[..., 0] - k.cx) * uvz[..., 2] / k.fx
        world[..., 1] = (k.cy - uvz[..., 1]) * uvz[..., 2] / k.fy
        world[..., 2] = uvz[..., 2]
        return world


def _check_coords(coords: str) -> None:
    if coords not in COORDS:
        raise LivePoseError(f"coordinates {coords!r}: expected one of {', '.join(COORDS)}")


def get_protocol(dataset: str) -> Protocol:
    """The evaluation protocol of ``dataset`` (one of :data:`DATASETS`), read from its calibration profile."""
    if dataset not in DATASETS:
        raise LivePoseError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    profile = load_profile(dataset)
    if profile.intrinsics is None or profile.layout is None:
        raise LivePoseError(f"{profile.path}: dataset profile needs a camera and a layout for evaluation")
    return Protocol(dataset=dataset, layout=get_layout(profile.layout), intrinsics=profile.intrinsics,
                    world_metres=profile.label_depth_unit == "m")
