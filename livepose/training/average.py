"""``livepose average-weights``: one model whose weights are the (weighted) mean of several runs' weights.

Runs that start from the same weights and train side by side (different seeds, learning rates) end in
the same basin; the mean of their weights (a "model soup", Wortsman et al. 2022, or stochastic weight
averaging across runs) is usually more accurate than any one of them, at the cost of none at run time.
Measured on the shipped hand model's phases: see docs/training_history.md.

What is averaged: every floating-point tensor of the state dict, in float64 and stored back as float32,
batch-norm running means and variances included (the mean of the variances, an approximation that is close
when the runs share their data). Integer tensors (batch-norm ``num_batches_tracked``) are the largest of the
runs'. The inputs must agree on the architecture, the layout and the crop (the network's input protocol);
anything else is refused in one line naming the file.

The output is a livepose checkpoint like a run's ``model.pt`` (float32), which ``livepose package-model``
scores and ships. Its ``training`` entry says where it came from (:func:`averaged_training_summary`).

Called from the main thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

SUMMED_FIELDS = ("steps", "seconds")


def _check_compatible(first: Checkpoint, other: Checkpoint) -> None:
    """Refuse ``other`` (one line naming its file) unless it has ``first``'s network and input protocol."""
    checks = (("architecture", first.config.to_dict(), other.config.to_dict()),
              ("layout", first.layout, other.layout),
              ("crop", first.crop.to_dict(), other.crop.to_dict()))
    for what, expected, found in checks:
        if expected != found:
            raise LivePoseError(f"{other.path}: its {what} differs from {first.path}'s; only runs of one "
                                "architecture, layout and crop can be averaged")


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]],
                        weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """The weighted mean of ``states`` (same keys and shapes): float tensors averaged (float32 out),
    integer tensors the largest. ``weights`` are normalised to sum to 1."""
    total = float(sum(weights))
    averaged: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            mean = sum(w / total * state[key].double() for w, state in zip(weights, states, strict=True))
            averaged[key] = mean.float()
        else:
            averaged[key] = torch.stack([state[key] for state in states]).amax(dim=0)
    return averaged


def _seeds(training: dict[str, Any]) -> list[Any]:
    """An entry's seeds as a flat list (an average's entry already holds a list)."""
    seed = training.get("seed")
    return list(seed) if isinstance(seed, list) else [seed]


def averaged_training_summary(checkpoints: Sequence[Checkpoint], weights: Sequence[float]) -> dict[str, Any]:
    """The ``training`` entry of an averaged checkpoint: ``averaged_from`` lists each input (path, weight and
    its own training entry, see :meth:`Checkpoint.training_record`); ``steps`` and ``seconds`` are the inputs' together
    (the work that went into this step), ``seed`` the flat list of their seeds; fields all inputs share
    (``data``, ``hardware`` ...) are kept."""
    trainings = [checkpoint.training_record() for checkpoint in checkpoints]
    shared = {key: value for key, value in trainings[0].items()
              if key not in ("recipe", "seed", "averaged_from", *SUMMED_FIELDS)
              and all(t.get(key) == value for t in trainings)}
    summary: dict[str, Any] = {
        **shared,
        "seed": [seed for training in trainings for seed in _seeds(training)],
        "averaged_from": [{"path": str(checkpoint.path), "weight": weight, **training}
                          for checkpoint, weight, training in zip(checkpoints, weights, trainings, strict=True)],
    }
    for key in SUMMED_FIELDS:
        values = [training.get(key) for training in trainings]
        if all(isinstance(value, (int, float)) for value in values):
            summary[key] = sum(values)
    return summary


def average_checkpoints(paths: Sequence[str | Path], out: str | Path,
                        weights: Sequence[float] | None = None) -> Path:
    """Write ``out``: a float32 checkpoint whose weights are the weighted mean of ``paths``' weights.

    ``weights`` (one per path, positive; default all 1) are normalised to sum to 1."""
    if len(paths) < 2:
        raise LivePoseError(f"average-weights needs at least two checkpoints, got {len(paths)}")
    weights = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(weights) != len(paths):
        raise LivePoseError(f"--weights: {len(weights)} values for {len(paths)} checkpoints; give one per checkpoint")
    if any(not (w > 0 and math.isfinite(w)) for w in weights):
        raise LivePoseError(f"--weights: {weights} - each weight must be a positive, finite number")
    checkpoints = [load_checkpoint(path) for path in paths]
    for checkpoint in checkpoints[1:]:
        _check_compatible(checkpoints[0], checkpoint)
    averaged = replace(checkpoints[0],
                       state_dict=average_state_dicts([checkpoint.state_dict for checkpoint in checkpoints], weights))
    return save_checkpoint(out, averaged.build_model("cpu"), averaged.layout, averaged.crop,
                           training=averaged_training_summary(checkpoints, weights))
