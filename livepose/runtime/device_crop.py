"""The official crop, resize and normalisation as batched torch on any device (the GPU half of the CUDA path).

Twin of :func:`livepose.detect.crop.crop_hand` / :func:`~livepose.detect.crop.crop_box`
for frames that already sit on the device: the pixel box is read as
``frame[int(y_min):int(y_max), int(x_min):int(x_max)]`` and resized to
(height, width) with OpenCV's ``INTER_NEAREST`` rule (destination pixel ``i``
takes source pixel ``min(floor(i * (1 / (size / span))), span - 1)``, computed
in float64 as OpenCV does), then the depth band and the normalisation are
applied with the same float32 / float64 steps as the numpy code, so on the CPU
the result is bit-identical to ``crop_hand`` (tests check this).

All shapes are static for a given batch size and frame size, and nothing here
synchronises with the host, so the whole crop can be captured in a CUDA graph;
the boxes and centres are tensors read at run time.

The boxes themselves are computed on the host with
:func:`livepose.detect.crop.centre_box` (a handful of float32 operations,
bit-exact with the official code); :func:`check_boxes` refuses empty ones
there, before anything is launched.

Pure functions, any thread.
"""

from __future__ import annotations

import numpy as np
import torch

from livepose.calibration import CropSettings
from livepose.errors import LivePoseError


def nearest_indices(low: torch.Tensor, high: torch.Tensor, size: int) -> torch.Tensor:
    """Source pixel indices of an OpenCV nearest-neighbour resize of ``[low, high)`` to ``size`` pixels.

    Args:
        low, high: (B,) int64 first and one-past-last source pixel (``high - low >= 1``).
        size: destination length in pixels.

    Returns:
        (B, size) int64 absolute source indices.
    """
    span = high - low
    # OpenCV's ifx = 1 / fx with fx = dsize / ssize, in double. Tensor-by-tensor divisions on purpose: a Python
    # number divided by a tensor is computed as a reciprocal times the number, which rounds differently.
    ssize = span.to(torch.float64)
    scale = torch.reciprocal(torch.full_like(ssize, float(size)) / ssize)
    steps = torch.arange(size, device=low.device, dtype=torch.float64)
    offset = torch.floor(steps[None, :] * scale[:, None]).to(torch.int64)
    return low[:, None] + torch.minimum(offset, (span - 1)[:, None])


def crop_frames(frames: torch.Tensor, boxes: torch.Tensor, centre_depth: torch.Tensor | None,
                settings: CropSettings, exact: bool = True) -> torch.Tensor:
    """Cut, resize (nearest) and normalise one crop per frame.

    Args:
        frames: (B, H, W) float32 depth (mm for hands, the dataset's unit for box crops), 0 = no reading.
        boxes: (B, 4) float32 clipped, unrounded (x_min, y_min, x_max, y_max) in pixels.
        centre_depth: (B,) float32 centre depth for ``"centre"`` crops (depth band and centre subtraction);
            None for ``"box"`` crops.
        settings: the crop and normalisation.
        exact: normalise in float64 like the numpy code (bit-identical); False does it in float32 (within
            one float32 rounding; for devices without float64).

    Returns:
        (B, 1, height, width) float32 network inputs.
    """
    if settings.method == "box" and settings.subtract_centre:
        raise LivePoseError("relative box crops (body models trained with --body-depth relative) are cut on the "
                            "CPU by livepose.detect.crop.crop_box, not on the device")
    batch = frames.shape[0]
    bounds = boxes.to(torch.float32).trunc().to(torch.int64)  # int() of each bound, as the numpy code
    rows = nearest_indices(bounds[:, 1], bounds[:, 3], settings.height)  # (B, h)
    cols = nearest_indices(bounds[:, 0], bounds[:, 2], settings.width)  # (B, w)
    index = torch.arange(batch, device=frames.device)[:, None, None]
    crop = frames[index, rows[:, :, None], cols[:, None, :]].to(torch.float32)  # (B, h, w)
    if settings.method == "centre":
        if centre_depth is None:
            raise LivePoseError("a centre crop needs the centre depths")
        centre = centre_depth.to(torch.float32)[:, None, None]
        # A Python number, not a tensor: making a tensor would copy from the host, which CUDA graphs cannot
        # capture. The sum is still float32 + float32(depth_thres), as in numpy.
        band = float(np.float32(settings.depth_thres))
        crop = torch.where(crop >= centre + band, centre, crop)
        crop = torch.where(crop <= centre - band, centre, crop)
        if settings.subtract_centre:
            crop = crop - centre
    wide = torch.float64 if exact else torch.float32
    normalised = ((crop.to(wide) - settings.mean) / settings.std).to(torch.float32)
    return normalised[:, None]


def check_boxes(boxes: np.ndarray, image_size: tuple[int, int]) -> None:
    """Refuse boxes that hold no pixel, with the message :func:`livepose.detect.crop.resize_nearest` gives.

    Args:
        boxes: (B, 4) clipped (x_min, y_min, x_max, y_max).
        image_size: (width, height) of the frames.
    """
    width, height = image_size
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        x0, y0, x1, y1 = (int(b) for b in box)
        if x1 - x0 < 1 or y1 - y0 < 1:
            raise LivePoseError(f"crop box ({box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f}) holds no pixel "
                                f"of the {width}x{height} image")
