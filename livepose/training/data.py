"""Where training batches come from: the synthetic generator on the fly, or a real dataset.

Every source is deterministic by step: :meth:`TrainingData.batch` for a given
``(step, rank)`` returns the same crops whatever happened before, which is what
makes a resumed run identical to an uninterrupted one and keeps DDP ranks from
repeating each other.

Batches are ``(inputs (B, 1, H, W) float32 normalised crops, targets (B, J, 3)
crop u, v (px) and depth in the network's unit)``, the conventions of
:mod:`livepose.detect.crop`. Called from the training loop's thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from livepose.calibration import CropSettings
from livepose.errors import LivePoseError
from livepose.synth.generator import BODY_BOX_JITTER, CropBatch, body_crops, hand_crops

SYNTHETIC_KINDS = ("synth-hand", "synth-body")
# Seeds are mixed with the step and the rank so that no two (step, rank) pairs share a stream.
_STEP_STRIDE = 1_000_003
_RANK_STRIDE = 7_919


def step_seed(seed: int, step: int, rank: int = 0, stream: int = 0) -> int:
    """A seed for one (step, rank, stream): the same numbers give the same seed on every machine."""
    return (int(seed) * 2_147_483 + int(step) * _STEP_STRIDE + int(rank) * _RANK_STRIDE + int(stream) * 104_729) \
        % (2 ** 63 - 1)


class TrainingData(Protocol):
    """A deterministic source of training batches (see the module docstring)."""

    layout: str
    crop: CropSettings

    def batch(self, step: int, rank: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets) of step ``step`` for DDP rank ``rank``."""
        ...


@dataclass(frozen=True)
class ValidationBatch:
    """A fixed batch for monitoring: crops and what is needed to measure errors in camera mm.

    Attributes:
        inputs: (B, 1, H, W) normalised crops; targets: (B, J, 3) crop targets.
        joints_mm: (B, J, 3) true joints, camera frame, mm.
        box: (B, 4) crop box in image pixels; intrinsics: (B, 4) fx, fy, cx, cy;
        centre_depth_mm: (B,) depth subtracted from the crop (0 for absolute box crops).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    joints_mm: torch.Tensor
    box: torch.Tensor
    intrinsics: torch.Tensor
    centre_depth_mm: torch.Tensor


def crop_uvd_to_mm(joints: torch.Tensor, box: torch.Tensor, intrinsics: torch.Tensor, centre_depth_mm: torch.Tensor,
                   crop: CropSettings) -> torch.Tensor:
    """(B, J, 3) crop u, v (px) and network depth to (B, J, 3) camera-frame mm (the torch twin of
    :func:`livepose.detect.crop.crop_to_image` followed by back-projection)."""
    u = joints[..., 0] * (box[:, None, 2] - box[:, None, 0]) / crop.width + box[:, None, 0]
    v = joints[..., 1] * (box[:, None, 3] - box[:, None, 1]) / crop.height + box[:, None, 1]
    z = joints[..., 2] / crop.depth_scale + centre_depth_mm[:, None]
    fx, fy, cx, cy = (intrinsics[:, None, i] for i in range(4))
    return torch.stack(((u - cx) * z / fx, (v - cy) * z / fy, z), dim=-1)


class SyntheticData:
    """Hand or body crops from :mod:`livepose.synth`, generated per step (batched torch).

    ``box_jitter`` (bodies only): each edge of the person's silhouette box moves by up to this fraction of
    the box size (see :func:`livepose.synth.generator.body_crops`). Called from the training thread.
    """

    def __init__(self, kind: str, crop: CropSettings, batch_size: int, seed: int, cameras: Sequence[str],
                 device: torch.device | str = "cpu", box_jitter: float = BODY_BOX_JITTER) -> None:
        if kind not in SYNTHETIC_KINDS:
            raise LivePoseError(f"synthetic data {kind!r}: expected one of {', '.join(SYNTHETIC_KINDS)}")
        expected = "centre" if kind == "synth-hand" else "box"
        if crop.method != expected:
            raise LivePoseError(f"{kind} needs a {expected!r} crop, got {crop.method!r}")
        self.kind = kind
        self.layout = "hand21" if kind == "synth-hand" else "itop15"
        self.crop = crop
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.cameras = tuple(cameras)
        self.device = torch.device(device)
        self.box_jitter = float(box_jitter)

    def _crops(self, count: int, generator: torch.Generator, cameras: Sequence[str] | None = None) -> CropBatch:
        cameras = tuple(cameras or self.cameras)
        if self.kind == "synth-hand":
            return hand_crops(count, self.crop, cameras=cameras, generator=generator, device=self.device)
        return body_crops(count, self.crop, cameras=cameras, generator=generator, device=self.device,
                          box_jitter=self.box_jitter)

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(seed)

    def batch(self, step: int, rank: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        crops = self._crops(self.batch_size, self._generator(step_seed(self.seed, step, rank)))
        return crops.inputs, crops.targets

    def validation(self, count: int, seed: int, cameras: Sequence[str] | None = None) -> ValidationBatch:
        """A fixed batch from another seed (and, if given, other cameras) for monitoring."""
        crops = self._crops(count, self._generator(step_seed(seed, 0, 0, stream=1)), cameras)
        if crops.reference_depth_mm is not None:
            centre = crops.reference_depth_mm
        else:
            centre = crops.centre_uvd[:, 2] if self.crop.subtract_centre else torch.zeros(count, device=self.device)
        return ValidationBatch(crops.inputs, crops.targets, crops.joints_mm, crops.box, crops.intrinsics, centre)


class RealData:
    """Crops of a real dataset (:mod:`livepose.datasets`), a fresh permutation per epoch.

    Step ``s`` of rank ``r`` (of ``world`` ranks) reads the ``batch_size`` items starting at position
    ``(s * world + r) * batch_size`` of the concatenated per-epoch permutations, so every rank sees
    different frames and a resumed run reads exactly what an uninterrupted one would.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, layout: str, crop: CropSettings, batch_size: int,
                 seed: int, world: int = 1, device: torch.device | str = "cpu") -> None:
        self.dataset = dataset
        self.layout = layout
        self.crop = crop
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.world = int(world)
        self.device = torch.device(device)
        self.size = len(dataset)  # type: ignore[arg-type]
        if self.size < 1:
            raise LivePoseError("the training dataset has no frames")
        self._epoch_order: tuple[int, torch.Tensor] | None = None

    def _order(self, epoch: int) -> torch.Tensor:
        if self._epoch_order is None or self._epoch_order[0] != epoch:
            generator = torch.Generator().manual_seed(step_seed(self.seed, epoch, 0, stream=2))
            self._epoch_order = (epoch, torch.randperm(self.size, generator=generator))
        return self._epoch_order[1]

    def indices(self, step: int, rank: int = 0) -> list[int]:
        """Dataset indices of a step's batch (see the class docstring)."""
        start = (int(step) * self.world + int(rank)) * self.batch_size
        out = []
        for position in range(start, start + self.batch_size):
            epoch, offset = divmod(position, self.size)
            out.append(int(self._order(epoch)[offset]))
        return out

    def batch(self, step: int, rank: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        items = [self.dataset[i] for i in self.indices(step, rank)]
        inputs = torch.stack([torch.as_tensor(x) for x, _ in items]).float()
        targets = torch.stack([torch.as_tensor(t) for _, t in items]).float()
        if inputs.ndim == 3:
            inputs = inputs[:, None]
        return inputs.to(self.device), targets.to(self.device)
