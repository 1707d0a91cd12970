"""The ``livepose`` command: one entry point, one subcommand per job.

Every subcommand raises :class:`~livepose.errors.LivePoseError` for bad
input; :func:`main` prints it as one line on stderr and exits with status 2,
so a user never sees a traceback for a bad file, flag or value.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from livepose import __version__, cli_bench, cli_evaluate, cli_export, cli_live, cli_session, cli_synth, cli_train
from livepose.errors import LivePoseError

logger = logging.getLogger("livepose")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livepose", description="Real-time 3D hand and body pose from a depth "
                                     "camera with A2J.")
    parser.add_argument("--version", action="version", version=f"livepose {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_bench.add_parser(subparsers)
    cli_evaluate.add_parser(subparsers)
    cli_export.add_parsers(subparsers)
    cli_live.add_parser(subparsers)
    cli_session.add_parser(subparsers)
    cli_session.add_demo_parser(subparsers)
    cli_synth.add_parser(subparsers)
    cli_train.add_parser(subparsers)
    cli_train.add_package_parser(subparsers)
    cli_train.add_average_parser(subparsers)
    cli_train.add_plot_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LivePoseError as exc:
        sys.stderr.write(f"livepose {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("livepose: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
