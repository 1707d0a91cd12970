"""Which model ``livepose live`` uses when none is given.

The shipped hand model (``models/hand21.pt``) once it exists; until then an
untrained network with a fixed seed, written once to the user's cache folder
with a warning that says its joints mean nothing. Called from the main thread.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from livepose.calibration import CropSettings

log = logging.getLogger(__name__)

SHIPPED_HAND_MODEL = Path(__file__).resolve().parents[2] / "models" / "hand21.pt"

# Crop for livepose's own hand models: NYU's +-110 mm cube and +-150 mm depth band, 176x176,
# normalised with a fixed scale (no dataset statistics).
HAND_CROP = CropSettings(method="centre", width=176, height=176, xy_thres_mm=110.0, depth_thres=150.0,
                         subtract_centre=True, depth_scale=1.0, mean=0.0, std=30.0)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "livepose"


def default_hand_model() -> Path:
    """Path of the default hand checkpoint, creating the untrained placeholder on first use."""
    if SHIPPED_HAND_MODEL.is_file():
        return SHIPPED_HAND_MODEL
    path = cache_dir() / "untrained-hand21-resnet18.pt"
    log.warning("no shipped hand model yet (models/hand21.pt): using an UNTRAINED network (%s); "
                "its joints are not a pose", path)
    if not path.is_file():
        import torch

        from livepose.a2j.model import A2J, A2JConfig
        from livepose.runtime.checkpoint import save_checkpoint

        torch.manual_seed(0)
        model = A2J(A2JConfig(num_joints=21, backbone="resnet18"))
        save_checkpoint(path, model, layout="hand21", crop=HAND_CROP,
                        training={"note": "untrained placeholder, random initialisation with seed 0"}, half=True)
    return path
