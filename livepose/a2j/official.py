"""Loading the official A2J weights (NYU.pth, ICVL.pth, HANDS2017.pth, ITOP_side.pth, ITOP_top.pth).

Contract (called by checks outside this repository, keep it stable)::

    model = load_official(path_or_state_dict, num_joints, backbone="resnet50", is_3d=True)
    out = model(x)            # x: (B, 1, H, W) float tensor, the normalised crop
    out.joints                # (B, J, 3): u (column), v (row) in crop pixels, depth in the network's unit
    out.anchor_weights        # (B, A, J): softmax weights in the official anchor order

``out.joints`` is the official post-processing's output with its (row,
column) order swapped to (column, row).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from livepose.a2j.model import A2J, A2JConfig, fold_rgb_conv1
from livepose.errors import LivePoseError
from livepose.runtime.safe_load import load_state_dict_strict, safe_torch_load

UNUSED_PREFIXES = ("Backbone.model.fc.",)


def official_state_dict(path_or_state_dict: str | Path | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Read official weights and bring them to livepose's network: drop the unused classifier
    (``Backbone.model.fc.*``), strip a DataParallel ``module.`` prefix, fold the 3-channel conv1."""
    if isinstance(path_or_state_dict, Mapping):
        source = dict(path_or_state_dict)
    else:
        source = safe_torch_load(path_or_state_dict)
        if not isinstance(source, Mapping):
            raise LivePoseError(f"{path_or_state_dict}: expected an A2J state dict, found a "
                                f"{type(source).__name__}")
        source = dict(source)
        if "state_dict" in source and isinstance(source["state_dict"], Mapping):
            source = dict(source["state_dict"])
    state: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        key = str(key)
        if key.startswith("module."):
            key = key[len("module."):]
        if key.startswith(UNUSED_PREFIXES):
            continue
        state[key] = value
    fold_rgb_conv1(state)
    return state


def load_official(path_or_state_dict: str | Path | Mapping[str, torch.Tensor], num_joints: int,
                  backbone: str = "resnet50", is_3d: bool = True) -> A2J:
    """Build an eval-mode A2J network from official weights, checking every key strictly.

    Args:
        path_or_state_dict: a ``.pth`` file written by the official code, or its state dict.
        num_joints: 14 (NYU), 16 (ICVL), 21 (HANDS2017), 15 (ITOP), 19 (K2HPD).
        backbone: ``resnet50`` for every released model.
        is_3d: False for the 2D K2HPD model (no ``DepthRegressionModel``).

    Raises:
        LivePoseError: naming any missing or unexpected key, or a shape that does not fit.
    """
    source = "official weights" if isinstance(path_or_state_dict, Mapping) else str(path_or_state_dict)
    state = official_state_dict(path_or_state_dict)
    model = A2J(A2JConfig(num_joints=int(num_joints), backbone=backbone, is_3d=is_3d))
    load_state_dict_strict(model, state, source=source)
    return model.eval()
