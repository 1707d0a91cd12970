"""The frames every benchmarked path sees: synthetic hands and, where they exist, real depth frames.

- Synthetic: whole 640x480 frames of a hand in front of a D435 from
  :func:`livepose.synth.generator.hand_frames` (sensor noise on), with the
  generator's true palm centre as the crop centre. Rendering is slow on a small
  CPU, so they are kept in the user's cache folder
  (``$XDG_CACHE_HOME/livepose/bench/``) after the first run, keyed by count and seed.
- Real: the frames of ``shared/data/frames`` (SR305, HANDS2017, NYU), when
  that folder exists, with the hand centre found by
  :class:`livepose.detect.centre.HandCentreDetector` (frames where it finds
  none are left out).

Frames hold raw depth in the camera's unit, as a camera delivers them, so
every path pays for the conversion to millimetres in its read/crop stage.
Main thread only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.depth_io import read_depth_png
from livepose.errors import LivePoseError
from livepose.runtime.default_model import cache_dir

log = logging.getLogger(__name__)

DEFAULT_FRAMES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "frames"
SYNTHETIC_CAMERA = "d435_640"


@dataclass(frozen=True)
class BenchFrame:
    """One input.

    Attributes:
        raw: (H, W) uint16 depth counts (0 = no reading).
        intrinsics: the camera (its ``depth_unit_mm`` converts ``raw`` to mm).
        centre_uvd: (3,) float64 crop centre u, v (px), depth (mm).
        kind: ``"synthetic"`` or ``"real"``.
        name: where it came from.
    """

    raw: np.ndarray
    intrinsics: Intrinsics
    centre_uvd: np.ndarray
    kind: str
    name: str

    def depth_mm(self) -> np.ndarray:
        """(H, W) float32 millimetres, as :meth:`livepose.types.DepthFrame.depth_mm` computes it (the read stage)."""
        depth = self.raw.astype(np.float32)
        if self.intrinsics.depth_unit_mm != 1.0:
            depth *= np.float32(self.intrinsics.depth_unit_mm)
        return depth


@dataclass
class BenchInputs:
    """The synthetic and real frames of one run, and where the real ones came from (None: none found)."""

    frames: list[BenchFrame]
    real_folder: str | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(f.kind == kind for f in self.frames)


def synthetic_frames(count: int, seed: int = 0) -> list[BenchFrame]:
    """``count`` synthetic hand frames (cached after the first rendering)."""
    if count <= 0:
        return []
    intrinsics = load_profile(SYNTHETIC_CAMERA).intrinsics
    path = cache_dir() / "bench" / f"hand_frames-{SYNTHETIC_CAMERA}-n{count}-seed{seed}-v1.npz"
    data = None
    if path.is_file():
        try:
            with np.load(path) as stored:
                data = {"raw": stored["raw"], "centre": stored["centre"]}
        except (OSError, ValueError, KeyError):
            data = None
    if data is None:
        import torch

        from livepose.synth.generator import hand_frames

        log.info("rendering %d synthetic hand frames (cached in %s)", count, path)
        rendered = hand_frames(count, camera=SYNTHETIC_CAMERA, generator=torch.Generator().manual_seed(seed))
        data = {"raw": rendered.depth.numpy().astype(np.uint16), "centre": rendered.centre_uvd.double().numpy()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **data)
            tmp.replace(path)
        except OSError as exc:
            log.info("could not cache synthetic frames (%s)", exc)
    return [BenchFrame(raw=data["raw"][i], intrinsics=intrinsics, centre_uvd=data["centre"][i], kind="synthetic",
                       name=f"synthetic {SYNTHETIC_CAMERA} #{i}") for i in range(count)]


def _real_files(folder: Path) -> list[tuple[Path, str, str]]:
    """(file, calibration profile, encoding) of the known real frames under ``folder``, in a fixed order."""
    found = [(p, "sr305", "uint16") for p in sorted(folder.glob("sr305/*/*.png"))]
    found += [(p, "hands2017", "uint16") for p in sorted(folder.glob("hands2017/*.png"))]
    found += [(p, "nyu", "nyu_rgb") for p in sorted(folder.glob("nyu/*.png"))]
    return found


def real_frames(folder: Path | None, limit: int) -> tuple[list[BenchFrame], str | None]:
    """Up to ``limit`` real frames with a detected hand, spread over the folder's cameras."""
    folder = DEFAULT_FRAMES if folder is None else Path(folder)
    if limit <= 0 or not folder.is_dir():
        return [], None
    from livepose.detect.centre import HandCentreDetector

    files = _real_files(folder)
    if not files:
        return [], None
    # Interleave cameras so that a small limit still sees each of them.
    by_profile: dict[str, list[tuple[Path, str, str]]] = {}
    for entry in files:
        by_profile.setdefault(entry[1], []).append(entry)
    ordered = []
    while any(by_profile.values()):
        for queue in by_profile.values():
            if queue:
                ordered.append(queue.pop(0))
    detector = HandCentreDetector()
    frames: list[BenchFrame] = []
    for path, profile, encoding in ordered:
        if len(frames) >= limit:
            break
        intrinsics = load_profile(profile).intrinsics
        try:
            raw = read_depth_png(path, encoding=encoding)
        except LivePoseError as exc:
            log.info("skipping %s: %s", path, exc)
            continue
        depth = raw.astype(np.float32) * np.float32(intrinsics.depth_unit_mm)
        found = detector.detect(depth, intrinsics)
        if found.found:
            frames.append(BenchFrame(raw=raw, intrinsics=intrinsics, centre_uvd=np.asarray(found.uvd, np.float64),
                                     kind="real", name=str(path.relative_to(folder))))
    return frames, str(folder)


def load_inputs(synthetic: int, real: int, folder: Path | None = None, seed: int = 0) -> BenchInputs:
    """``synthetic`` synthetic frames and up to ``real`` real ones (see the module docstring)."""
    frames = synthetic_frames(synthetic, seed)
    reals, where = real_frames(folder, real)
    inputs = BenchInputs(frames=frames + reals, real_folder=where)
    if where is None:
        inputs.notes.append(f"no real frames: {folder or DEFAULT_FRAMES} is absent; synthetic frames only")
    if not inputs.frames:
        raise LivePoseError("bench: no input frames (give at least one synthetic frame)")
    return inputs
