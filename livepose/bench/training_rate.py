"""Can the synthetic renderer keep up with training? Crops per second of each, in one process.

``livepose train --data synth-*`` renders every batch on the fly (:class:`livepose.training.data.SyntheticData`,
batched torch on the training device) and then runs one optimisation step on it. This times the two halves
apart, with the code the training loop runs (:func:`livepose.training.loop.step_batch` and
:func:`livepose.training.loop.optimise`), for the default architecture of ``livepose train`` at the shipped
models' 64x64 input:

- ``render_crops_per_s``: synthetic batches rendered and augmented (scene sampling, sensor model, crop);
- ``train_crops_per_s``: forward, loss, backward and Adam step on ready batches;
- ``render_over_train``: their ratio; above 1 the renderer is not what limits training.

CUDA is synchronised around every timed call. Reports, never judges. Main thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from livepose.skeletons import get_layout
from livepose.training.config import TrainConfig
from livepose.training.loop import build_data, build_model, new_optimiser, optimise, step_batch

KINDS = ("synth-hand", "synth-body")
INPUT_SIZE = 64  # the shipped models' input (see models/*.json)


def _timed(call: Callable[[int], object], device: torch.device, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls after one warm-up call."""
    call(-1)
    seconds = []
    for i in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        call(i)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - t0)
    return seconds


def measure_training_rate(kind: str, device: str, batch: int, repeats: int) -> dict:
    """Render and train rates for ``kind`` (``synth-hand`` or ``synth-body``) on ``device``, batches of ``batch``
    crops, medians over ``repeats`` timed batches each; returns one ``training_data`` row of the report."""
    place = torch.device(device)
    config = TrainConfig(data=kind, out="", input_size=INPUT_SIZE, batch_size=batch, device=place.type)
    data = build_data(config, place, world=1)
    model = build_model(config, get_layout(data.layout).num_joints).to(place).train()
    optimiser = new_optimiser(model, config, data.crop, place)
    render_s = _timed(lambda i: step_batch(data, config, i + 1, 0, place), place, repeats)
    ready = [step_batch(data, config, 10_000 + i, 0, place) for i in range(2)]
    train_s = _timed(lambda i: optimise(optimiser, *ready[i % 2], step=i), place, repeats)
    render = batch / float(np.median(render_s))
    train = batch / float(np.median(train_s))
    return {"kind": kind, "device": str(place), "batch": batch, "input_size": INPUT_SIZE,
            "backbone": config.backbone, "amp": optimiser.use_amp, "repeats": repeats,
            "render_crops_per_s": round(render, 2), "train_crops_per_s": round(train, 2),
            "render_over_train": round(render / train, 2)}
