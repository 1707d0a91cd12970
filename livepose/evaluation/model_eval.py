"""Run a livepose checkpoint over a written synthetic split and score it.

The split is a folder from ``livepose synth ... --out DIR`` (:func:`livepose.synth.writer.write_split`):
16-bit depth PNGs, ``labels.json`` (camera-frame joints in mm, the palm or torso centre) and
``camera.json``. Hands are cropped around the split's true palm centre, as the published hand
benchmarks crop around given centres; bodies are boxed by :class:`~livepose.detect.centre.BodyBoxDetector`
on the frame, as ``livepose live`` does, falling back to the true joints' box grown by 150 mm where the
detector finds nobody (counted in :attr:`SplitPredictions.detector_misses`). Errors are in camera mm;
body results also carry ITOP's mAP at 10 cm. Called from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from livepose.camera import Intrinsics
from livepose.detect.centre import BodyBoxDetector
from livepose.detect.crop import crop_box, crop_hand, crop_to_image
from livepose.errors import LivePoseError
from livepose.evaluation.evaluate import evaluate_arrays
from livepose.evaluation.protocols import Protocol
from livepose.evaluation.result import EvaluationResult
from livepose.runtime.checkpoint import load_checkpoint
from livepose.runtime.flip_test import flip_permutation, infer_crops
from livepose.runtime.torch_backend import TorchBackend
from livepose.skeletons import get_layout
from livepose.synth.dataset import SplitFolder

BODY_FALLBACK_MARGIN_MM = 150.0


@dataclass(frozen=True)
class SplitPredictions:
    """Predicted and true joints of every frame of a split.

    Attributes:
        predicted_mm, labels_mm: (N, J, 3) camera frame, mm.
        layout: the joint layout name; camera: the split's intrinsics.
        detector_misses: body frames where the box detector found nobody (0 for hands).
    """

    predicted_mm: np.ndarray
    labels_mm: np.ndarray
    layout: str
    camera: Intrinsics
    detector_misses: int


def split_intrinsics(split: SplitFolder) -> Intrinsics:
    """The camera a split was rendered with (its ``camera.json``)."""
    import json

    values = json.loads((split.folder / "camera.json").read_text())["camera"]
    return Intrinsics.from_dict(values, source=str(split.folder / "camera.json"))


def _joints_box(joints_uvd: np.ndarray, intrinsics: Intrinsics) -> tuple[float, float, float, float]:
    grow = BODY_FALLBACK_MARGIN_MM * intrinsics.fx / float(np.mean(joints_uvd[:, 2]))
    return (float(joints_uvd[:, 0].min() - grow), float(joints_uvd[:, 1].min() - grow),
            float(joints_uvd[:, 0].max() + grow), float(joints_uvd[:, 1].max() + grow))


@torch.inference_mode()
def predict_split(model_path: str | Path, split_dir: str | Path, batch_size: int = 32,
                  progress: bool = True, flip_test: bool | None = None) -> SplitPredictions:
    """Run the checkpoint at ``model_path`` over every frame of the split at ``split_dir``.

    ``flip_test`` overrides the checkpoint's crop setting (None: as the model ships,
    :mod:`livepose.runtime.flip_test`)."""
    checkpoint = load_checkpoint(model_path)
    split = SplitFolder(split_dir)
    if split.layout != checkpoint.layout:
        raise LivePoseError(f"{split_dir}: a {split.layout} split, but {model_path} predicts {checkpoint.layout}")
    intrinsics = split_intrinsics(split)
    backend = TorchBackend(checkpoint.build_model("cpu"))
    crop_settings = checkpoint.crop
    flip = crop_settings.flip_test if flip_test is None else flip_test
    layout = get_layout(checkpoint.layout)
    perm = flip_permutation(layout.flip_pairs, layout.num_joints)
    detector = BodyBoxDetector() if crop_settings.method == "box" else None
    predicted, labels, misses = [], [], 0
    order = range(len(split))
    with tqdm(total=len(split), desc=f"evaluate {Path(model_path).name}", unit="frame", disable=not progress) as bar:
        for start in range(0, len(split), batch_size):
            inputs, crops = [], []
            for index in order[start:start + batch_size]:
                frame = split[index]
                depth_mm = frame["depth"].astype(np.float32) * split.depth_unit_mm
                if detector is None:
                    x, crop = crop_hand(depth_mm, frame["centre_uvd"], intrinsics, crop_settings)
                else:
                    found = detector.detect(depth_mm, intrinsics)
                    box = found.box if found.found else _joints_box(frame["joints_uvd"], intrinsics)
                    misses += 0 if found.found else 1
                    x, crop = crop_box(depth_mm, box, crop_settings)
                inputs.append(x)
                crops.append(crop)
                labels.append(frame["joints_mm"])
            out = infer_crops(backend, np.stack(inputs)[:, None], flip, perm).joints
            for joints, crop in zip(out, crops, strict=True):
                predicted.append(intrinsics.uvd_to_xyz(crop_to_image(joints, crop)))
            bar.update(len(inputs))
    return SplitPredictions(np.stack(predicted), np.stack(labels), split.layout, intrinsics, misses)


def evaluate_model_on_split(model_path: str | Path, split_dir: str | Path, progress: bool = True,
                            flip_test: bool | None = None) -> tuple[EvaluationResult, SplitPredictions]:
    """Score a checkpoint on a split (mean, per-joint error, success curve; mAP at 10 cm for bodies);
    ``flip_test`` as for :func:`predict_split`."""
    run = predict_split(model_path, split_dir, progress=progress, flip_test=flip_test)
    protocol = Protocol(dataset=f"synthetic {run.layout}", layout=get_layout(run.layout), intrinsics=run.camera,
                        world_metres=False)
    return evaluate_arrays(protocol, run.predicted_mm, run.labels_mm), run
