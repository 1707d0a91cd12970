"""Flip test: run each crop and its mirror image through the network and average the two answers.

A standard test-time step in pose estimation: the network sees the subject
twice, once mirrored (crop columns reversed). The mirrored prediction is
mapped back (``u -> width - 1 - u``: crop pixel ``i`` samples crop coordinate
``i``, see :func:`livepose.detect.crop.resize_nearest`) and its left and
right joints are swapped (:attr:`livepose.skeletons.Layout.flip_pairs`; a
hand has none: a mirrored right hand is a left hand, and the hand models
are trained on both). Depth is unchanged by a mirror.

Whether a model runs it is its crop's ``flip_test`` setting
(:class:`livepose.calibration.CropSettings`), so the checkpoint, its ONNX
export and every host path (:class:`~livepose.runtime.predictor.Predictor`,
:func:`livepose.evaluation.model_eval.predict_split`) agree.

Pure functions, any thread (the backend itself serves one thread at a time).
"""

from __future__ import annotations

import numpy as np

from livepose.runtime.backend import Backend, NetworkOutput

# Command-line choices (``livepose evaluate --flip-test``, ``livepose package-model --flip-test``).
FLIP_TEST_CHOICES = {"model": None, "on": True, "off": False}


def flip_test_choice(choice: str | None) -> bool | None:
    """``"on"`` -> True, ``"off"`` -> False, ``"model"`` or None -> None (as the checkpoint's crop has it)."""
    return FLIP_TEST_CHOICES[choice or "model"]


def flip_permutation(flip_pairs: tuple[tuple[int, int], ...], num_joints: int) -> np.ndarray:
    """(J,) joint order of a mirrored prediction: index ``j`` reads joint ``perm[j]`` (left and right swapped)."""
    perm = np.arange(num_joints)
    for left, right in flip_pairs:
        perm[left], perm[right] = right, left
    return perm


def with_mirrors(inputs: np.ndarray) -> np.ndarray:
    """(B, 1, H, W) crops -> (2B, 1, H, W): the crops, then each one mirrored (columns reversed)."""
    return np.concatenate([inputs, inputs[..., ::-1]], axis=0)


def merge_mirrored(out: NetworkOutput, width: int, perm: np.ndarray) -> NetworkOutput:
    """Average the network's answers for :func:`with_mirrors` crops.

    Args:
        out: joints (2B, J, 3) u, v (crop px), depth (network unit); anchor_weights (2B, A, J).
        width: crop width in pixels.
        perm: (J,) from :func:`flip_permutation`.

    Returns:
        joints (B, J, 3): the mean of the plain and the mapped-back mirrored answers; anchor_weights (B, A, J):
        the plain crops' (the anchors the viewer draws and the confidence are read from the unmirrored view).
    """
    count = out.joints.shape[0] // 2
    mirrored = out.joints[count:][:, perm].copy()
    mirrored[..., 0] = (width - 1) - mirrored[..., 0]
    joints = ((out.joints[:count] + mirrored) * 0.5).astype(np.float32)
    return NetworkOutput(joints, out.anchor_weights[:count])


def infer_crops(backend: Backend, inputs: np.ndarray, flip_test: bool, perm: np.ndarray) -> NetworkOutput:
    """Run ``backend`` on (B, 1, H, W) normalised crops, with the flip test when ``flip_test`` (one batch of 2B).

    Returns:
        joints (B, J, 3) and anchor weights (B, A, J), as :meth:`Backend.infer`.
    """
    if not flip_test:
        return backend.infer(inputs)
    return merge_mirrored(backend.infer(with_mirrors(inputs)), inputs.shape[-1], perm)
