"""``livepose export-session``: a recorded session as PNGs, a camera file and CSV / JSON joints."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("export-session", help="write a session's frames as 16-bit PNGs and its "
                                   "joints as CSV and JSON lines",
                                   description="Export a livepose session (.mcap) for other tools: NNNNNN.png "
                                   "(uint16 depth in the recorded unit), camera.json, joints.csv, joints.jsonl. "
                                   "The folder plays again with livepose live --source DIR.")
    parser.add_argument("session", metavar="FILE", help="session file (.mcap)")
    parser.add_argument("--to", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.set_defaults(func=run)
    return parser


def add_demo_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("make-demo", help="render the bundled demo recording (a moving synthetic hand)",
                                   description="Render a few seconds of a smoothly moving synthetic hand as a "
                                   "livepose session; make run plays it when no RealSense is connected.")
    parser.add_argument("--out", required=True, metavar="FILE.mcap", help="session file to write")
    parser.add_argument("--seconds", type=float, default=4.0, help="length in seconds (default 4)")
    parser.add_argument("--fps", type=float, default=15.0, help="frames per second (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--camera", default="d435_640", help="synthetic camera (default d435_640)")
    parser.set_defaults(func=run_demo)
    return parser


def run_demo(args: argparse.Namespace) -> int:
    from livepose.recording.demo import write_demo_session

    out = write_demo_session(args.out, args.seconds, args.fps, args.seed, args.camera,
                             progress=sys.stderr.isatty())
    sys.stdout.write(f"{out}: {out.stat().st_size / 1e6:.1f} MB\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from livepose.recording.export import export_session

    summary = export_session(args.session, args.to)
    sys.stdout.write(f"exported {summary.frames} frames and {summary.poses} poses to {summary.folder}\n")
    if summary.stopped_at:
        sys.stderr.write(f"livepose export-session: {summary.stopped_at}\n")
    return 0
