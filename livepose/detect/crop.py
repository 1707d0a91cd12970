"""Cutting the network input out of a depth frame, and mapping predictions back.

Pure functions, safe from any thread. They reproduce the official A2J
protocol exactly:

Hands (method ``"centre"``): a square of +-xy_thres mm around the centre
(u, v, d), projected at the centre's depth, gives a pixel box; it is clipped
to [0, W-1] x [0, H-1]. The crop takes rows ``int(y_min):int(y_max)`` and
columns ``int(x_min):int(x_max)`` (integer-truncated bounds, the last row and
column excluded), resizes it with nearest neighbour to 176x176, sets depths at
or beyond +-depth_thres of the centre to the centre depth, then normalises
``((depth - centre) - mean) / std``.

Bodies (method ``"box"``, ITOP): the given pixel box, clipped the same way,
resized to 288x288, normalised ``(depth - mean) / std`` with no centre
subtraction; the network's depth unit is metres x 50. livepose's own body
models may instead subtract a reference depth (``subtract_centre`` on a box
crop): the 10th percentile of the readings in the middle third of the resized
crop (:func:`box_reference_depth`), with readings outside +-depth_thres of it
and missing ones set to +depth_thres; their depths are then relative to it,
as a hand crop's are to its centre.

Mapping back (``crop_to_image``) uses the *unrounded* clipped bounds, as the
official code does: ``u = u_crop * (x_max - x_min) / width + x_min``. So a
crop pixel centre does not map back to exactly the image pixel it was sampled
from; that half-pixel-scale offset is part of what the published models
learned, and livepose keeps it.

One official asymmetry is kept for box crops: the official ITOP / K2HPD
scripts build training labels with the clipped box but map predictions back
with the *unclipped* box (``Bndbox`` as given). ``image_to_crop`` therefore
uses the clipped bounds and ``crop_to_image`` the box as given
(:attr:`Crop.output_box`); the two are exact inverses whenever the box lies
inside the image, and official ITOP weights give the official joints.

Box corners are computed in float32 like the official scripts, so integer
bounds match them bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from livepose.calibration import CropSettings
from livepose.camera import Intrinsics
from livepose.errors import LivePoseError


@dataclass(frozen=True)
class Crop:
    """Where a network input came from.

    Attributes:
        x_min, y_min, x_max, y_max: clipped, unrounded box bounds in image pixels
            (used to map predictions back).
        centre_depth: the centre depth in the frame's unit (mm for hands), the reference depth of a relative
            box crop, or None for an (absolute) box crop.
        settings: the crop and normalisation settings used.
        unclipped_box: for box crops, the box as given before clipping, which the official
            code maps predictions back with; None for centre crops.
    """

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    centre_depth: float | None
    settings: CropSettings
    unclipped_box: tuple[float, float, float, float] | None = None

    @property
    def output_box(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) used to map predictions back to the image."""
        if self.unclipped_box is not None:
            return self.unclipped_box
        return self.x_min, self.y_min, self.x_max, self.y_max

    @property
    def pixel_bounds(self) -> tuple[int, int, int, int]:
        """Integer (x0, y0, x1, y1) of the pixels actually read: ``image[y0:y1, x0:x1]``."""
        return int(self.x_min), int(self.y_min), int(self.x_max), int(self.y_max)


def centre_box(centre_uvd: np.ndarray, intrinsics: Intrinsics, xy_thres_mm: float,
               image_size: tuple[int, int] | None = None) -> tuple[float, float, float, float]:
    """Pixel box of a +-xy_thres_mm square around a centre, projected at the centre's depth.

    Args:
        centre_uvd: (3,) u, v in pixels and depth in mm.
        intrinsics: the camera (fy > 0).
        xy_thres_mm: half side of the square in millimetres.
        image_size: (width, height) to clip to [0, W-1] x [0, H-1]; defaults to the intrinsics' size.

    Returns:
        (x_min, y_min, x_max, y_max) unrounded, clipped pixel bounds.
    """
    u, v, d = (np.float32(c) for c in np.asarray(centre_uvd, dtype=np.float64)[:3])
    if not (np.isfinite(d) and d > 0):
        raise LivePoseError(f"crop centre depth {float(d)!r}: expected a positive depth in millimetres")
    fx, fy = np.float32(intrinsics.fx), np.float32(intrinsics.fy)
    cx, cy = np.float32(intrinsics.cx), np.float32(intrinsics.cy)
    thres = np.float32(xy_thres_mm)
    # Centre to camera millimetres, shift by the threshold, project back (float32 as the official code).
    x = (u - cx) * d / fx
    y = (v - cy) * d / fy
    us = ((x - thres) * fx / d + cx, (x + thres) * fx / d + cx)
    vs = ((y - thres) * fy / d + cy, (y + thres) * fy / d + cy)
    width, height = image_size if image_size is not None else (intrinsics.width, intrinsics.height)
    return clip_box((min(us), min(vs), max(us), max(vs)), (width, height))


def clip_box(box: tuple[float, float, float, float], image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Clip (x_min, y_min, x_max, y_max) to [0, W-1] x [0, H-1] (the official bounds)."""
    width, height = image_size
    x_min, y_min, x_max, y_max = box
    return (max(float(x_min), 0.0), max(float(y_min), 0.0), min(float(x_max), width - 1.0),
            min(float(y_max), height - 1.0))


def resize_nearest(image: np.ndarray, box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    """Cut ``image[int(y_min):int(y_max), int(x_min):int(x_max)]`` and resize it (nearest) to (height, width)."""
    x0, y0, x1, y1 = (int(b) for b in box)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise LivePoseError(f"crop box ({box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f}) holds no pixel "
                            f"of the {image.shape[1]}x{image.shape[0]} image")
    patch = image[y0:y1, x0:x1]
    if patch.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
        patch = patch.astype(np.float32)
    return cv2.resize(patch, (width, height), interpolation=cv2.INTER_NEAREST)


def crop_hand(depth: np.ndarray, centre_uvd: np.ndarray, intrinsics: Intrinsics,
              settings: CropSettings) -> tuple[np.ndarray, Crop]:
    """Crop and normalise a hand around a centre (the official NYU / ICVL / HANDS2017 protocol).

    Args:
        depth: (H, W) depth image in millimetres (any numeric dtype; 0 = no reading).
        centre_uvd: (3,) centre u, v (px) and depth (mm).
        intrinsics: the camera.
        settings: a ``"centre"`` crop (xy_thres_mm, depth_thres, size, mean, std).

    Returns:
        (height, width) float32 network input and the :class:`Crop` to map predictions back.
    """
    if settings.method != "centre":
        raise LivePoseError(f"crop_hand needs a 'centre' crop, got {settings.method!r}")
    depth = check_depth(depth)
    box = centre_box(centre_uvd, intrinsics, settings.xy_thres_mm, (depth.shape[1], depth.shape[0]))
    resized = resize_nearest(depth, box, settings.width, settings.height).astype(np.float32)
    centre = np.float32(np.asarray(centre_uvd, dtype=np.float64)[2])
    resized[resized >= centre + np.float32(settings.depth_thres)] = centre
    resized[resized <= centre - np.float32(settings.depth_thres)] = centre
    if settings.subtract_centre:
        resized = resized - centre
    normalised = ((resized.astype(np.float64) - settings.mean) / settings.std).astype(np.float32)
    return normalised, Crop(*box, centre_depth=float(centre), settings=settings)


# A relative box crop's reference depth is this percentile of the readings in its middle third: the person stands
# in front of what is behind them, and a median lands on the wall in one synthetic crop in eight (the 10th
# percentile lies within 0.9 m of every joint in 98 % of crops).
BOX_REFERENCE_PERCENTILE = 10


def box_reference_depth(resized: np.ndarray) -> float:
    """The depth a relative box crop is measured from: the :data:`BOX_REFERENCE_PERCENTILE` th percentile
    (sorted value ``(n - 1) * 10 // 100``) of the readings (> 0) in the middle third of the resized crop, or
    of the whole crop where the middle holds none, or 0 where nothing reads.

    Args:
        resized: (height, width) resized crop in the frame's unit (mm), before normalising.

    The twin of :func:`livepose.synth.generator.box_reference_depths` (training crops), value for value.
    """
    height, width = resized.shape
    middle = resized[height // 3:height - height // 3, width // 3:width - width // 3]
    for values in (middle, resized):
        valid = np.sort(values[values > 0], axis=None)
        if valid.size:
            return float(valid[(valid.size - 1) * BOX_REFERENCE_PERCENTILE // 100])
    return 0.0


def crop_box(depth: np.ndarray, box: tuple[float, float, float, float],
             settings: CropSettings) -> tuple[np.ndarray, Crop]:
    """Crop and normalise a body inside a pixel box (the official ITOP / K2HPD protocol, or relative to the
    crop's reference depth with ``subtract_centre``: see the module docstring).

    Args:
        depth: (H, W) depth image in the dataset's unit (metres for ITOP).
        box: (x_min, y_min, x_max, y_max) in pixels, before clipping.
        settings: a ``"box"`` crop.

    Returns:
        (height, width) float32 network input and its :class:`Crop`.
    """
    depth = check_depth(depth)
    clipped = clip_box(box, (depth.shape[1], depth.shape[0]))
    resized = resize_nearest(depth, clipped, settings.width, settings.height).astype(np.float32)
    reference = None
    if settings.subtract_centre:
        reference = np.float32(box_reference_depth(resized))
        band = np.float32(settings.depth_thres)
        relative = resized - reference
        resized = np.where((resized <= 0) | (np.abs(relative) >= band), band, relative).astype(np.float32)
    normalised = ((resized.astype(np.float64) - settings.mean) / settings.std).astype(np.float32)
    unclipped = tuple(float(b) for b in box)
    centre = None if reference is None else float(reference)
    return normalised, Crop(*clipped, centre_depth=centre, settings=settings, unclipped_box=unclipped)


def crop_to_image(joints: np.ndarray, crop: Crop) -> np.ndarray:
    """Map network output (..., J, 3) u, v (crop px), depth (network unit) to image u, v (px), depth.

    The image depth is in the frame's unit: the centre depth is added back for
    hand crops, the depth scale divided out for box crops (ITOP: metres).
    """
    joints = np.asarray(joints, dtype=np.float64)
    out = joints.copy()
    settings = crop.settings
    x_min, y_min, x_max, y_max = crop.output_box
    out[..., 0] = joints[..., 0] * (x_max - x_min) / settings.width + x_min
    out[..., 1] = joints[..., 1] * (y_max - y_min) / settings.height + y_min
    if joints.shape[-1] > 2:
        depth = joints[..., 2] / settings.depth_scale
        out[..., 2] = depth + crop.centre_depth if settings.subtract_centre and crop.centre_depth is not None else depth
    return out


def image_to_crop(joints: np.ndarray, crop: Crop) -> np.ndarray:
    """Image (..., J, 3) u, v, depth to network targets (the official label transform).

    The inverse of :func:`crop_to_image`, except for box crops that reach past
    the image, where the official code labels with the clipped box (see the module docstring).
    """
    joints = np.asarray(joints, dtype=np.float64)
    out = joints.copy()
    settings = crop.settings
    out[..., 0] = (joints[..., 0] - crop.x_min) * settings.width / (crop.x_max - crop.x_min)
    out[..., 1] = (joints[..., 1] - crop.y_min) * settings.height / (crop.y_max - crop.y_min)
    if joints.shape[-1] > 2:
        depth = joints[..., 2]
        if settings.subtract_centre and crop.centre_depth is not None:
            depth = depth - crop.centre_depth
        out[..., 2] = depth * settings.depth_scale
    return out


def check_depth(depth: np.ndarray) -> np.ndarray:
    """An (H, W) numeric depth image (a trailing channel of 1 dropped), or one LivePoseError line."""
    depth = np.asarray(depth)
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    if depth.ndim != 2 or depth.shape[0] < 2 or depth.shape[1] < 2:
        raise LivePoseError(f"depth frame of shape {depth.shape}: expected a 2D (H, W) image")
    if not np.issubdtype(depth.dtype, np.number) or np.issubdtype(depth.dtype, np.complexfloating):
        raise LivePoseError(f"depth frame of dtype {depth.dtype}: expected integer or float depths")
    return depth
