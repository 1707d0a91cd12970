"""From a depth frame and a centre to 3D joints: crop, network, uncrop.

:class:`Predictor` wraps an inference backend (:mod:`livepose.runtime.backend`)
with the crop and normalisation the model was trained with. On host backends
(``torch``, ``onnxruntime``) the crop is the numpy/OpenCV official protocol
(:func:`livepose.detect.crop.crop_hand`) and the mapping back is
:func:`~livepose.detect.crop.crop_to_image`; the ``cuda-graph`` backend does
both on the GPU with the same arithmetic (:mod:`livepose.runtime.device_pipeline`).

Building: :meth:`Predictor.from_checkpoint` takes a ``.pt`` checkpoint, a
loaded :class:`~livepose.runtime.checkpoint.Checkpoint` or an exported
``.onnx`` file, and picks the backend with :func:`livepose.runtime.select.resolve_backend`
(``device``, ``precision``, ``backend``). ``Predictor(model, layout, crop, device)``
still wraps a network in the eager ``torch`` backend.

Threads: one instance serves one thread at a time (the inference worker); it
may be built on another thread. Build one per thread if you need more. At
interpreter exit a prediction still running on another thread is waited for
(up to 30 s) and no new one starts, so a native runtime is never torn down
under a thread (ONNX Runtime would abort the process).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from livepose.a2j.anchors import ANCHOR_STRIDE, anchor_grid
from livepose.a2j.model import A2J, A2JConfig
from livepose.calibration import CropSettings
from livepose.camera import Intrinsics
from livepose.detect.crop import Crop, centre_box, check_depth, crop_box, crop_hand, crop_to_image
from livepose.errors import LivePoseError
from livepose.runtime.backend import Backend
from livepose.runtime.checkpoint import Checkpoint, load_checkpoint
from livepose.runtime.decode import CONFIDENCE_SPREAD_PX, joint_confidence_np
from livepose.runtime.device_crop import check_boxes
from livepose.runtime.flip_test import flip_permutation, infer_crops
from livepose.runtime.select import resolve_backend
from livepose.runtime.torch_backend import TorchBackend
from livepose.skeletons import get_layout

__all__ = ["CONFIDENCE_SPREAD_PX", "Prediction", "Predictor"]

log = logging.getLogger(__name__)

EXIT_WAIT_S = 30.0  # at interpreter exit, how long to wait for a prediction in flight on another thread
_LIVE: weakref.WeakSet[Predictor] = weakref.WeakSet()


def _park_predictors_at_exit() -> None:
    """Let a prediction in flight on a daemon thread (an engine whose stop timed out) finish, then hold every
    predictor's lock so that none starts again: native runtimes (ONNX Runtime's thread pools, CUDA) abort the
    process if they are torn down while a thread is inside them."""
    for predictor in list(_LIVE):
        predictor._lock.acquire(timeout=EXIT_WAIT_S)


atexit.register(_park_predictors_at_exit)


@dataclass(frozen=True)
class Prediction:
    """Joints for one crop.

    Attributes:
        joints_uvd: (J, 3) image u, v (px) and depth (mm).
        joints_mm: (J, 3) camera frame, millimetres (x right, y down, z forward).
        confidence: (J,) in [0, 1]: exp(-spread / 12 px), spread being the weighted RMS distance of
            the anchors' votes from the joint in crop pixels.
        anchor_weights: (A, J) softmax weights.
        crop: where the network input came from.
        timings_ms: ``crop``, ``network``, ``uncrop`` durations (of the whole batch for
            :meth:`Predictor.predict_many`). ``network`` includes the anchor decoding (fused into the
            exported graph / the CUDA graph); ``uncrop`` is confidence and the mapping back.
    """

    joints_uvd: np.ndarray
    joints_mm: np.ndarray
    confidence: np.ndarray
    anchor_weights: np.ndarray
    crop: Crop
    timings_ms: dict[str, float]


def _host_only(crop: CropSettings) -> str:
    """Why ``crop`` must be cut and run on a host backend (``torch``, ``onnxruntime``), not by the cuda-graph
    pipeline, which cuts centre crops on the GPU without a flip test: ``"box (body) crops"``,
    ``"flip test (crop setting flip_test)"``, both, or ``""`` when nothing stops it."""
    reasons = (["box (body) crops"] if crop.method == "box" else []) + \
        (["flip test (crop setting flip_test)"] if crop.flip_test else [])
    return " and ".join(reasons)


class Predictor:
    """Runs an A2J model on crops of depth frames (millimetre depth): hand models on centre crops
    (:meth:`predict`, :meth:`predict_many`), body models on pixel boxes (:meth:`predict_box`).

    A model whose crop has ``flip_test`` runs each crop and its mirror image in one batch and averages the
    joints (:mod:`livepose.runtime.flip_test`); the confidence and anchor weights are the unmirrored crop's.

    Args:
        model: the network for the default eager ``torch`` backend, or None when ``backend`` is given.
        layout: joint layout name.
        crop: the crop and normalisation the model was trained with (``"centre"``, or ``"box"`` on the
            host backends ``torch`` and ``onnxruntime``).
        device: torch device of the eager backend.
        name: a display name (file name).
        backend: a ready backend; then ``model`` is only kept as :attr:`model`.

    Attributes:
        model: the torch network when there is one (None for ONNX Runtime).
        backend: the :class:`~livepose.runtime.backend.Backend` that runs it.
        layout, crop_settings, device (a ``torch.device``), name.
    """

    def __init__(self, model: A2J | None, layout: str, crop: CropSettings, device: str = "cpu",
                 name: str = "model", backend: Backend | None = None) -> None:
        if backend is None:
            if model is None:
                raise ValueError("Predictor needs a model or a backend")
            backend = TorchBackend(model, device)
            model = backend.model
        host_only = _host_only(crop)
        if host_only and backend.crops_on_device:
            raise LivePoseError(f"{name}: {host_only} run on the torch and onnxruntime backends, "
                                f"not on {backend.label}")
        self.backend = backend
        self.model = model
        self.layout = layout
        self.crop_settings = crop
        self.device = torch.device(backend.device)
        self.name = name
        rows, cols = -(-crop.height // ANCHOR_STRIDE), -(-crop.width // ANCHOR_STRIDE)
        self._anchors = anchor_grid(rows, cols).numpy()  # (A, 2) row, column; for the host confidence
        joint_layout = get_layout(layout)
        self._flip_perm = flip_permutation(joint_layout.flip_pairs, joint_layout.num_joints)
        self._lock = threading.Lock()  # held during a prediction; taken for good at interpreter exit
        _LIVE.add(self)

    # -- building ---------------------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint | str | Path, device: str = "cpu", precision: str = "auto",
                        backend: str = "auto") -> Predictor:
        """Load a ``.pt`` checkpoint (or a loaded one) or an exported ``.onnx`` file on the chosen backend.

        Args:
            checkpoint: the model.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
            precision: ``"auto"``, ``"fp32"`` or ``"fp16"`` (CUDA).
            backend: ``"auto"``, ``"torch"``, ``"onnxruntime"`` or ``"cuda-graph"``
                (see :mod:`livepose.runtime.select`).
        """
        path = None if isinstance(checkpoint, Checkpoint) else Path(checkpoint)
        choice = resolve_backend(path, device, backend, precision)
        if path is not None and path.suffix.lower() == ".onnx":
            return cls._from_onnx(path, choice.device)
        if not isinstance(checkpoint, Checkpoint):
            checkpoint = load_checkpoint(checkpoint)
        name = checkpoint.path.name if checkpoint.path is not None else "model"
        if choice.backend == "onnxruntime":
            from livepose.runtime.onnx_backend import OnnxRuntimeBackend
            from livepose.runtime.onnx_cache import onnx_bytes

            try:
                runtime = OnnxRuntimeBackend(onnx_bytes(checkpoint), choice.device)
            except Exception as exc:  # auto falls back to eager torch rather than refusing to run
                if backend != "auto":
                    raise
                log.warning("ONNX Runtime unavailable for %s (%s): using eager PyTorch", name, exc)
            else:
                return cls(None, checkpoint.layout, checkpoint.crop, name=name, backend=runtime)
            choice = resolve_backend(None, device, "torch", "fp32")
        host_only = _host_only(checkpoint.crop)
        if choice.backend == "cuda-graph" and host_only:
            if backend != "auto":
                raise LivePoseError(f"{name}: the cuda-graph backend crops hands on the GPU without a flip test; "
                                    f"this model's {host_only} run with --backend torch")
            choice = resolve_backend(None, device, "torch", precision)
        if choice.backend == "cuda-graph":
            from livepose.runtime.device_pipeline import DevicePipeline

            pipeline = DevicePipeline(checkpoint.build_model("cpu"), checkpoint.crop, choice.device, choice.precision)
            return cls(pipeline.model, checkpoint.layout, checkpoint.crop, name=name, backend=pipeline)
        eager = TorchBackend(checkpoint.build_model(choice.device), choice.device, choice.precision)
        return cls(eager.model, checkpoint.layout, checkpoint.crop, name=name, backend=eager)

    @classmethod
    def _from_onnx(cls, path: Path, device: str) -> Predictor:
        from livepose.runtime.export import read_onnx_metadata
        from livepose.runtime.onnx_backend import OnnxRuntimeBackend
        from livepose.skeletons import get_layout

        if not path.is_file():
            raise LivePoseError(f"{path}: no such file")
        meta = read_onnx_metadata(path)
        try:
            config = A2JConfig.from_dict(meta["model"])
            layout = str(meta["layout"])
            crop = CropSettings.from_dict(meta["crop"], source=str(path))
        except (KeyError, TypeError) as exc:
            raise LivePoseError(f"{path}: livepose metadata lacks {exc}") from None
        if get_layout(layout).num_joints != config.num_joints:
            raise LivePoseError(f"{path}: layout {layout} does not have {config.num_joints} joints")
        return cls(None, layout, crop, name=path.name, backend=OnnxRuntimeBackend(path, device))

    # -- what runs it -----------------------------------------------------------------------------------------
    @property
    def precision(self) -> str:
        return self.backend.precision

    @property
    def label(self) -> str:
        """``"CPU onnxruntime FP32"``, ``"CUDA cuda-graph FP16"``... (for logs and the viewer HUD), with
        ``", flip test"`` after it when the model runs the flip test."""
        return self.backend.label + (", flip test" if self.crop_settings.flip_test else "")

    # -- predicting (the inference thread) --------------------------------------------------------------------
    def predict(self, depth_mm: np.ndarray, intrinsics: Intrinsics, centre_uvd: np.ndarray) -> Prediction:
        """Predict the joints of the hand around ``centre_uvd``.

        Args:
            depth_mm: (H, W) float32 depth in millimetres (0 = no reading).
            intrinsics: the frame's camera.
            centre_uvd: (3,) hand centre u, v (px) and depth (mm).
        """
        return self.predict_many([depth_mm], intrinsics, np.asarray(centre_uvd, dtype=np.float64)[None])[0]

    def predict_box(self, depth_mm: np.ndarray, intrinsics: Intrinsics,
                    box: tuple[float, float, float, float]) -> Prediction:
        """Predict the joints of the person inside ``box`` (a ``"box"`` crop model: bodies).

        Args:
            depth_mm: (H, W) depth in millimetres (0 = no reading).
            intrinsics: the frame's camera.
            box: (x_min, y_min, x_max, y_max) in image pixels, as found by
                :class:`~livepose.detect.centre.BodyBoxDetector` (clipped to the image for reading).
        """
        if self.crop_settings.method != "box":
            raise LivePoseError(f"{self.name}: a {self.crop_settings.method} crop model takes a centre, not a box")
        with self._lock:
            t0 = time.perf_counter()
            cropped = [crop_box(depth_mm, box, self.crop_settings)]
            return self._run_on_host(cropped, [intrinsics], t0)[0]

    def predict_many(self, depths: Sequence[np.ndarray], intrinsics: Intrinsics | Sequence[Intrinsics],
                     centres_uvd: np.ndarray) -> list[Prediction]:
        """One batched network call for B hands: B frames (or the same frame B times) and B centres.

        Args:
            depths: B arrays (H, W) of depth in mm.
            intrinsics: one camera for all, or one per frame.
            centres_uvd: (B, 3) centres u, v (px), depth (mm).

        Returns:
            B predictions; their ``timings_ms`` are those of the whole batch.
        """
        if self.crop_settings.method != "centre":
            raise LivePoseError(f"{self.name}: a {self.crop_settings.method} crop model takes a box "
                                "(Predictor.predict_box), not a centre")
        centres = np.asarray(centres_uvd, dtype=np.float64).reshape(-1, 3)
        cameras = [intrinsics] * len(depths) if isinstance(intrinsics, Intrinsics) else list(intrinsics)
        if not len(depths) == len(cameras) == len(centres) or not len(depths):
            raise LivePoseError(f"predict_many: {len(depths)} frames, {len(cameras)} cameras and {len(centres)} "
                                "centres; expected the same number, at least one")
        with self._lock:
            if self.backend.crops_on_device:
                return self._predict_on_device(depths, cameras, centres)
            return self._predict_on_host(depths, cameras, centres)

    def _predict_on_host(self, depths: Sequence[np.ndarray], cameras: list[Intrinsics],
                         centres: np.ndarray) -> list[Prediction]:
        t0 = time.perf_counter()
        cropped = [crop_hand(d, c, cam, self.crop_settings) for d, c, cam in zip(depths, centres, cameras,
                                                                                   strict=True)]
        return self._run_on_host(cropped, cameras, t0)

    def _run_on_host(self, cropped: list[tuple[np.ndarray, Crop]], cameras: list[Intrinsics],
                     t0: float) -> list[Prediction]:
        """Network, confidence and mapping back for B host crops (network input (H, W) and its Crop each);
        ``t0`` is when cropping began (for the ``crop`` timing)."""
        inputs = np.stack([normalised for normalised, _ in cropped])[:, None]
        t1 = time.perf_counter()
        out = infer_crops(self.backend, inputs, self.crop_settings.flip_test, self._flip_perm)
        t2 = time.perf_counter()
        confidence = joint_confidence_np(out.anchor_weights, out.joints[..., :2], self._anchors)
        results = []
        uvds = [crop_to_image(out.joints[i], crop) for i, (_, crop) in enumerate(cropped)]
        xyzs = [cam.uvd_to_xyz(uvd) for uvd, cam in zip(uvds, cameras, strict=True)]
        t3 = time.perf_counter()
        timings = {"crop": (t1 - t0) * 1e3, "network": (t2 - t1) * 1e3, "uncrop": (t3 - t2) * 1e3}
        for i, (_, crop) in enumerate(cropped):
            results.append(Prediction(uvds[i], xyzs[i], confidence[i], out.anchor_weights[i], crop, dict(timings)))
        return results

    def _predict_on_device(self, depths: Sequence[np.ndarray], cameras: list[Intrinsics],
                           centres: np.ndarray) -> list[Prediction]:
        frames = [check_depth(d) for d in depths]
        if len({f.shape for f in frames}) > 1:  # one batch needs one frame size: go one by one
            return [self._predict_on_device([f], [cam], c[None])[0] for f, cam, c in zip(frames, cameras, centres,
                                                                                        strict=True)]
        height, width = frames[0].shape
        settings = self.crop_settings
        boxes = np.array([centre_box(c, cam, settings.xy_thres_mm, (width, height))
                          for c, cam in zip(centres, cameras, strict=True)], dtype=np.float32)
        check_boxes(boxes, (width, height))
        centre_depth = centres[:, 2].astype(np.float32)
        intr = np.array([[cam.fx, cam.fy, cam.cx, cam.cy] for cam in cameras], dtype=np.float32)
        out = self.backend.run_frames(frames, boxes, centre_depth, intr)
        results = []
        for i in range(len(frames)):
            crop = Crop(*(float(b) for b in boxes[i]), centre_depth=float(centre_depth[i]), settings=settings)
            results.append(Prediction(out.joints_uvd[i].astype(np.float64), out.joints_mm[i].astype(np.float64),
                                      out.confidence[i], out.anchor_weights[i], crop, dict(out.timings_ms)))
        return results
