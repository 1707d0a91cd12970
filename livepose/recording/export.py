"""Exporting a session for other tools: 16-bit PNGs, a camera file, and the joints as CSV and JSON lines.

The exported folder is itself a livepose image-folder source (PNGs plus
``camera.json``), so ``livepose live --source DIR`` plays it again.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2

from livepose.errors import LivePoseError
from livepose.recording.reader import SessionReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSummary:
    frames: int
    poses: int
    folder: Path
    stopped_at: str


def export_session(session: str | Path, out_dir: str | Path) -> ExportSummary:
    """Write ``NNNNNN.png`` (uint16, the recorded unit), ``camera.json``, ``joints.csv`` and ``joints.jsonl``.

    ``joints.csv`` has one row per frame and joint: frame, found, joint, x_mm, y_mm, z_mm, u_px, v_px,
    d_mm, confidence (empty where the target was not found).
    """
    reader = SessionReader(session)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LivePoseError(f"{out}: cannot create the export folder ({exc.strerror})") from None
    frames = poses = 0
    camera_written = False
    with (out / "joints.csv").open("w", newline="", encoding="utf-8") as csv_handle, \
            (out / "joints.jsonl").open("w", encoding="utf-8") as jsonl:
        table = csv.writer(csv_handle)
        table.writerow(["frame", "found", "joint", "x_mm", "y_mm", "z_mm", "u_px", "v_px", "d_mm", "confidence"])
        for message in reader.messages():
            if message.frame is not None:
                frame = message.frame
                if not cv2.imwrite(str(out / f"{frame.frame_number:06d}.png"), frame.depth):
                    raise LivePoseError(f"{out}: writing frame {frame.frame_number} failed")
                if not camera_written:
                    camera = {**frame.intrinsics.to_dict(), "depth_unit_mm": frame.depth_unit_mm}
                    (out / "camera.json").write_text(json.dumps({"name": Path(session).stem, "camera": camera},
                                                                indent=2) + "\n")
                    camera_written = True
                frames += 1
            elif message.pose is not None:
                pose = message.pose
                jsonl.write(json.dumps(pose, separators=(",", ":")) + "\n")
                rows = zip(pose["joints_mm"], pose["joints_uvd"], pose["confidence"], strict=True)
                for j, (xyz, uvd, conf) in enumerate(rows):
                    cells = [*xyz, *uvd, conf] if pose["found"] else [""] * 7
                    table.writerow([pose["frame"], int(bool(pose["found"])), j,
                                    *("" if c is None else c for c in cells)])
                poses += 1
    if frames == 0:
        raise LivePoseError(f"{session}: no readable depth frame to export")
    return ExportSummary(frames, poses, out, reader.stopped_at)
