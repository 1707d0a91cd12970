"""A reference implementation of the official A2J inference path, timed beside livepose's fast paths.

Written here from the paper's and the official code's described operations
(not copied), on livepose's weights so that it predicts the same joints:

1. **Read and crop on the CPU with OpenCV**, one sample at a time: the centre
   to camera millimetres, +-xy_thres mm, back to pixels in float32, clip,
   slice with ``int()`` bounds, ``cv2.resize`` nearest, depth band, centre
   subtraction, normalisation.
2. **FP32 eager network fed the 3-channel input**: the crop is expanded to 3
   identical channels and goes through a ResNet whose first convolution has 3
   input channels (livepose's folded 1-channel weights split evenly over
   them, so the output is the same up to rounding).
3. **Per-sample Python-loop post-processing**: for each sample, a softmax over
   the anchors, the anchors plus their offsets, the weighted vote for (row,
   column) and depth; anchors built from a per-cell offset table and a grid of
   cell shifts in numpy.
4. **Back to camera millimetres** per sample in numpy.

On CUDA the network and the loop run on the GPU (as the official test script
does) with the crop on the CPU and a synchronising copy back.

Main thread only (one instance, one thread).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
from torch import nn

from livepose.a2j.model import Backbone
from livepose.calibration import CropSettings
from livepose.camera import Intrinsics
from livepose.runtime.checkpoint import Checkpoint

CELL = 16
OFFSETS = (2, 6, 10, 14)


def reference_anchors(rows: int, cols: int) -> np.ndarray:
    """(cols * rows * 16, 2) anchor (row, column) pixels: each cell's 4 x 4 offsets, cells column by column."""
    table = np.array([(r, c) for r in OFFSETS for c in OFFSETS], dtype=np.float64)  # (16, 2)
    shifts = np.array([(row * CELL, col * CELL) for col in range(cols) for row in range(rows)], dtype=np.float64)
    return (shifts[:, None, :] + table[None, :, :]).reshape(-1, 2)


def reference_crop(depth_mm: np.ndarray, centre_uvd: np.ndarray, intrinsics: Intrinsics,
                   settings: CropSettings) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """One official-style hand crop: (H, W) float32 input and the clipped box (x_min, y_min, x_max, y_max)."""
    u, v, d = (np.float32(x) for x in centre_uvd[:3])
    fx, fy = np.float32(intrinsics.fx), np.float32(intrinsics.fy)
    cx, cy = np.float32(intrinsics.cx), np.float32(intrinsics.cy)
    half = np.float32(settings.xy_thres_mm)
    world_x, world_y = (u - cx) * d / fx, (v - cy) * d / fy
    left, right = (world_x - half) * fx / d + cx, (world_x + half) * fx / d + cx
    top, bottom = (world_y - half) * fy / d + cy, (world_y + half) * fy / d + cy
    height, width = depth_mm.shape
    x_min, y_min = max(float(left), 0.0), max(float(top), 0.0)
    x_max, y_max = min(float(right), width - 1.0), min(float(bottom), height - 1.0)
    patch = depth_mm[int(y_min):int(y_max), int(x_min):int(x_max)]
    image = cv2.resize(patch, (settings.width, settings.height), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    band = np.float32(settings.depth_thres)
    image[image >= d + band] = d
    image[image <= d - band] = d
    if settings.subtract_centre:
        image = image - d
    image = ((image - settings.mean) / settings.std).astype(np.float32)
    return image, (x_min, y_min, x_max, y_max)


class ReferenceNetwork(nn.Module):
    """The A2J network as the official code runs it: 3-channel input, raw heads out (see the module docstring)."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        model = checkpoint.build_model("cpu")
        self.num_joints = model.config.num_joints
        self.backbone = Backbone(model.config.backbone, in_channels=3)
        state = model.Backbone.state_dict()
        weight = state["model.conv1.weight"]
        state["model.conv1.weight"] = (weight / 3.0).repeat(1, 3, 1, 1)
        self.backbone.load_state_dict(state)
        self.classification = model.classificationModel
        self.regression = model.regressionModel
        self.depth = model.DepthRegressionModel
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) -> logits (B, A, J), offsets (B, A, J, 2) as (row, column), depth (B, A, J)."""
        n, _, h, w = x.shape
        x3, x4 = self.backbone(x[:, 0:1].expand(n, 3, h, w))
        offsets = self.regression(x4)
        return self.classification(x3), offsets.view(n, -1, self.num_joints, 2), self.depth(x4)


def reference_post_process(logits: torch.Tensor, offsets: torch.Tensor, depth: torch.Tensor,
                           anchors: torch.Tensor) -> torch.Tensor:
    """Per-sample loop: softmax vote. Returns (B, J, 3) as (row, column, depth) on the heads' device."""
    out = []
    for b in range(logits.shape[0]):
        weight = torch.softmax(logits[b], dim=0)  # (A, J)
        position = anchors.unsqueeze(1) + offsets[b]  # (A, J, 2)
        row_col = (weight.unsqueeze(2).expand(-1, -1, 2) * position).sum(0)
        joint_depth = (weight * depth[b]).sum(0).unsqueeze(1)
        out.append(torch.cat((row_col, joint_depth), 1))
    return torch.stack(out)


class ReferencePath:
    """Raw frame in, camera-frame joints out, the official way (see the module docstring).

    Args:
        checkpoint: the model (its crop settings are used).
        device: ``"cpu"`` or ``"cuda[:N]"``.
    """

    def __init__(self, checkpoint: Checkpoint, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.settings = checkpoint.crop
        self.network = ReferenceNetwork(checkpoint).to(self.device)
        rows, cols = -(-self.settings.height // CELL), -(-self.settings.width // CELL)
        self.anchors = torch.from_numpy(reference_anchors(rows, cols)).float().to(self.device)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.no_grad()
    def run(self, raw: np.ndarray, intrinsics: Intrinsics, centre_uvd: np.ndarray) -> tuple[np.ndarray, dict]:
        """One frame: (J, 3) camera-frame joints (mm) and stage times ``read_crop``, ``network``,
        ``decode_uncrop`` (ms)."""
        t0 = time.perf_counter()
        depth = raw.astype(np.float32) * np.float32(intrinsics.depth_unit_mm)
        image, box = reference_crop(depth, centre_uvd, intrinsics, self.settings)
        x = torch.from_numpy(image).unsqueeze(0).unsqueeze(0)
        t1 = time.perf_counter()
        logits, offsets, joint_depth = self.network(x.to(self.device))
        self._sync()
        t2 = time.perf_counter()
        pred = reference_post_process(logits, offsets, joint_depth, self.anchors).cpu().numpy()[0]
        x_min, y_min, x_max, y_max = box
        s = self.settings
        joints = np.zeros((pred.shape[0], 3), dtype=np.float64)
        for j in range(pred.shape[0]):
            u = pred[j, 1] * (x_max - x_min) / s.width + x_min
            v = pred[j, 0] * (y_max - y_min) / s.height + y_min
            d = pred[j, 2] / s.depth_scale + (float(centre_uvd[2]) if s.subtract_centre else 0.0)
            joints[j] = ((u - intrinsics.cx) * d / intrinsics.fx, (v - intrinsics.cy) * d / intrinsics.fy, d)
        t3 = time.perf_counter()
        return joints, {"read_crop": (t1 - t0) * 1e3, "network": (t2 - t1) * 1e3, "decode_uncrop": (t3 - t2) * 1e3}
