"""``livepose bench``: timings of every inference path against a reference implementation of the official one.

    livepose bench [--quick] [--json FILE] [--models NAME|FILE ...] [--devices cpu cuda] [--batch N] [--engine]

Prints tables on stdout (progress on stderr with ``-v``) and writes the
report as JSON with ``--json`` (see :mod:`livepose.bench.run` for its fields).
It reports; it never fails because the machine is slow. Main thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from livepose.errors import LivePoseError

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``bench`` on ``subparsers``."""
    bench = subparsers.add_parser(
        "bench", help="time every inference path (CPU, CUDA) against the official inference path",
        description="Per-stage and end-to-end timings (p50, p99, FPS) of livepose's inference paths at batch 1 and "
        "batched, beside a reference implementation of the official A2J inference path on the same frames, with "
        "a parity check of every path against FP32 eager (0.5 mm).")
    bench.add_argument("--quick", action="store_true", help="a short run (one model, few frames and iterations; "
                       "under two minutes on 2 CPU cores)")
    bench.add_argument("--json", metavar="FILE", help="write the report as JSON ('-' = stdout instead of tables)")
    bench.add_argument("--models", nargs="+", metavar="M", help="hand21, resnet18, resnet50 (random weights, "
                       "176x176) or checkpoint files (default: hand21 if shipped, resnet18, resnet50; --quick: one)")
    bench.add_argument("--devices", nargs="+", metavar="D", help="devices to time (default: cpu, and cuda when "
                       "present)")
    bench.add_argument("--batch", type=int, metavar="N", help="the batched size (default 8, --quick 4)")
    bench.add_argument("--engine", dest="engine", action="store_true", default=None, help="also measure the live "
                       "engine's sustained input rate and latency (default without --quick)")
    bench.add_argument("--no-engine", dest="engine", action="store_false", help="skip the engine measurement")
    bench.add_argument("--int8", dest="int8", action="store_true", default=None, help="also time ONNX Runtime with "
                       "INT8 convolutions on the CPU and its accuracy cost (default without --quick)")
    bench.add_argument("--no-int8", dest="int8", action="store_false", help="skip the INT8 measurement")
    bench.add_argument("--training-data", dest="training_data", action="store_true", default=None,
                       help="also time the synthetic renderer against training steps, crops per second of each "
                       "(default without --quick)")
    bench.add_argument("--no-training-data", dest="training_data", action="store_false",
                       help="skip the renderer-against-training measurement")
    bench.add_argument("--frames", metavar="DIR", help="folder of real depth frames (default: shared/data/frames "
                       "beside the repository, when it exists)")
    bench.add_argument("--synthetic", type=int, metavar="N", help="synthetic frames (default 8, --quick 2)")
    bench.add_argument("--real", type=int, metavar="N", help="real frames at most (default 12, --quick 2)")
    bench.add_argument("--seconds", type=float, metavar="S", help="time budget per row (default: by mode)")
    bench.add_argument("--iterations", type=int, metavar="N", help="timed calls per row at most (default: by mode)")
    bench.add_argument("--threads", type=int, metavar="N", help="CPU threads for PyTorch and ONNX Runtime (default: "
                       "theirs, one per core; on a machine busy with other work 1 can be much faster)")
    bench.set_defaults(func=run)
    return bench


def run(args: argparse.Namespace) -> int:
    from livepose.bench.report import format_report
    from livepose.bench.run import BenchOptions, run_bench

    for name, least in (("batch", 2), ("synthetic", 0), ("real", 0), ("iterations", 1), ("threads", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            raise LivePoseError(f"--{name} {value}: expected a whole number of at least {least}")
    if args.json and args.json != "-" and not Path(args.json).resolve().parent.is_dir():
        raise LivePoseError(f"--json {args.json}: no such folder {Path(args.json).resolve().parent}")
    if args.seconds is not None and not args.seconds > 0:
        raise LivePoseError(f"--seconds {args.seconds}: expected a positive number of seconds")
    options = BenchOptions(quick=args.quick, models=args.models, devices=args.devices, batch=args.batch,
                           engine=args.engine, frames_folder=Path(args.frames) if args.frames else None,
                           synthetic=args.synthetic, real=args.real, seconds=args.seconds,
                           iterations=args.iterations, threads=args.threads, int8=args.int8,
                           training_data=args.training_data)
    report = run_bench(options, progress=lambda message: log.info("%s", message))
    text = json.dumps(report, indent=1)
    if args.json == "-":
        sys.stdout.write(text + "\n")
        return 0
    sys.stdout.write(format_report(report))
    if args.json:
        try:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise LivePoseError(f"{args.json}: cannot write ({exc.strerror})") from None
    return 0
