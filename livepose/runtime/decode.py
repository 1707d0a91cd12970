"""After the network: per-joint confidence, and crop coordinates back to image and camera coordinates, in torch.

Batched and device-agnostic (the CUDA pipeline runs them on the GPU, inside
its CUDA graph; the CPU backends call :func:`joint_confidence` on CPU tensors).
:func:`crop_to_camera` is the torch twin of
:func:`livepose.detect.crop.crop_to_image` followed by
:meth:`livepose.camera.Intrinsics.uvd_to_xyz` for centre (hand) crops, in
float32 (within 1e-3 px / mm of the float64 numpy path for image-sized numbers).

Pure functions, any thread.
"""

from __future__ import annotations

import numpy as np
import torch

from livepose.calibration import CropSettings

# Spread (crop pixels) of the anchors' votes around a joint at which confidence is 1/e.
CONFIDENCE_SPREAD_PX = 12.0


def joint_confidence(weights: torch.Tensor, joints_uv: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """How tightly the anchors' weighted positions gather around each joint.

    Args:
        weights: (B, A, J) softmax anchor weights.
        joints_uv: (B, J, 2) decoded joints, u (column) and v (row) in crop pixels.
        anchors: (A, 2) anchor positions as (row, column) crop pixels (:func:`livepose.a2j.anchors.anchor_grid`).

    Returns:
        (B, J) in [0, 1]: ``exp(-spread / 12 px)``, spread being the weighted RMS distance of the anchors from
        the joint.
    """
    anchor_uv = torch.stack((anchors[:, 1], anchors[:, 0]), dim=-1).to(weights)  # (A, 2) as (u, v)
    distance2 = ((anchor_uv[None, :, None, :] - joints_uv[:, None, :, :].to(weights)) ** 2).sum(-1)  # (B, A, J)
    spread = torch.sqrt((weights * distance2).sum(1))
    return torch.exp(-spread / CONFIDENCE_SPREAD_PX)


def joint_confidence_np(weights: np.ndarray, joints_uv: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """:func:`joint_confidence` in numpy, for host backends (no torch intra-op threads for a small job).

    Args:
        weights: (B, A, J) float32; joints_uv: (B, J, 2) crop px; anchors: (A, 2) (row, column) crop px.

    Returns:
        (B, J) float32 in [0, 1].
    """
    weights = np.asarray(weights, dtype=np.float32)
    anchor_uv = np.ascontiguousarray(np.asarray(anchors, dtype=np.float32)[:, ::-1])  # (A, 2) as (u, v)
    joints_uv = np.asarray(joints_uv, dtype=np.float32)
    du = anchor_uv[None, :, None, 0] - joints_uv[:, None, :, 0]  # (B, A, J)
    dv = anchor_uv[None, :, None, 1] - joints_uv[:, None, :, 1]
    spread = np.sqrt(np.einsum("baj,baj->bj", weights, du * du + dv * dv))
    return np.exp(-spread / np.float32(CONFIDENCE_SPREAD_PX)).astype(np.float32)


def crop_to_camera(joints: torch.Tensor, boxes: torch.Tensor, centre_depth: torch.Tensor, cameras: torch.Tensor,
                   settings: CropSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Map centre-crop network output back to the image and to the camera frame.

    Args:
        joints: (B, J, 3) u, v (crop px), depth (network unit).
        boxes: (B, 4) clipped, unrounded crop bounds (x_min, y_min, x_max, y_max) in image pixels.
        centre_depth: (B,) crop centre depth, mm.
        cameras: (B, 4) intrinsics fx, fy, cx, cy (pixels, y down).
        settings: the crop settings (width, height, depth_scale, subtract_centre).

    Returns:
        uvd (B, J, 3): image u, v (px) and depth (mm); xyz (B, J, 3): camera frame, mm (x right, y down, z forward).
    """
    x_min, y_min, x_max, y_max = (boxes[:, i, None] for i in range(4))
    u = joints[..., 0] * (x_max - x_min) / settings.width + x_min
    v = joints[..., 1] * (y_max - y_min) / settings.height + y_min
    d = joints[..., 2] / settings.depth_scale
    if settings.subtract_centre:
        d = d + centre_depth[:, None]
    fx, fy, cx, cy = (cameras[:, i, None] for i in range(4))
    uvd = torch.stack((u, v, d), dim=-1)
    xyz = torch.stack(((u - cx) * d / fx, (v - cy) * d / fy, d), dim=-1)
    return uvd, xyz
