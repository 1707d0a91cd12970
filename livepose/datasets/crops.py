"""Network inputs and training targets from labelled real frames (the official A2J crop protocol).

Hands (``"centre"`` crops): the crop is centred on the given centre, or by
default on the mean of the joints' (u, v, d), the labels' own centre, which
needs no detector and is what a training loop can always compute; a
published centre file (NYU's refined centres) can be passed instead.

Bodies (``"box"`` crops): the box is the frame's own body box (ITOP: the
person's segmentation), or, where a frame has none, the joints' pixel
bounding box grown on every side by :data:`BODY_BOX_MARGIN_MM` projected at
the joints' mean depth (joints sit inside the body, so a tight joint box
would cut off the head, hands and feet).

Targets are the labels mapped into the crop with
:func:`livepose.detect.crop.image_to_crop`, so ``crop_to_image(targets, crop)``
gives the labels back.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from livepose.calibration import CropSettings
from livepose.datasets.base import LabelledFrame, LabelledFrames
from livepose.detect.crop import Crop, crop_box, crop_hand, image_to_crop
from livepose.errors import LivePoseError

#: Margin added on every side of the joints' pixel box when a body frame has no box, in millimetres.
BODY_BOX_MARGIN_MM = 150.0


def frame_to_crop(frame: LabelledFrame, crop: CropSettings,
                  centre_uvd: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, Crop]:
    """Cut the network input out of a labelled frame and map its joints into the crop.

    Args:
        frame: a labelled frame.
        crop: the crop settings (usually the dataset's, ``frames.crop``).
        centre_uvd: (3,) hand centre u, v (px), d (mm) for ``"centre"`` crops; default the mean of the
            joints' u, v, d. Not allowed for ``"box"`` crops.

    Returns:
        ((height, width) float32 normalised input, (J, 3) float64 targets in crop coordinates: u, v in
        crop pixels, depth in network units (hands: mm from the centre; ITOP: metres x 50), the Crop).
    """
    joints = np.asarray(frame.joints_uvd, dtype=np.float64)
    if crop.method == "centre":
        if frame.intrinsics.depth_unit_mm != 1.0:
            raise LivePoseError(f"frame {frame.name}: a hand ('centre') crop needs depth in millimetres; this "
                                f"dataset's unit is {frame.intrinsics.depth_unit_mm:g} mm")
        centre = hand_centre(joints) if centre_uvd is None else np.asarray(centre_uvd, dtype=np.float64).reshape(-1)
        if centre.shape != (3,) or not np.isfinite(centre).all():
            raise LivePoseError(f"frame {frame.name}: crop centre {centre.tolist()}; expected three finite numbers "
                                "u, v (px), d (mm)")
        image, placed = crop_hand(frame.depth, centre, frame.intrinsics, crop)
    else:
        if centre_uvd is not None:
            raise LivePoseError(f"frame {frame.name}: a centre was given for a 'box' crop; box crops use the "
                                "frame's body box")
        box = frame.box if frame.box is not None else joints_box(frame)
        image, placed = crop_box(frame.depth, box, crop)
    return image, image_to_crop(joints, placed), placed


def hand_centre(joints_uvd: np.ndarray) -> np.ndarray:
    """(3,) mean u, v (px), d of (J, 3) joints: the crop centre used when none is given."""
    return np.asarray(joints_uvd, dtype=np.float64).reshape(-1, 3).mean(axis=0)


def joints_box(frame: LabelledFrame, margin_mm: float = BODY_BOX_MARGIN_MM) -> tuple[float, float, float, float]:
    """(x_min, y_min, x_max, y_max) px: the joints' pixel box grown by ``margin_mm`` at their mean depth."""
    joints = np.asarray(frame.joints_uvd, dtype=np.float64)
    depth_mm = float(joints[:, 2].mean()) * frame.intrinsics.depth_unit_mm
    if not (np.isfinite(depth_mm) and depth_mm > 0):
        raise LivePoseError(f"frame {frame.name}: joints at mean depth {depth_mm!r} mm; expected a positive depth "
                            "to size the body box")
    grow_u = margin_mm * frame.intrinsics.fx / depth_mm
    grow_v = margin_mm * frame.intrinsics.fy / depth_mm
    return (float(joints[:, 0].min() - grow_u), float(joints[:, 1].min() - grow_v),
            float(joints[:, 0].max() + grow_u), float(joints[:, 1].max() + grow_v))


class RealCrops(Dataset):
    """Labelled real frames as training pairs for A2J.

    Item ``i``: (input (1, height, width) float32 tensor, target (J, 3) float32 tensor in crop coordinates),
    from :func:`frame_to_crop` with the default centre / box choice, or ``centres[i]`` where given.

    Args:
        frames: an opened dataset (:func:`livepose.datasets.open_dataset`).
        crop: crop settings; default the dataset's own (``frames.crop``).
        centres: optional (N, 3) hand centres u, v (px), d (mm), one per frame (e.g. NYU's refined centres).
    """

    def __init__(self, frames: LabelledFrames, crop: CropSettings | None = None, *,
                 centres: np.ndarray | None = None) -> None:
        self.frames = frames
        self.crop = frames.crop if crop is None else crop
        self.layout = frames.layout
        self.centres = None
        if centres is not None:
            centres = np.asarray(centres, dtype=np.float64).reshape(-1, 3)
            if len(centres) != len(frames):
                raise LivePoseError(f"{len(centres)} crop centres for {len(frames)} frames; expected one per frame")
            self.centres = centres

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        frame = self.frames[index]
        centre = None if self.centres is None else self.centres[index]
        image, targets, _ = frame_to_crop(frame, self.crop, centre)
        return torch.from_numpy(np.ascontiguousarray(image[None], dtype=np.float32)), \
            torch.from_numpy(targets.astype(np.float32))
