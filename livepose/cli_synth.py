"""``livepose synth``: write synthetic hand or body frames with exact joints, and a preview grid."""

from __future__ import annotations

import argparse
import sys
import time

from livepose.errors import LivePoseError

DEFAULT_CAMERA = {"hand": "d435_640", "body": "itop_side"}

PLURALS = {"hand": "hands", "body": "bodies"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("synth", help="write synthetic depth frames with exact joints",
                                   description="Render synthetic hands (21 joints) or bodies (ITOP 15 joints) as "
                                   "a camera would see them: NNNNNN.png, camera.json, labels.json. The same "
                                   "command and seed write identical files.")
    parser.add_argument("kind", choices=("hand", "body"))
    parser.add_argument("--count", type=int, default=16, metavar="N", help="frames to write (default 16)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument("--camera", metavar="NAME", help="camera: d435_640, d435_848, sr305, nyu, icvl, hands2017, "
                        "azure_kinect_nfov (hands; default d435_640), itop_side, itop_top (bodies; default itop_side)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--preview", metavar="GRID.png", help="also draw the first frames with their skeletons")
    parser.add_argument("--no-noise", action="store_true", help="perfect depth (no sensor model)")
    parser.add_argument("--whole-body", action="store_true", help="bodies: only frames showing the whole person "
                        "(as ITOP's frames do; the body model's held-out splits)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from livepose.synth.sensors import SENSORS
    from livepose.synth.writer import write_split

    camera = args.camera or DEFAULT_CAMERA[args.kind]
    if camera not in SENSORS:
        raise LivePoseError(f"--camera {camera!r}: expected one of {', '.join(sorted(SENSORS))}")
    started = time.perf_counter()
    out = write_split(args.kind, args.count, args.seed, camera, args.out, noise=not args.no_noise,
                      progress=sys.stderr.isatty(), whole_body=args.whole_body)
    elapsed = time.perf_counter() - started
    sys.stdout.write(f"wrote {args.count} {args.kind} frames ({camera}) to {out} in {elapsed:.1f} s "
                     f"({args.count / elapsed:.1f} frames/s)\n")
    if args.preview:
        write_preview(out, args.preview)
        sys.stdout.write(f"preview: {args.preview}\n")
    return 0


def write_preview(folder, path, count: int = 12) -> None:
    """Draw the first ``count`` frames of a written split."""
    import json
    from pathlib import Path

    import cv2
    import numpy as np

    from livepose.synth.preview import preview_grid

    labels = json.loads((Path(folder) / "labels.json").read_text())
    unit = json.loads((Path(folder) / "camera.json").read_text())["camera"]["depth_unit_mm"]
    frames = labels["frames"][:count]
    depth = np.stack([cv2.imread(str(Path(folder) / f["file"]), cv2.IMREAD_UNCHANGED).astype(np.float32) * unit
                      for f in frames])
    joints = np.array([f["joints_uvd"] for f in frames])
    if labels["kind"] == "body" and unit >= 1:
        joints = joints.copy()
    preview_grid(depth, joints, labels["layout"], path, zoom_mm=160.0 if labels["kind"] == "hand" else None,
                 title=f"synthetic {PLURALS[labels['kind']]}, {labels['camera']}, seed {labels['seed']}")
