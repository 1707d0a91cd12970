"""``livepose export`` and ``livepose import-official``: moving weights between formats."""

from __future__ import annotations

import argparse
import logging
import sys

from livepose.calibration import load_profile, profile_names
from livepose.errors import LivePoseError
from livepose.runtime.export_formats import EXPORT_FORMATS

logger = logging.getLogger(__name__)

OFFICIAL_MODELS = {
    # dataset profile -> (joints, is_3d) of the released official weights
    "nyu": (14, True),
    "icvl": (16, True),
    "hands2017": (21, True),
    "itop_side": (15, True),
    "itop_top": (15, True),
}


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export`` and ``import-official`` on ``subparsers``."""
    export = subparsers.add_parser("export", help="export a checkpoint (network + anchor decoding) to ONNX",
                                   description="Export a livepose checkpoint, network and anchor decoding, "
                                   "with its metadata embedded. Formats: "
                                   + ", ".join(f"{f.name} ({f.suffix}: {f.runs_on})" for f in EXPORT_FORMATS.values()))
    export.add_argument("--model", required=True, metavar="M", help="livepose checkpoint (.pt)")
    export.add_argument("--format", default="onnx", choices=sorted(EXPORT_FORMATS), help="target format")
    export.add_argument("--out", metavar="FILE", help="output file (default: the model path with the format's "
                        "suffix)")
    export.set_defaults(func=run_export)

    imp = subparsers.add_parser("import-official",
                                help="turn official A2J weights (NYU.pth, ...) into a livepose checkpoint",
                                description="Read official A2J weights with strict key checking and write a "
                                "livepose checkpoint carrying the dataset's layout, crop and normalisation.")
    imp.add_argument("weights", metavar="WEIGHTS.pth", help="official A2J weights")
    imp.add_argument("--dataset", required=True, choices=sorted(OFFICIAL_MODELS), help="dataset they were "
                     "trained on")
    imp.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.pt)")
    imp.set_defaults(func=run_import_official)


def run_export(args: argparse.Namespace) -> int:
    from livepose.runtime.checkpoint import load_checkpoint
    from livepose.runtime.export import export_checkpoint

    checkpoint = load_checkpoint(args.model)
    out = export_checkpoint(checkpoint, args.format, args.out)
    sys.stdout.write(f"{out}\n")
    return 0


def run_import_official(args: argparse.Namespace) -> int:
    from livepose.a2j import load_official
    from livepose.runtime.checkpoint import save_checkpoint

    profile = load_profile(args.dataset)
    if profile.crop is None or profile.layout is None:
        raise LivePoseError(f"dataset {args.dataset!r} has no crop or layout; expected one of "
                            f"{', '.join(n for n in profile_names() if n in OFFICIAL_MODELS)}")
    joints, is_3d = OFFICIAL_MODELS[args.dataset]
    model = load_official(args.weights, num_joints=joints, is_3d=is_3d)
    training = {"source": "official A2J weights (zhangboshen/A2J)", "weights_file": str(args.weights),
                "dataset": args.dataset}
    out = save_checkpoint(args.out, model, layout=profile.layout, crop=profile.crop, training=training)
    sys.stdout.write(f"{out}\n")
    return 0
