"""Everything a training run needs, in one frozen dataclass stored in its state file.

Defaults are the A2J paper's recipe (Adam, lr 3.5e-4, weight decay 1e-4, the
learning rate divided by 10 at steps) at the input size and heads a 2-core CPU
can train; the paper's full network is ``--backbone resnet50 --input-size 176
--head-channels 256 --head-layers 4``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from livepose.calibration import CropSettings, load_profile
from livepose.errors import LivePoseError
from livepose.runtime.default_model import HAND_CROP
from livepose.synth.generator import BODY_BOX_JITTER
from livepose.training.augment import AugmentSettings

# Crops of livepose's own models. Network depth units are chosen so that targets are tens of units, not
# hundreds: with Adam's fixed step size the depth head reaches +-10 several times sooner than +-100
# (measured: 4x lower depth loss after 60 steps on the same batches), which matters for short CPU runs.
# Hands: NYU's cube, depth in cm relative to the centre (depth_scale 0.1). Bodies: millimetre frames,
# absolute depth in units of 20 cm (depth_scale 0.005; ITOP's official unit is 2 cm), normalised with ITOP
# side's statistics (3.444 m, 0.540 m) in mm.
SYNTH_HAND_CROP = dataclasses.replace(HAND_CROP, depth_scale=0.1)
# --body-depth relative: depth relative to the crop's reference depth (the 10th percentile of its middle third),
# kept within +-1.5 m of it (every joint is within 0.9 m of it in 98 % of synthetic crops), same scale; see crop_box.
BODY_RELATIVE_BAND_MM = 1500.0
BODY_DEPTHS = ("absolute", "relative")
BODY_CROP = CropSettings(method="box", width=288, height=288, xy_thres_mm=None, depth_thres=None,
                         subtract_centre=False, depth_scale=0.005, mean=3444.05, std=540.40)
SYNTH_HAND_CAMERAS = ("d435_640", "sr305", "hands2017")
SYNTH_BODY_CAMERAS = ("itop_side",)
REAL_DATASETS = ("nyu", "icvl", "hands2017", "itop_side", "itop_top")
DATA_CHOICES = ("synth-hand", "synth-body", *REAL_DATASETS)


@dataclass(frozen=True)
class TrainConfig:
    """A training run (see the module docstring; ``livepose train --help`` describes each field)."""

    data: str
    out: str
    data_root: str | None = None
    backbone: str = "resnet18"
    head_channels: int = 128
    head_layers: int = 2
    input_size: int = 96
    batch_size: int = 32
    steps: int = 6000
    lr: float = 3.5e-4
    weight_decay: float = 1e-4
    decay_steps: tuple[int, ...] = ()
    decay_gamma: float = 0.1
    seed: int = 0
    device: str = "cpu"
    amp: bool = True
    threads: int = 0
    cameras: tuple[str, ...] = ()
    imagenet: bool = False
    init_from: str | None = None
    log_every: int = 20
    validate_every: int = 250
    checkpoint_every: int = 100
    time_limit_s: float = 0.0
    box_jitter: float = BODY_BOX_JITTER
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    body_depth: str = "absolute"

    def __post_init__(self) -> None:
        if self.data not in DATA_CHOICES:
            raise LivePoseError(f"--data {self.data!r}: expected one of {', '.join(DATA_CHOICES)}")
        if self.data in REAL_DATASETS and not self.data_root:
            raise LivePoseError(f"--data {self.data} needs --data-root, the dataset's folder")
        for name in ("steps", "batch_size", "input_size", "log_every", "validate_every", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise LivePoseError(f"--{name.replace('_', '-')} {getattr(self, name)!r}: expected a positive integer")
        if self.input_size < 32 or self.input_size % 16:
            raise LivePoseError(f"--input-size {self.input_size}: expected a multiple of 16, at least 32")
        if not self.lr > 0 or self.weight_decay < 0 or not 0 < self.decay_gamma <= 1:
            raise LivePoseError("--lr must be > 0, --weight-decay >= 0 and --decay-gamma in (0, 1]")
        if not 0.0 <= self.box_jitter <= 0.5:
            raise LivePoseError(f"--box-jitter {self.box_jitter!r}: expected a fraction of the box size, 0 to 0.5")
        if self.box_jitter != BODY_BOX_JITTER and self.data != "synth-body":
            raise LivePoseError(f"--box-jitter {self.box_jitter!r}: applies only to --data synth-body")
        if self.body_depth not in BODY_DEPTHS:
            raise LivePoseError(f"--body-depth {self.body_depth!r}: expected one of {', '.join(BODY_DEPTHS)}")
        if self.body_depth != "absolute" and self.data != "synth-body":
            raise LivePoseError(f"--body-depth {self.body_depth}: applies only to --data synth-body (real datasets "
                                "keep their published protocol)")
        if any(not 0 < s for s in self.decay_steps):
            raise LivePoseError(f"--decay-steps {list(self.decay_steps)}: expected positive step numbers")

    @property
    def schedule(self) -> tuple[int, ...]:
        """Steps at which the learning rate is multiplied by ``decay_gamma`` (default: 60 % and 85 %)."""
        return tuple(self.decay_steps) or (int(self.steps * 0.6), int(self.steps * 0.85))

    def crop(self) -> CropSettings:
        """The crop and normalisation the network is trained with, at ``input_size``."""
        if self.data == "synth-hand":
            base = SYNTH_HAND_CROP
        elif self.data == "synth-body" and self.body_depth == "relative":
            base = dataclasses.replace(BODY_CROP, subtract_centre=True, depth_thres=BODY_RELATIVE_BAND_MM, mean=0.0)
        elif self.data == "synth-body":
            base = BODY_CROP
        else:
            base = load_profile(self.data).crop
        return dataclasses.replace(base, width=self.input_size, height=self.input_size)

    def synthetic_cameras(self) -> tuple[str, ...]:
        if self.cameras:
            return tuple(self.cameras)
        return SYNTH_HAND_CAMERAS if self.data == "synth-hand" else SYNTH_BODY_CAMERAS

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["augment"] = self.augment.to_dict()
        values["decay_steps"] = list(self.decay_steps)
        values["cameras"] = list(self.cameras)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        values = dict(values)
        augment = values.pop("augment", {}) or {}
        augment = AugmentSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in augment.items()})
        values["decay_steps"] = tuple(values.get("decay_steps", ()))
        values["cameras"] = tuple(values.get("cameras", ()))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(augment=augment, **{k: v for k, v in values.items() if k in known})

    @property
    def out_dir(self) -> Path:
        return Path(self.out)
