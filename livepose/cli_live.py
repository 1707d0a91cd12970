"""``livepose live``: the live app (capture, detect, A2J, viewer).

The threaded pipeline, its sources and the viewer are tracked in the project's
"Live pipeline" and "Live viewer" issues and are not part of this build yet;
the command exists so that ``make run`` and ``run_live.py`` have a stable
entry point, and it says so plainly instead of pretending to run.
"""

from __future__ import annotations

import argparse

from livepose.errors import LivePoseError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``live`` on ``subparsers``."""
    parser = subparsers.add_parser("live", help="run the live tracker (not in this build yet)")
    parser.add_argument("--source", metavar="SPEC", help="depth source (realsense[:SERIAL], a recording, ...)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    raise LivePoseError("the live pipeline (sources, engine, viewer) is not in this build yet; available now: "
                        "livepose evaluate, export, import-official (see livepose --help)")
