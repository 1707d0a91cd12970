"""``livepose evaluate``: score a prediction file against published labels."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from livepose.errors import LivePoseError
from livepose.evaluation.evaluate import evaluate_files
from livepose.evaluation.protocols import COORDS, DATASETS
from livepose.evaluation.report import format_report, write_json
from livepose.runtime.flip_test import FLIP_TEST_CHOICES, flip_test_choice

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Compare predicted joints with ground-truth labels and report the mean 3D error, the per-joint error,
the success rate (frames whose worst joint is within 0..80 mm) and, for ITOP, mAP at 10 cm.
Files: text (one frame per line, J*3 numbers, optional leading frame name), .mat, .npy or .npz.
Hands (nyu, icvl, msra, hands2017): u, v in pixels and d in mm (or camera mm with --coords xyz).
ITOP: labels in world metres; predictions u, v (pixels) and z (metres) (or world metres with --coords xyz).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand on ``subparsers`` and return its parser."""
    parser = subparsers.add_parser("evaluate", help="score predictions against published labels",
                                   description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, help="dataset the files come from")
    parser.add_argument("--predictions", metavar="FILE", help="predicted joints, in label order")
    parser.add_argument("--labels", metavar="FILE", help="ground-truth joints")
    parser.add_argument("--model", metavar="CHECKPOINT",
                        help="instead of files: run this livepose checkpoint over --split and score it")
    parser.add_argument("--split", metavar="DIR", help="a synthetic split written by 'livepose synth' (with --model)")
    parser.add_argument("--flip-test", choices=tuple(FLIP_TEST_CHOICES), default="model",
                        help="with --model: average each crop with its mirror image (on), or not (off); default: "
                             "as the model ships (its crop's flip_test)")
    parser.add_argument("--coords", choices=COORDS, default="uvd",
                        help="uvd: u, v pixels and depth (default); xyz: already metric (hands: camera mm; "
                             "ITOP predictions: world metres)")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file")
    parser.add_argument("--plot", metavar="OUT.png", help="also draw the success curve and per-joint errors")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``livepose evaluate``; print the report to stdout and return 0.

    Raises:
        LivePoseError: bad input files or outputs; the main command line prints it on one line and exits 2.
    """
    for option in ("json", "plot"):
        out = getattr(args, option, None)
        if out and not Path(out).resolve().parent.is_dir():
            raise LivePoseError(f"{out}: the folder for --{option} does not exist; expected a path in an "
                                "existing folder")
    if getattr(args, "model", None) or getattr(args, "split", None):
        if not (args.model and args.split):
            raise LivePoseError("--model and --split go together: a checkpoint and the split folder to run it on")
        from livepose.evaluation.model_eval import evaluate_model_on_split

        result, run_info = evaluate_model_on_split(args.model, args.split,
                                                   flip_test=flip_test_choice(getattr(args, "flip_test", None)))
        if run_info.detector_misses:
            logger.warning("the body detector found nobody in %d of %d frames (those used the true joints' box)",
                           run_info.detector_misses, len(run_info.labels_mm))
    else:
        missing = [f"--{name}" for name in ("dataset", "predictions", "labels") if not getattr(args, name, None)]
        if missing:
            raise LivePoseError(f"missing {', '.join(missing)}: give --dataset, --predictions and --labels, or "
                                "--model and --split")
        coords = getattr(args, "coords", None) or "uvd"
        result = evaluate_files(args.dataset, args.predictions, args.labels, coords=coords)
    sys.stdout.write(format_report(result))
    if getattr(args, "json", None):
        write_json(result, args.json)
        logger.info("wrote %s", args.json)
    if getattr(args, "plot", None):
        from livepose.evaluation.plots import plot_result

        plot_result(result, args.plot)
        logger.info("wrote %s", args.plot)
    return 0
