"""From a depth frame and a centre to 3D joints: crop, network, uncrop.

:class:`Predictor` wraps a loaded A2J network with the crop and normalisation
it was trained with. One instance serves one thread (the inference worker);
build one per thread if you need more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from livepose.a2j.model import A2J
from livepose.calibration import CropSettings
from livepose.camera import Intrinsics
from livepose.detect.crop import Crop, crop_hand, crop_to_image
from livepose.runtime.checkpoint import Checkpoint, load_checkpoint

# Spread (crop pixels) of the anchors' votes around a joint at which confidence is 1/e.
CONFIDENCE_SPREAD_PX = 12.0


@dataclass(frozen=True)
class Prediction:
    """Joints for one crop.

    Attributes:
        joints_uvd: (J, 3) image u, v (px) and depth (mm).
        joints_mm: (J, 3) camera frame, millimetres (x right, y down, z forward).
        confidence: (J,) in [0, 1]: exp(-spread / 12 px), spread being the weighted RMS distance of
            the anchors' votes from the joint in crop pixels.
        anchor_weights: (A, J) softmax weights.
        crop: where the network input came from.
        timings_ms: ``crop``, ``network``, ``uncrop`` durations.
    """

    joints_uvd: np.ndarray
    joints_mm: np.ndarray
    confidence: np.ndarray
    anchor_weights: np.ndarray
    crop: Crop
    timings_ms: dict[str, float]


class Predictor:
    """Runs an A2J network on hand crops of depth frames (centre crops, millimetre depth)."""

    def __init__(self, model: A2J, layout: str, crop: CropSettings, device: str = "cpu",
                 name: str = "model") -> None:
        if crop.method != "centre":
            raise ValueError("Predictor handles centre (hand) crops; box crops come with the body pipeline")
        self.model = model.to(device).eval()
        self.layout = layout
        self.crop_settings = crop
        self.device = torch.device(device)
        self.name = name

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint | str, device: str = "cpu") -> Predictor:
        if not isinstance(checkpoint, Checkpoint):
            checkpoint = load_checkpoint(checkpoint)
        name = checkpoint.path.name if checkpoint.path is not None else "model"
        return cls(checkpoint.build_model(device), checkpoint.layout, checkpoint.crop, device, name)

    @torch.inference_mode()
    def predict(self, depth_mm: np.ndarray, intrinsics: Intrinsics, centre_uvd: np.ndarray) -> Prediction:
        """Predict the joints of the hand around ``centre_uvd``.

        Args:
            depth_mm: (H, W) float32 depth in millimetres (0 = no reading).
            intrinsics: the frame's camera.
            centre_uvd: (3,) hand centre u, v (px) and depth (mm).
        """
        t0 = time.perf_counter()
        crop_input, crop = crop_hand(depth_mm, centre_uvd, intrinsics, self.crop_settings)
        t1 = time.perf_counter()
        x = torch.from_numpy(crop_input)[None, None].to(self.device)
        out = self.model(x)
        joints_crop = out.joints[0].float().cpu().numpy()
        weights = out.anchor_weights[0].float()
        confidence = self._confidence(weights, joints_crop, x.shape[-2], x.shape[-1])
        t2 = time.perf_counter()
        joints_uvd = crop_to_image(joints_crop, crop)
        joints_mm = intrinsics.uvd_to_xyz(joints_uvd)
        t3 = time.perf_counter()
        timings = {"crop": (t1 - t0) * 1e3, "network": (t2 - t1) * 1e3, "uncrop": (t3 - t2) * 1e3}
        return Prediction(joints_uvd, joints_mm, confidence, weights.cpu().numpy(), crop, timings)

    def _confidence(self, weights: torch.Tensor, joints_crop: np.ndarray, height: int, width: int) -> np.ndarray:
        """Per-joint confidence from how tightly the anchors' weighted positions gather around the joint."""
        anchors = self.model.anchors_for(-(-height // 16), -(-width // 16), weights.device, weights.dtype)
        anchor_uv = torch.stack((anchors[:, 1], anchors[:, 0]), dim=-1)  # (A, 2) as (u, v)
        joints_uv = torch.from_numpy(joints_crop[:, :2]).to(weights)
        distance2 = ((anchor_uv[:, None, :] - joints_uv[None, :, :]) ** 2).sum(-1)  # (A, J)
        spread = torch.sqrt((weights * distance2).sum(0))
        return torch.exp(-spread / CONFIDENCE_SPREAD_PX).cpu().numpy()
