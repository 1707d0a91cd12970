"""Synthetic training data as torch datasets.

- :class:`SyntheticHandCrops`: generates on the fly. Item ``i`` is a whole batch of crops drawn from a
  generator seeded with ``(seed, i)``, so an epoch is reproducible and workers never repeat each other.
  Use it with ``DataLoader(dataset, batch_size=None, num_workers=...)`` (batching happens inside, where the
  renderer is fastest).
- :class:`SplitFolder`: a split written by :func:`livepose.synth.writer.write_split` (a held-out test set),
  frame by frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from livepose.calibration import CropSettings
from livepose.depth_io import read_depth_png
from livepose.errors import LivePoseError
from livepose.synth.generator import CropBatch, hand_crops


class SyntheticHandCrops(Dataset):
    """``batches`` batches of ``batch_size`` hand crops, generated when asked for (see the module docstring)."""

    def __init__(self, crop: CropSettings, batches: int, batch_size: int = 32, seed: int = 0,
                 cameras: Sequence[str] = ("d435_640", "sr305", "hands2017")) -> None:
        self.crop = crop
        self.batches = int(batches)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.cameras = tuple(cameras)

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int) -> CropBatch:
        if not 0 <= index < self.batches:
            raise IndexError(index)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        return hand_crops(self.batch_size, self.crop, cameras=self.cameras, generator=generator)


class SplitFolder(Dataset):
    """Frames of a written split: (depth (H, W) uint16, joints_mm (J, 3), joints_uvd (J, 3), centre_uvd (3,))."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        labels = self.folder / "labels.json"
        try:
            data = json.loads(labels.read_text())
            self.frames = data["frames"]
            self.layout = data["layout"]
            self.depth_unit_mm = float(json.loads((self.folder / "camera.json").read_text())["camera"]
                                       ["depth_unit_mm"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LivePoseError(f"{self.folder}: not a synthetic split (labels.json / camera.json: {exc})") from None

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        entry = self.frames[index]
        depth = read_depth_png(self.folder / entry["file"])
        return {"depth": depth, "depth_unit_mm": self.depth_unit_mm,
                "joints_mm": np.asarray(entry["joints_mm"], dtype=np.float64),
                "joints_uvd": np.asarray(entry["joints_uvd"], dtype=np.float64),
                "centre_uvd": np.asarray(entry["centre_uvd"], dtype=np.float64)}
