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


def run(args: argparse.Namespace) -> int:
    from livepose.recording.export import export_session

    summary = export_session(args.session, args.to)
    sys.stdout.write(f"exported {summary.frames} frames and {summary.poses} poses to {summary.folder}\n")
    if summary.stopped_at:
        sys.stderr.write(f"livepose export-session: {summary.stopped_at}\n")
    return 0
