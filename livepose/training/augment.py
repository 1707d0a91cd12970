"""The A2J paper's training augmentation, batched on any device.

Applied to network inputs and targets together (crop coordinates, see
:mod:`livepose.detect.crop`):

- in-plane rotation about the crop centre, uniform in +-``rotation_deg``;
- in-plane scaling about the crop centre, uniform in ``scale_range``;
- depth scaling: the un-normalised depth (depth minus the centre for hand
  crops, absolute depth for box crops) and the depth targets multiplied by a
  factor uniform in ``depth_scale_range``;
- Gaussian noise with probability ``noise_probability``, sigma
  ``noise_fraction`` x the normalisation std;
- random erasing with probability ``erase_probability``: one rectangle of
  2-12 % of the crop, aspect 0.3-3.3, set to "no reading" (the centre depth for
  hand crops, which is what their holes become; 0 for box crops; +depth_thres
  for relative box crops, whose holes and background read that, and whose
  depth-scaled pixels stay at most that).

Resampling is nearest-neighbour, like the crop itself, so no depth is invented
between a finger and the wall behind it; pixels that come from outside the
crop read as background. Deterministic for a given ``torch.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from livepose.calibration import CropSettings
from livepose.errors import LivePoseError


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of :func:`augment` (defaults follow the paper's recipe; see the module docstring)."""

    rotation_deg: float = 180.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    depth_scale_range: tuple[float, float] = (0.9, 1.1)
    noise_probability: float = 0.5
    noise_fraction: float = 0.05
    erase_probability: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.rotation_deg <= 180.0:
            raise LivePoseError(f"rotation {self.rotation_deg!r} degrees: expected 0 to 180")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def _uniform(low: float, high: float, batch: int, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(batch, generator=generator, device=device)


def augment(inputs: torch.Tensor, targets: torch.Tensor, crop: CropSettings, settings: AugmentSettings,
            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a batch.

    Args:
        inputs: (B, 1, H, W) normalised crops.
        targets: (B, J, 3) u (column), v (row) in crop pixels and depth in the network's unit, or (B, J, 2).
        crop: the crop and normalisation the inputs were made with.
        settings: augmentation ranges.
        generator: random source (on the inputs' device).

    Returns:
        New (inputs, targets) of the same shapes.
    """
    batch, _, height, width = inputs.shape
    device = inputs.device
    # Work in raw units: (depth [- centre]) before normalisation.
    raw = inputs * crop.std + crop.mean
    targets = targets.clone()

    depth_scale = _uniform(*settings.depth_scale_range, batch, generator, device)
    raw = raw * depth_scale.view(-1, 1, 1, 1)
    # What "no reading" is in raw units (see the module docstring); 0 leaves hand and absolute box crops as they were.
    no_reading = float(crop.depth_thres) if crop.method == "box" and crop.subtract_centre else 0.0
    if no_reading:
        raw = raw.clamp(max=no_reading)
    if targets.shape[-1] > 2:
        targets[..., 2] = targets[..., 2] * depth_scale.view(-1, 1)

    # Rotation and scale about the crop centre. Output pixel p (centred, pixels) samples input R^T p / s.
    angle = _uniform(-settings.rotation_deg, settings.rotation_deg, batch, generator, device) * (math.pi / 180.0)
    scale = _uniform(*settings.scale_range, batch, generator, device)
    cos, sin = torch.cos(angle), torch.sin(angle)
    aspect = height / width
    theta = torch.stack((torch.stack((cos / scale, sin * aspect / scale, torch.zeros_like(cos)), dim=1),
                         torch.stack((-sin / (aspect * scale), cos / scale, torch.zeros_like(cos)), dim=1)), dim=1)
    grid = F.affine_grid(theta.to(raw.dtype), [batch, 1, height, width], align_corners=False)
    # Background (outside the crop) is "no reading": raw 0 for hands (the centre depth), 0 for boxes, +band for
    # relative boxes (shifted so that the zero padding gives it).
    if no_reading:
        raw = F.grid_sample(raw - no_reading, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        raw = raw + no_reading
    else:
        raw = F.grid_sample(raw, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    u = targets[..., 0] - width / 2.0
    v = targets[..., 1] - height / 2.0
    targets[..., 0] = scale[:, None] * (cos[:, None] * u - sin[:, None] * v) + width / 2.0
    targets[..., 1] = scale[:, None] * (sin[:, None] * u + cos[:, None] * v) + height / 2.0

    # Gaussian noise.
    noisy = torch.rand(batch, generator=generator, device=device) < settings.noise_probability
    noise = torch.randn(raw.shape, generator=generator, device=device) * (settings.noise_fraction * crop.std)
    raw = raw + noise * noisy.view(-1, 1, 1, 1)

    # Random erasing: one rectangle per chosen sample.
    erase = torch.rand(batch, generator=generator, device=device) < settings.erase_probability
    area = _uniform(0.02, 0.12, batch, generator, device) * height * width
    log_aspect = _uniform(math.log(0.3), math.log(3.3), batch, generator, device)
    box_h = torch.sqrt(area * torch.exp(log_aspect)).clamp(1, height)
    box_w = torch.sqrt(area / torch.exp(log_aspect)).clamp(1, width)
    top = torch.rand(batch, generator=generator, device=device) * (height - box_h)
    left = torch.rand(batch, generator=generator, device=device) * (width - box_w)
    rows = torch.arange(height, device=device, dtype=raw.dtype).view(1, -1, 1)
    cols = torch.arange(width, device=device, dtype=raw.dtype).view(1, 1, -1)
    inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + box_h).view(-1, 1, 1))
              & (cols >= left.view(-1, 1, 1)) & (cols < (left + box_w).view(-1, 1, 1)) & erase.view(-1, 1, 1))
    raw = raw.masked_fill(inside[:, None], no_reading)

    return ((raw - crop.mean) / crop.std).to(inputs.dtype), targets
