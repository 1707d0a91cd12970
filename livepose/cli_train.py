"""``livepose train``: train A2J on synthetic data or a real dataset (see :mod:`livepose.training.loop`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from livepose.errors import LivePoseError
from livepose.runtime.flip_test import FLIP_TEST_CHOICES, flip_test_choice
from livepose.training.augment import AugmentSettings
from livepose.training.config import DATA_CHOICES, TrainConfig

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Train A2J with the paper's recipe (Adam, lr 3.5e-4, weight decay 1e-4, step decay; random rotation,
in-plane and depth scaling, Gaussian noise, random erasing), on livepose's synthetic hands or bodies
generated on the fly, or on NYU / ICVL / HANDS2017 / ITOP in their published layouts (--data-root).
Everything goes to --out: state.pt (resumable), model.pt (a livepose checkpoint), metrics.jsonl,
tensorboard/ and loss.png. Run the same command again to resume. Several processes or GPUs:
  torchrun --nproc_per_node N -m livepose.cli train ...
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on ``subparsers`` and return its parser."""
    defaults = TrainConfig(data="synth-hand", out=".")
    parser = subparsers.add_parser("train", help="train an A2J model", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, choices=DATA_CHOICES, help="synthetic hands/bodies or a dataset")
    parser.add_argument("--data-root", metavar="DIR", help="the dataset's folder (real datasets)")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (created; resumed if it has a state)")
    parser.add_argument("--backbone", default=defaults.backbone, choices=("resnet18", "resnet34", "resnet50"))
    parser.add_argument("--head-channels", type=int, default=defaults.head_channels,
                        help=f"channels of each head layer (paper: 256; default {defaults.head_channels})")
    parser.add_argument("--head-layers", type=int, default=defaults.head_layers,
                        help=f"conv layers per head (paper: 4; default {defaults.head_layers})")
    parser.add_argument("--input-size", type=int, default=defaults.input_size,
                        help=f"crop side in pixels (paper: 176 hands, 288 ITOP; default {defaults.input_size})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="per process")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimiser steps in total")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--decay-steps", type=int, nargs="*", default=[], metavar="STEP",
                        help="steps where the learning rate is multiplied by --decay-gamma (default: 60%% and 85%%)")
    parser.add_argument("--decay-gamma", type=float, default=defaults.decay_gamma)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--no-amp", action="store_true", help="train in FP32 on CUDA (AMP is on by default)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--cameras", nargs="*", default=[], metavar="PROFILE",
                        help="synthetic cameras (default: d435_640 sr305 hands2017 for hands, itop_side d435_640 "
                             "for bodies)")
    parser.add_argument("--imagenet", action="store_true",
                        help="initialise the trunk from torchvision's ImageNet weights (needs internet)")
    parser.add_argument("--init-from", metavar="CHECKPOINT",
                        help="start from a livepose checkpoint's weights (same architecture), e.g. a shipped model")
    parser.add_argument("--time-limit", type=float, default=0.0, metavar="MINUTES",
                        help="save and stop once this invocation has run this long (counted from its start, "
                             "not the run's total; resume later with the same command)")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--log-every", type=int, default=defaults.log_every)
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--rotation", type=float, default=defaults.augment.rotation_deg, metavar="DEG",
                        help="in-plane rotation augmentation, uniform in +-DEG (the paper's 180 by default; "
                             "upright subjects such as ITOP's side view train faster with less)")
    parser.add_argument("--box-jitter", type=float, default=defaults.box_jitter, metavar="FRACTION",
                        help="synthetic bodies: move each edge of the person's box by up to this fraction of its "
                             "size, so the network learns the spread of the live box detector (default "
                             f"{defaults.box_jitter})")
    parser.add_argument("--body-depth", choices=("absolute", "relative"), default=defaults.body_depth,
                        help="synthetic bodies: the network's depth is absolute (ITOP's protocol, the default) or "
                             "relative to the crop's reference depth (a low percentile of its middle third), "
                             "as a hand's is to its centre (measured: most of an absolute model's error is one "
                             "depth offset per frame)")
    parser.set_defaults(func=run)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` an argument namespace describes."""
    return TrainConfig(data=args.data, out=args.out, data_root=args.data_root, backbone=args.backbone,
                       head_channels=args.head_channels, head_layers=args.head_layers, input_size=args.input_size,
                       batch_size=args.batch_size, steps=args.steps, lr=args.lr, weight_decay=args.weight_decay,
                       decay_steps=tuple(args.decay_steps), decay_gamma=args.decay_gamma, seed=args.seed,
                       device=args.device, amp=not args.no_amp, threads=args.threads, cameras=tuple(args.cameras),
                       imagenet=args.imagenet, init_from=args.init_from, time_limit_s=args.time_limit * 60.0,
                       checkpoint_every=args.checkpoint_every, log_every=args.log_every,
                       validate_every=args.validate_every, box_jitter=args.box_jitter,
                       augment=AugmentSettings(rotation_deg=args.rotation), body_depth=args.body_depth)


def run(args: argparse.Namespace) -> int:
    """Run ``livepose train``; print where the model went and return 0."""
    from livepose.training.loop import train

    result = train(config_from_args(args))
    if int(os.environ.get("RANK", "0")) == 0:
        val = f", validation error {result.last_validation_mm:.2f} mm" if result.last_validation_mm else ""
        sys.stdout.write(f"{result.model_path} (step {result.steps_done}, {result.seconds / 60:.1f} min{val})\n")
    return 0


PACKAGE_DESCRIPTION = """\
Turn a training run's model.pt into a shipped model: score it on held-out synthetic splits (written with
'livepose synth'), then write OUT.pt (half precision) and OUT.json (the model card).
"""


def add_package_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``package-model`` subcommand on ``subparsers`` and return its parser."""
    parser = subparsers.add_parser("package-model", help="evaluate a trained model and write it with its card",
                                   description=PACKAGE_DESCRIPTION)
    parser.add_argument("model", metavar="RUN/model.pt", help="checkpoint written by livepose train")
    parser.add_argument("--out", required=True, metavar="OUT.pt", help="shipped checkpoint (card beside it as .json)")
    parser.add_argument("--split", action="append", required=True, metavar="DIR", help="held-out split (repeatable)")
    parser.add_argument("--name", required=True, help="model name for the card")
    parser.add_argument("--command", default="", help="the command that reproduces the model (for the card)")
    parser.add_argument("--notes", default="", help="free text for the card")
    parser.add_argument("--real-data", metavar="DIR", help="folder with the real reference frames (hand models: "
                        "the NYU frame's error goes into the card)")
    parser.add_argument("--overlay", metavar="PNG", help="with --real-data: draw the model on the real frames")
    parser.add_argument("--flip-test", choices=tuple(FLIP_TEST_CHOICES), default="model",
                        help="ship the model with the flip test on (each crop averaged with its mirror image; "
                             "twice the network work) or off; default: as the run's checkpoint has it (off)")
    parser.set_defaults(func=run_package)
    return parser


def run_package(args: argparse.Namespace) -> int:
    """Run ``livepose package-model``; print the card's headline figures."""
    from livepose.training.package import package_model

    card = package_model(args.model, args.out, args.split, args.name, args.command, args.notes,
                         real_data=args.real_data, overlay=args.overlay,
                         flip_test=flip_test_choice(args.flip_test))
    for entry in card["held_out"]:
        split = entry["split"]
        figure = f", mAP@10cm {entry['map_10cm']:.2f} %" if "map_10cm" in entry else ""
        if "without_flip_test" in entry:
            figure += f" (without the flip test {entry['without_flip_test']['mean_error_mm']:.2f} mm)"
        sys.stdout.write(f"{split['camera']} seed {split['seed']} ({split['frames']} frames): mean error "
                         f"{entry['mean_error_mm']:.2f} mm{figure}\n")
    if "real_frames" in card:
        sys.stdout.write(f"real NYU frame 1: mean error "
                         f"{card['real_frames']['nyu_frame_1']['detector_mean_error_mm']:.2f} mm\n")
    sys.stdout.write(f"{args.out} ({card['file_mb']} MB) and {args.out[:-3]}.json\n")
    return 0


AVERAGE_DESCRIPTION = """\
Average the weights of several runs of one architecture (a "model soup"): runs started from the same weights
and trained side by side usually average to a model more accurate than each, at no cost at run time.
Writes OUT.pt, a checkpoint like a run's model.pt, for 'livepose package-model'.
"""


def add_average_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``average-weights`` subcommand on ``subparsers`` and return its parser."""
    parser = subparsers.add_parser("average-weights", help="average the weights of several runs into one model",
                                   description=AVERAGE_DESCRIPTION)
    parser.add_argument("models", nargs="+", metavar="RUN/model.pt", help="two or more livepose checkpoints")
    parser.add_argument("--out", required=True, metavar="OUT.pt", help="the averaged checkpoint (float32)")
    parser.add_argument("--weights", type=float, nargs="+", metavar="W",
                        help="one positive weight per checkpoint (normalised; default: equal)")
    parser.set_defaults(func=run_average)
    return parser


def run_average(args: argparse.Namespace) -> int:
    """Run ``livepose average-weights``; print what was written."""
    from livepose.training.average import average_checkpoints

    out = average_checkpoints(args.models, args.out, args.weights)
    sys.stdout.write(f"{out}: the mean of {len(args.models)} checkpoints' weights\n")
    return 0


PLOT_DESCRIPTION = """\
Draw several training runs in one PNG: the training loss and the in-training validation error against the
step, read from each run folder's metrics.jsonl. Give each run the step it started at (--offset) to line up a
chain of warm restarts, and mark averaged models' validation errors with --reference LABEL=MM.
"""


def add_plot_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``plot-runs`` subcommand on ``subparsers`` and return its parser."""
    parser = subparsers.add_parser("plot-runs", help="compare training runs' loss and validation error in one PNG",
                                   description=PLOT_DESCRIPTION)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="'livepose train' --out folders")
    parser.add_argument("--out", required=True, metavar="PNG", help="the picture to write")
    parser.add_argument("--offset", type=int, nargs="+", metavar="STEP",
                        help="one per run: the step it started at on the common axis (default: 0 for each)")
    parser.add_argument("--label", nargs="+", metavar="TEXT",
                        help="one legend label per run (default: the folder name, with the seed, learning rate "
                             "and starting weights from its model.pt)")
    parser.add_argument("--reference", action="append", default=[], metavar="LABEL=MM",
                        help="a dashed line on the validation panel, e.g. an averaged model's error (repeatable)")
    parser.add_argument("--smooth", type=int, default=10, metavar="N", help="running mean over N logged losses")
    parser.set_defaults(func=run_plot)
    return parser


def run_plot(args: argparse.Namespace) -> int:
    """Run ``livepose plot-runs``; print the picture written."""
    from livepose.training.run_plot import load_run_curve, parse_reference, plot_run_curves

    count = len(args.runs)
    offsets = args.offset or [0] * count
    labels = args.label or [None] * count
    for flag, values in (("--offset", offsets), ("--label", labels)):
        if len(values) != count:
            raise LivePoseError(f"{flag}: {len(values)} values for {count} runs; expected one per run")
    if args.smooth < 1:
        raise LivePoseError(f"--smooth {args.smooth}: expected a whole number of logged steps, at least 1")
    curves = [load_run_curve(run, offset, label)
              for run, offset, label in zip(args.runs, offsets, labels, strict=True)]
    references = [parse_reference(text) for text in args.reference]
    out = plot_run_curves(curves, args.out, references, args.smooth, boundaries=[o for o in offsets if o > 0])
    sys.stdout.write(f"{out}: {count} runs\n")
    return 0
