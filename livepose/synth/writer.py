"""Writing a fixed synthetic split to disk (for held-out test sets and for looking at).

A split folder holds ``NNNNNN.png`` (uint16 depth in the camera's unit),
``camera.json`` (so the folder is also a livepose image-folder source) and
``labels.json`` (layout, camera and per frame: joints in camera mm and image
u, v, d, the palm / torso centre, handedness). The same command and seed write
byte-identical files: nothing in them depends on time, and frames are drawn in
fixed batches from one seeded generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import torch
from tqdm import tqdm

from livepose.calibration import load_profile
from livepose.errors import LivePoseError
from livepose.synth.generator import SynthFrames, body_frames, hand_frames

WRITE_BATCH = 16  # part of the seed's meaning: frames are drawn in batches of this size


def _rounded(values, digits: int = 4) -> list:
    return [[round(float(x), digits) for x in row] for row in values]


def synth_frames(kind: str, batch: int, camera: str, generator: torch.Generator, noise: bool = True,
                 whole_body: bool = False) -> SynthFrames:
    """A batch of hand or body frames (``whole_body``: bodies entirely in the picture)."""
    if kind == "hand":
        return hand_frames(batch, camera=camera, generator=generator, noise=noise)
    if kind == "body":
        return body_frames(batch, camera=camera, generator=generator, noise=noise, whole_body=whole_body)
    raise LivePoseError(f"synthetic kind {kind!r}: expected hand or body")


def write_split(kind: str, count: int, seed: int, camera: str, out_dir: str | Path, noise: bool = True,
                progress: bool = True, whole_body: bool = False) -> Path:
    """Write ``count`` frames of ``kind`` seen by ``camera`` to ``out_dir``; returns the folder."""
    if count < 1:
        raise LivePoseError(f"--count {count}: expected at least 1 frame")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LivePoseError(f"{out}: cannot create the folder ({exc.strerror})") from None
    generator = torch.Generator().manual_seed(int(seed))
    profile = load_profile(camera)
    frames: list[dict] = []
    written = 0
    with tqdm(total=count, desc=f"synth {kind}", unit="frame", disable=not progress) as bar:
        while written < count:
            batch = synth_frames(kind, WRITE_BATCH, camera, generator, noise, whole_body)
            for i in range(min(WRITE_BATCH, count - written)):
                name = f"{written:06d}.png"
                if not cv2.imwrite(str(out / name), batch.depth[i].numpy()):
                    raise LivePoseError(f"{out / name}: writing failed")
                frames.append({"file": name, "joints_mm": _rounded(batch.joints_mm[i]),
                               "joints_uvd": _rounded(batch.joints_uvd[i]),
                               "centre_uvd": [round(float(x), 4) for x in batch.centre_uvd[i]],
                               "left": bool(batch.is_left[i])})
                written += 1
                bar.update(1)
    camera_entry = {**profile.intrinsics.to_dict(), "depth_unit_mm": batch.depth_unit_mm}
    (out / "camera.json").write_text(json.dumps({"name": camera, "camera": camera_entry}, indent=2) + "\n")
    labels = {"kind": kind, "layout": "hand21" if kind == "hand" else "itop15", "camera": camera, "seed": int(seed),
              "noise": noise,
              **({"whole_body": True} if whole_body else {}), "frames": frames}
    (out / "labels.json").write_text(json.dumps(labels, separators=(",", ":")) + "\n")
    return out
