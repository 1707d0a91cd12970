"""``livepose package-model``: turn a training run into a shipped model with its model card.

Reads a run's ``model.pt``, scores it on held-out synthetic splits (:mod:`livepose.evaluation.model_eval`),
and writes

- ``OUT.pt``: the checkpoint in half precision (weights loaded back as float32), its ``training`` entry
  holding the card;
- ``OUT.json``: the model card: architecture, file size, training data, seed, steps, time and hardware,
  the command that reproduces it, and the held-out figures (mean and per-joint error, success curve,
  and mAP at 10 cm for bodies). With ``flip_test`` the shipped crop runs the flip test
  (:mod:`livepose.runtime.flip_test`); the card's figures are then measured with it, and each split's
  ``without_flip_test`` entry gives the same model's figures without it.

Called from the main thread.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from livepose.errors import LivePoseError
from livepose.evaluation.model_eval import evaluate_model_on_split
from livepose.evaluation.result import EvaluationResult
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.synth.dataset import SplitFolder

logger = logging.getLogger(__name__)


def result_summary(result: EvaluationResult, split_dir: str | Path) -> dict[str, Any]:
    """The card's figures for one split: where it came from and what the model scored on it."""
    split = SplitFolder(split_dir)
    labels = json.loads((Path(split_dir) / "labels.json").read_text())
    summary: dict[str, Any] = {
        "split": {"kind": labels.get("kind"), "camera": labels.get("camera"), "seed": labels.get("seed"),
                  "frames": len(split), "noise": labels.get("noise"), "whole_body": bool(labels.get("whole_body"))},
        "mean_error_mm": round(result.mean_error_mm, 3),
        "per_joint_error_mm": {k: round(v, 3) for k, v in result.per_joint_error_mm.items()},
        "success_rate": {str(k): round(v, 4) for k, v in result.success_rate.items()},
    }
    if result.map_10cm is not None:
        summary["map_10cm"] = round(result.map_10cm, 3)
        summary["per_group_map_10cm"] = {k: round(v, 3) for k, v in result.per_group_map_10cm.items()}
    return summary


def package_model(model_path: str | Path, out: str | Path, splits: list[str | Path], name: str,
                  command: str = "", notes: str = "", extra: dict[str, Any] | None = None,
                  real_data: str | Path | None = None, overlay: str | Path | None = None,
                  flip_test: bool | None = None) -> dict[str, Any]:
    """Write ``out`` (.pt, half precision) and ``out`` with ``.json`` (the card); return the card.

    ``flip_test`` turns the shipped crop's flip test on or off (None: as in ``model_path``).
    With ``real_data`` (the ``../shared/data`` folder), hand models are also measured on the real NYU
    frame and, with ``overlay``, drawn on the real frames into that PNG."""
    out = Path(out)
    if out.suffix != ".pt":
        raise LivePoseError(f"{out}: expected a .pt output path")
    if not splits:
        raise LivePoseError("package-model needs at least one --split to report held-out figures")
    checkpoint = load_checkpoint(model_path)
    crop = checkpoint.crop if flip_test is None else replace(checkpoint.crop, flip_test=flip_test)
    evaluations = []
    for split_dir in splits:
        result, run = evaluate_model_on_split(model_path, split_dir, flip_test=crop.flip_test)
        summary = result_summary(result, split_dir)
        if run.detector_misses:
            summary["body_detector_misses"] = run.detector_misses
        if crop.flip_test:
            plain, _ = evaluate_model_on_split(model_path, split_dir, flip_test=False)
            summary["without_flip_test"] = {"mean_error_mm": round(plain.mean_error_mm, 3)}
            if plain.map_10cm is not None:
                summary["without_flip_test"]["map_10cm"] = round(plain.map_10cm, 3)
        evaluations.append(summary)
        logger.info("%s on %s: mean error %.2f mm", name, split_dir, result.mean_error_mm)
    model = checkpoint.build_model("cpu")
    parameters = sum(p.numel() for p in model.parameters())
    record = checkpoint.training_record()  # a re-packaged model's card gives its training, not the card
    card: dict[str, Any] = {
        "name": name,
        "layout": checkpoint.layout,
        "architecture": {**checkpoint.config.to_dict(), "input": f"{checkpoint.crop.width}x{checkpoint.crop.height}",
                         "parameters": parameters, "stored": "float16 weights, loaded as float32"},
        "crop": crop.to_dict(),
        "training": {k: v for k, v in record.items() if k != "recipe"},
        "recipe": record.get("recipe", {}),
        "reproduce": command,
        "held_out": evaluations,
        "notes": notes,
        **(extra or {}),
    }
    save_checkpoint(out, model, layout=checkpoint.layout, crop=crop, training={"card": card}, half=True)
    card["file_mb"] = round(out.stat().st_size / 2 ** 20, 2)
    if real_data is not None and checkpoint.layout == "hand21":
        from livepose.evaluation.real_frames import draw_real_overlays, nyu_frame_error

        # Measured on the shipped (half-precision) file, which is what users run.
        card["real_frames"] = {"nyu_frame_1": {k: v for k, v in nyu_frame_error(out, real_data).items()}}
        if overlay is not None:
            draw_real_overlays(out, real_data, overlay)
            card["real_frames"]["overlay"] = str(overlay)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card
