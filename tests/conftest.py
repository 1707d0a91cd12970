"""Shared test fixtures: where the real reference data lives, and a clean skip when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from livepose.a2j import A2J, A2JConfig
from livepose.runtime.checkpoint import save_checkpoint
from livepose.runtime.default_model import HAND_CROP

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip saying it is absent (as on a user's machine)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it exists only on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> Path:
    """A tiny untrained hand checkpoint (ResNet-18 trunk, 1 x 32-channel heads): fast enough for pipeline tests."""
    torch.manual_seed(0)
    model = A2J(A2JConfig(num_joints=21, backbone="resnet18", head_channels=32, head_layers=1))
    return save_checkpoint(tmp_path_factory.mktemp("model") / "small_hand.pt", model, layout="hand21",
                           crop=HAND_CROP)
