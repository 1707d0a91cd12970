"""Camera and dataset parameter files (``calibration/*.json``).

A profile bundles what the official A2J scripts kept as module globals: the
camera, whether the dataset's published frame has y pointing up, the joint
layout, the crop parameters and the depth normalisation constants. Profiles
are read-only data; loading them is thread-safe.

File format (JSON)::

    {"name": "nyu", "description": "...",
     "camera": {"fx": 588.03, "fy": 587.07, "cx": 320, "cy": 240, "width": 640, "height": 480,
                "depth_unit_mm": 1.0},
     "y_up": true,                 # the dataset's published world frame has y up
     "label_depth_unit": "mm",     # unit of the dataset's depths / world coordinates ("mm" or "m")
     "layout": "nyu14",
     "crop": {"method": "centre" | "box", "width": 176, "height": 176,
              "xy_thres_mm": 110, "depth_thres": 150, "subtract_centre": true, "depth_scale": 1.0},
     "normalisation": {"mean": -0.6687, "std": 28.33, "origin": "..."}}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError

CALIBRATION_DIR = Path(__file__).resolve().parent.parent / "calibration"


@dataclass(frozen=True)
class CropSettings:
    """How a network input is cut out of a depth frame.

    Attributes:
        method: ``"centre"`` (a cube of +-xy_thres_mm around a hand centre, as for
            NYU / ICVL / HANDS2017) or ``"box"`` (a given pixel box, as for ITOP).
        width, height: network input size in pixels.
        xy_thres_mm: half side of the centre crop in millimetres (centre method only).
        depth_thres: depths further than this from the centre (in the frame's depth
            unit, mm for hands) are set to the centre depth (centre method); for a box crop with
            ``subtract_centre``, the band around the reference depth kept (outside it and where
            there is no reading, the crop reads ``+depth_thres``: background).
        subtract_centre: whether the centre depth is subtracted before normalising. Box crops have
            no given centre: theirs is the reference depth of the crop itself
            (:func:`livepose.detect.crop.box_reference_depth`), and the network's depths are then
            relative to it (livepose's synthetic body models; the official ITOP protocol is absolute).
        depth_scale: network depth units per label depth unit (ITOP: 50 per metre).
        mean, std: normalisation, ``input = (depth [- centre] - mean) / std``.
        flip_test: at inference, also run the crop's mirror image (columns reversed) and average the two
            predictions, the mirrored one mapped back and its left/right joints swapped
            (:mod:`livepose.runtime.flip_test`): twice the network work for a steadier answer. Not part of
            the official protocols (False); a shipped model's card says whether it is on.
    """

    method: str
    width: int
    height: int
    xy_thres_mm: float | None
    depth_thres: float | None
    subtract_centre: bool
    depth_scale: float
    mean: float
    std: float
    flip_test: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("centre", "box"):
            raise LivePoseError(f"crop method {self.method!r}: expected 'centre' or 'box'")
        if self.width < 16 or self.height < 16:
            raise LivePoseError(f"crop size {self.width}x{self.height}: expected at least 16x16 pixels")
        if self.method == "centre" and (not self.xy_thres_mm or self.xy_thres_mm <= 0 or not self.depth_thres
                                        or self.depth_thres <= 0):
            raise LivePoseError("centre crop: xy_thres_mm and depth_thres must be positive numbers")
        if self.method == "box" and self.subtract_centre and (not self.depth_thres or self.depth_thres <= 0):
            raise LivePoseError("box crop with subtract_centre: depth_thres must be a positive number (the band "
                                "kept around the reference depth)")
        if not self.std or self.std <= 0:
            raise LivePoseError(f"normalisation std = {self.std!r}: expected a positive number")
        numbers = (self.xy_thres_mm, self.depth_thres, self.depth_scale, self.mean, self.std)
        if not all(v is None or math.isfinite(v) for v in numbers) or max(self.width, self.height) > 4096:
            raise LivePoseError(f"crop settings {self.width}x{self.height}, xy_thres_mm {self.xy_thres_mm}, "
                                f"depth_thres {self.depth_thres}, depth_scale {self.depth_scale}, mean {self.mean}, "
                                f"std {self.std}: expected finite numbers and a crop of at most 4096 pixels a side")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, values: dict, source: str = "crop") -> CropSettings:
        try:
            return cls(method=str(values["method"]), width=int(values["width"]), height=int(values["height"]),
                       xy_thres_mm=None if values.get("xy_thres_mm") is None else float(values["xy_thres_mm"]),
                       depth_thres=None if values.get("depth_thres") is None else float(values["depth_thres"]),
                       subtract_centre=bool(values["subtract_centre"]), depth_scale=float(values["depth_scale"]),
                       mean=float(values["mean"]), std=float(values["std"]),
                       flip_test=_flag(values.get("flip_test", False), "flip_test"))
        except KeyError as exc:
            raise LivePoseError(f"{source}: missing crop setting {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise LivePoseError(f"{source}: crop settings must be numbers, and flip_test true or false "
                                f"({exc})") from None
        except LivePoseError as exc:
            raise LivePoseError(f"{source}: {exc}") from None


def _flag(value: object, name: str) -> bool:
    """A JSON true/false setting; anything else (a string, a number) is refused rather than guessed."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} = {value!r}: expected true or false")
    return value


@dataclass(frozen=True)
class Profile:
    """A dataset or camera profile read from ``calibration/<name>.json``.

    Attributes:
        name: profile name (``nyu``, ``icvl``, ``hands2017``, ``msra``, ``itop_side``, ...).
        intrinsics: the camera (fy > 0, y down), or None where the dataset has none (K2HPD).
        y_up: the dataset's published world coordinates have y pointing up.
        label_depth_unit: ``"mm"`` or ``"m"``: unit of the dataset's label depths and world coordinates.
        layout: joint layout name, or None for a camera-only profile.
        crop: crop settings, or None where the profile does not say how to normalise.
        path: the file it was read from.
    """

    name: str
    description: str
    intrinsics: Intrinsics | None
    y_up: bool
    label_depth_unit: str
    layout: str | None
    crop: CropSettings | None
    path: Path


def profile_names() -> list[str]:
    """Names of the profiles shipped in ``calibration/``."""
    return sorted(p.stem for p in CALIBRATION_DIR.glob("*.json"))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a shipped profile by name (``"nyu"``) or any profile file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = CALIBRATION_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise LivePoseError(f"unknown calibration {str(name_or_path)!r}; expected a .json file or one of "
                                f"{', '.join(profile_names())}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LivePoseError(f"{path}: no such calibration file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LivePoseError(f"{path}: not a readable JSON calibration file ({exc})") from None
    if not isinstance(data, dict):
        raise LivePoseError(f"{path}: expected a JSON object with a 'camera' entry")
    camera = data.get("camera")
    intrinsics = None if camera is None else Intrinsics.from_dict(camera, source=str(path))
    crop = None
    if isinstance(data.get("crop"), dict) and isinstance(data.get("normalisation"), dict):
        crop = CropSettings.from_dict({**data["crop"], **data["normalisation"]}, source=str(path))
    unit = data.get("label_depth_unit", "mm")
    if unit not in ("mm", "m", "px"):
        raise LivePoseError(f"{path}: label_depth_unit {unit!r}, expected 'mm' or 'm'")
    return Profile(name=str(data.get("name", path.stem)), description=str(data.get("description", "")),
                   intrinsics=intrinsics, y_up=bool(data.get("y_up", False)), label_depth_unit=unit,
                   layout=data.get("layout"), crop=crop, path=path)
