"""livepose checkpoints: one file that rebuilds a predictor, loaded without running pickled code.

A checkpoint is a ``torch.save`` of a plain dictionary (tensors, numbers,
strings, lists and dicts only)::

    {"format": "livepose-a2j", "version": 1,
     "model": {"num_joints": 21, "backbone": "resnet18", "is_3d": true, "head_channels": 256, "head_layers": 4},
     "layout": "hand21",                      # joint layout name (livepose.skeletons)
     "crop": {...CropSettings...},             # crop and normalisation the network was trained with
     "training": {...},                        # free-form metadata: data, seed, steps, time, hardware, metrics
     "state_dict": {...}}                      # official A2J key names, 1-channel conv1

Everything is read with ``torch.load(weights_only=True)``: a file that is
missing, not a checkpoint, truncated, or carries a pickle that would run code
gets a one-line :class:`~livepose.errors.LivePoseError`; so does one whose
weights do not fill the network its model arguments describe (checked on
PyTorch's meta device, so that a damaged file never makes livepose allocate
a network larger than the file). Loading is thread-safe; a loaded model is
for one thread at a time.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from livepose.a2j.model import A2J, A2JConfig
from livepose.calibration import CropSettings
from livepose.errors import LivePoseError
from livepose.runtime.safe_load import load_state_dict_strict, safe_torch_load
from livepose.skeletons import get_layout

CHECKPOINT_FORMAT = "livepose-a2j"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded livepose checkpoint (see the module docstring for the fields)."""

    config: A2JConfig
    layout: str
    crop: CropSettings
    state_dict: dict[str, torch.Tensor]
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def build_model(self, device: torch.device | str = "cpu") -> A2J:
        """The network with these weights, in float32 eval mode on ``device``."""
        model = A2J(self.config)
        state = {k: v.float() if v.is_floating_point() else v for k, v in self.state_dict.items()}
        load_state_dict_strict(model, state, source=str(self.path or "checkpoint"))
        return model.to(device).eval()

    def training_record(self) -> dict[str, Any]:
        """What trained these weights: ``training`` as it is for a run's or an average's checkpoint; for a
        model written by ``livepose package-model`` (whose ``training`` holds only its card) the card's
        training entry with the card's ``recipe``."""
        card = self.training.get("card")
        if set(self.training) == {"card"} and isinstance(card, dict):
            return {**card.get("training", {}), "recipe": card.get("recipe", {})}
        return self.training

    def metadata(self) -> dict[str, Any]:
        """Everything but the weights, as JSON-compatible data (embedded in exported files)."""
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model": self.config.to_dict(),
                "layout": self.layout, "crop": self.crop.to_dict(), "training": self.training}


def save_checkpoint(path: str | Path, model: A2J, layout: str, crop: CropSettings,
                    training: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write a checkpoint atomically (a temporary file renamed into place).

    ``half=True`` stores floating-point weights as float16 (half the size);
    they are loaded back as float32.
    """
    get_layout(layout)
    path = Path(path)
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
             for k, v in model.state_dict().items()}
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model": model.config.to_dict(),
               "layout": layout, "crop": crop.to_dict(), "training": dict(training or {}), "state_dict": state}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a livepose checkpoint; see the module docstring for what is refused."""
    path = Path(path)
    payload = safe_torch_load(path)
    if not isinstance(payload, dict):
        raise LivePoseError(f"{path}: expected a livepose checkpoint (a dict), found a {type(payload).__name__}")
    if payload.get("format") != CHECKPOINT_FORMAT:
        if payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
            raise LivePoseError(f"{path}: a plain state dict, not a livepose checkpoint; official A2J weights "
                                "load with livepose.a2j.load_official or --official")
        raise LivePoseError(f"{path}: not a livepose checkpoint (no format: {CHECKPOINT_FORMAT!r} entry)")
    version = payload.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise LivePoseError(f"{path}: checkpoint version {version!r}, this livepose reads up to "
                            f"{CHECKPOINT_VERSION}; upgrade livepose")
    for key in ("model", "layout", "crop", "state_dict"):
        if key not in payload:
            raise LivePoseError(f"{path}: checkpoint has no {key!r} entry")
    if not isinstance(payload["model"], dict) or not isinstance(payload["crop"], dict):
        raise LivePoseError(f"{path}: checkpoint 'model' and 'crop' entries must be dicts")
    if not isinstance(payload["state_dict"], dict):
        raise LivePoseError(f"{path}: checkpoint 'state_dict' must be a dict of tensors")
    try:
        config = A2JConfig.from_dict(payload["model"])
    except (TypeError, ValueError, OverflowError) as exc:
        raise LivePoseError(f"{path}: bad model arguments ({type(exc).__name__}: {exc})") from None
    except LivePoseError as exc:
        raise LivePoseError(f"{path}: {exc}") from None
    layout = str(payload["layout"])
    try:
        joints = get_layout(layout).num_joints
    except LivePoseError as exc:
        raise LivePoseError(f"{path}: {exc}") from None
    if joints != config.num_joints:
        raise LivePoseError(f"{path}: layout {layout} has {joints} joints but the model predicts {config.num_joints}")
    crop = CropSettings.from_dict(payload["crop"], source=str(path))
    training = payload.get("training") or {}
    if not isinstance(training, dict):
        raise LivePoseError(f"{path}: checkpoint 'training' must be a dict of metadata, found a "
                            f"{type(training).__name__}")
    check_weights(config, payload["state_dict"], source=str(path))
    return Checkpoint(config=config, layout=layout, crop=crop, state_dict=payload["state_dict"],
                      training=dict(training), path=path)


def check_weights(config: A2JConfig, state: dict, source: str) -> None:
    """Raise LivePoseError unless ``state`` holds exactly the network's floating-point weights.

    The network is laid out on PyTorch's ``meta`` device (shapes, no memory), so a checkpoint whose model
    arguments ask for a huge network but whose weights do not fill it is refused before anything is
    allocated: a loaded model never takes much more memory than its checkpoint file.
    """
    with torch.device("meta"):
        expected = A2J(config).state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing keys {_few(missing)}"] if missing else []) + \
                ([f"unexpected keys {_few([str(k) for k in unexpected])}"] if unexpected else [])
        raise LivePoseError(f"{source}: weights do not fit the network: {'; '.join(parts)}")
    for key, want in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor):
            raise LivePoseError(f"{source}: {key} is a {type(tensor).__name__}, expected a tensor")
        if tuple(tensor.shape) != tuple(want.shape):
            raise LivePoseError(f"{source}: {key} has shape {tuple(tensor.shape)}, the network expects "
                                f"{tuple(want.shape)} (wrong backbone or joint count?)")
        if tensor.is_floating_point() != want.is_floating_point() or tensor.is_complex():
            raise LivePoseError(f"{source}: {key} holds {tensor.dtype} values, expected "
                                f"{'floating-point' if want.is_floating_point() else 'integer'} ones")


def _few(keys: list[str], limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
