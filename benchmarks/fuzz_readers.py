"""Fuzz every reader of outside data with many generated cases and report what happened to them.

Runs ``tests/test_fuzz_readers.py`` (hypothesis, in-process) with ``LIVEPOSE_FUZZ_CASES`` cases per reader
(default 1,000; CI runs a few dozen) and the CLI cases as subprocesses, then prints, per reader: the cases
tried, how they ended (success or the reader's own LivePoseError; anything else fails the run), the slowest
and the mean case.

Usage::

    .venv/bin/python benchmarks/fuzz_readers.py [--cases 1000] [--cli-cases 3] [--only sessions,cameras]
        [--json fuzz.json]

``--only`` picks readers (sessions, realsense, folders, cameras, checkpoints, config, cli). Exits with
pytest's status.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = {"sessions": "test_fuzz_sessions", "realsense": "test_fuzz_realsense_recordings",
         "folders": "test_fuzz_png_folders", "cameras": "test_fuzz_camera_files",
         "checkpoints": "test_fuzz_checkpoints", "config": "test_fuzz_config_values",
         "cli": "test_cli_cases_print_one_line_and_exit_non_zero"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="generated cases per reader")
    parser.add_argument("--cli-cases", type=int, default=3, help="command lines per reader (subprocesses)")
    parser.add_argument("--only", help="comma-separated readers (default: all)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    readers = args.only.split(",") if args.only else list(TESTS)
    unknown = [r for r in readers if r not in TESTS]
    if unknown:
        parser.error(f"unknown readers {unknown}; expected some of {', '.join(TESTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.json"
        env = {**os.environ, "LIVEPOSE_FUZZ_CASES": str(args.cases), "LIVEPOSE_FUZZ_CLI_CASES": str(args.cli_cases),
               "LIVEPOSE_FUZZ_REPORT": str(report)}
        selection = " or ".join(TESTS[r] for r in readers)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               str(REPO / "tests" / "test_fuzz_readers.py"), "-k", selection], cwd=REPO, env=env,
                              check=False)
        figures = json.loads(report.read_text()) if report.exists() else {}
    say(f"{'reader':<16}{'cases':>7}  {'outcomes':<40}{'slowest s':>10}{'mean s':>9}")
    for reader, row in figures.items():
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        say(f"{reader:<16}{row['cases']:>7}  {outcomes:<40}{row['max_case_s']:>10.2f}{row['mean_case_s']:>9.3f}")
    say(f"pytest exit status {done.returncode}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
