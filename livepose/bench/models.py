"""The models ``livepose bench`` times: the shipped hand model, official-size architectures, or given files.

Names (``--models``):

- ``hand21``: the shipped hand model ``models/hand21.pt`` (when it exists).
- ``resnet18``, ``resnet50``: A2J at the official 176x176 input with the
  paper's heads (4 x 256 channels), 21 hand joints, random weights (seed 0,
  the network's own initialisation). Speed does not depend on the weights.
- a path to a livepose checkpoint (``.pt``).

Default: ``hand21`` if it exists, then ``resnet18`` and ``resnet50``; with
``--quick``: ``hand21`` if it exists, else ``resnet18``. Main thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from livepose.a2j.model import A2J, A2JConfig
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import Checkpoint, load_checkpoint
from livepose.runtime.default_model import HAND_CROP, SHIPPED_HAND_MODEL

ARCHITECTURES = ("resnet18", "resnet50")


@dataclass(frozen=True)
class BenchModel:
    """A model to time: its short name, the checkpoint, and a one-line description for the report."""

    name: str
    checkpoint: Checkpoint
    description: str

    def summary(self) -> dict:
        config, crop = self.checkpoint.config, self.checkpoint.crop
        return {"name": self.name, "backbone": config.backbone, "input": f"{crop.width}x{crop.height}",
                "heads": f"{config.head_layers}x{config.head_channels}", "joints": config.num_joints,
                "weights": self.description}


def random_model(backbone: str, seed: int = 0) -> BenchModel:
    """An official-size A2J (176x176, 4 x 256 heads, 21 joints) with random weights."""
    torch.manual_seed(seed)
    model = A2J(A2JConfig(num_joints=21, backbone=backbone))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    checkpoint = Checkpoint(config=model.config, layout="hand21", crop=HAND_CROP, state_dict=state,
                            training={"note": f"random weights, seed {seed}, for timing"})
    return BenchModel(backbone, checkpoint, f"random (seed {seed})")


def default_model_names(quick: bool) -> list[str]:
    shipped = ["hand21"] if SHIPPED_HAND_MODEL.is_file() else []
    if quick:
        return shipped or ["resnet18"]
    return shipped + list(ARCHITECTURES)


def resolve_models(names: list[str] | None, quick: bool) -> list[BenchModel]:
    """Turn ``--models`` values (names or checkpoint paths; None: the default) into models."""
    models = []
    for name in names or default_model_names(quick):
        if name in ARCHITECTURES:
            models.append(random_model(name))
        elif name == "hand21":
            if not SHIPPED_HAND_MODEL.is_file():
                raise LivePoseError(f"--models hand21: the shipped hand model {SHIPPED_HAND_MODEL} does not exist yet")
            models.append(BenchModel("hand21", load_checkpoint(SHIPPED_HAND_MODEL), str(SHIPPED_HAND_MODEL.name)))
        elif name.endswith(".pt") or Path(name).exists():
            checkpoint = load_checkpoint(name)
            if checkpoint.crop.method != "centre" or not checkpoint.config.is_3d:
                raise LivePoseError(f"{name}: bench times 3D hand models (centre crops)")
            models.append(BenchModel(Path(name).stem, checkpoint, str(name)))
        else:
            raise LivePoseError(f"--models {name!r}: expected hand21, {', '.join(ARCHITECTURES)} or a checkpoint "
                                "file (.pt)")
    return models
