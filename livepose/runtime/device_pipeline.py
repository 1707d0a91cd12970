"""The CUDA fast path: frame upload, crop, network, anchor decoding and mapping back, all on the GPU.

Per call (one or B frames of the same size)::

    host:  frames -> pinned staging buffer, crop boxes (official float32 maths, numpy) -> pinned
    GPU:   async H2D copies -> [graph 1: crop + nearest resize + depth band + normalise]
           -> [graph 2: FP16 channels-last network (BatchNorm folded), FP32 anchor decoding,
               confidence, crop -> image -> camera mm] -> async D2H copies into pinned buffers
    host:  wait on one CUDA event, copy the (B, J, 10) result and the (B, A, J) anchor weights out

- **Precision**: the network runs in FP16 (``precision="fp32"`` opts out);
  head outputs are cast to FP32 before the softmax vote, so decoding and
  everything after it is FP32.
- **cuDNN autotuning** (``torch.backends.cudnn.benchmark = True``, a process-wide
  setting) and **channels-last** tensors for the convolutions.
- **CUDA graphs**: both graphs are captured per (batch, frame height, frame
  width) on first use (after 3 warm-up runs) and replayed with one launch each
  afterwards: the first frame of a new size takes about a second.
- **Memory**: staging and result buffers are pinned; copies are asynchronous on
  the pipeline's own stream and the host waits once per call.

The same class runs on the CPU (``device="cpu"``: FP32, no graphs, no pinned
memory) so that its crop, decoding and uncrop can be tested against the numpy
path on machines without a GPU; use the ``onnxruntime`` backend for speed there.

Threads: one thread at a time (the inference worker); it may differ from the
thread that built the pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from livepose.a2j.anchors import ANCHOR_STRIDE, anchor_grid, decode
from livepose.a2j.model import A2J
from livepose.calibration import CropSettings
from livepose.errors import LivePoseError
from livepose.runtime.backend import Backend, NetworkOutput
from livepose.runtime.decode import crop_to_camera, joint_confidence
from livepose.runtime.device_crop import crop_frames
from livepose.runtime.fuse import fuse_conv_bn
from livepose.runtime.graphs import GraphCache

PACKED = 10  # per joint: crop u, v, d; image u, v, d; camera x, y, z; confidence
PARAMS = 9  # per frame: box x_min, y_min, x_max, y_max; centre depth; fx, fy, cx, cy


@dataclass(frozen=True)
class FrameBatchResult:
    """What :meth:`DevicePipeline.run_frames` returns for B frames (numpy, host memory, owned by the caller).

    Attributes:
        joints_crop: (B, J, 3) float32 crop u, v (px) and network depth.
        joints_uvd: (B, J, 3) float32 image u, v (px) and depth (mm).
        joints_mm: (B, J, 3) float32 camera frame, mm (x right, y down, z forward).
        confidence: (B, J) float32 in [0, 1].
        anchor_weights: (B, A, J) float32 softmax weights.
        timings_ms: ``crop`` (host staging + upload + GPU crop), ``network`` (network + decoding + uncrop on the
            GPU), ``uncrop`` (download + unpacking) for the whole batch.
    """

    joints_crop: np.ndarray
    joints_uvd: np.ndarray
    joints_mm: np.ndarray
    confidence: np.ndarray
    anchor_weights: np.ndarray
    timings_ms: dict[str, float]


class _NetBuffers:
    """Static tensors of one batch size: the crops in, the per-frame parameters, the results out."""

    def __init__(self, batch: int, crop: CropSettings, joints: int, anchors: int, device: torch.device,
                 pinned: bool) -> None:
        def host(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.float32, pin_memory=pinned)

        def dev(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.float32, device=device)

        self.crops = dev(batch, 1, crop.height, crop.width)
        self.params = dev(batch, PARAMS)
        self.params[:, 5:7] = 1.0  # focal lengths of 1 until real ones arrive: no division by zero in infer()
        self.packed = dev(batch, joints, PACKED)
        self.weights = dev(batch, anchors, joints)
        self.host_crops = host(batch, 1, crop.height, crop.width)
        self.host_params = host(batch, PARAMS)
        self.host_packed = host(batch, joints, PACKED)
        self.host_weights = host(batch, anchors, joints)


class _FrameBuffers:
    """Static tensors of one (batch, height, width): the uploaded frames."""

    def __init__(self, batch: int, height: int, width: int, device: torch.device, pinned: bool) -> None:
        self.frames = torch.zeros((batch, height, width), dtype=torch.float32, device=device)
        self.host_frames = torch.zeros((batch, height, width), dtype=torch.float32, pin_memory=pinned)


class DevicePipeline(Backend):
    """Crop, network, decoding and uncrop on one torch device (see the module docstring).

    Args:
        model: the A2J network (3D; not modified: a folded copy is made).
        crop: its centre-crop settings.
        device: ``"cuda"``, ``"cuda:N"``, or ``"cpu"`` (tests).
        precision: ``"fp16"`` (CUDA only) or ``"fp32"``.
        graphs: capture CUDA graphs (default: on CUDA).
        fuse: fold BatchNorm into the convolutions.
    """

    name = "cuda-graph"
    crops_on_device = True

    def __init__(self, model: A2J, crop: CropSettings, device: str = "cuda", precision: str = "fp16",
                 graphs: bool | None = None, fuse: bool = True) -> None:
        self.torch_device = torch.device(device)
        is_cuda = self.torch_device.type == "cuda"
        if is_cuda and not torch.cuda.is_available():
            raise LivePoseError(f"device {device!r}: no CUDA device here (torch.cuda.is_available() is False)")
        if precision not in ("fp16", "fp32"):
            raise LivePoseError(f"precision {precision!r}: expected fp16 or fp32")
        if precision == "fp16" and not is_cuda:
            raise LivePoseError("fp16 needs a CUDA device (the CPU runs fp32)")
        if crop.method != "centre":
            raise LivePoseError("the CUDA pipeline handles centre (hand) crops")
        if not model.config.is_3d:
            raise LivePoseError("the CUDA pipeline needs a 3D model (one with a depth head)")
        if is_cuda:
            torch.backends.cudnn.benchmark = True  # process-wide: autotune convolutions for the fixed shapes
            self.torch_device = torch.device("cuda", self.torch_device.index or 0)
        self.device = str(self.torch_device)
        self.precision = precision
        self.crop = crop
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.channels_last = is_cuda
        network = fuse_conv_bn(model) if fuse else model
        network = network.to(self.torch_device, self.dtype).eval()
        if self.channels_last:
            network = network.to(memory_format=torch.channels_last)
        self.model = network
        self.num_joints = model.config.num_joints
        rows, cols = -(-crop.height // ANCHOR_STRIDE), -(-crop.width // ANCHOR_STRIDE)
        self.anchors = anchor_grid(rows, cols, device=self.torch_device, dtype=torch.float32)  # (A, 2) row, col
        self._pinned = is_cuda
        self._stream = torch.cuda.Stream(self.torch_device) if is_cuda else None
        self._graphs = GraphCache(self.torch_device, enabled=is_cuda if graphs is None else graphs,
                                  stream=self._stream)
        self._net: dict[int, _NetBuffers] = {}
        self._frames: dict[tuple[int, int, int], _FrameBuffers] = {}
        self._eager_ms = (0.0, 0.0)  # crop and network times of the last call off CUDA

    # -- buffers ----------------------------------------------------------------------------------------------
    def _net_buffers(self, batch: int) -> _NetBuffers:
        if batch not in self._net:
            self._net[batch] = _NetBuffers(batch, self.crop, self.num_joints, self.anchors.shape[0],
                                           self.torch_device, self._pinned)
        return self._net[batch]

    def _frame_buffers(self, batch: int, height: int, width: int) -> _FrameBuffers:
        key = (batch, height, width)
        if key not in self._frames:
            if len(self._frames) >= 4:  # a few frame sizes at most; drop the oldest buffers and graphs
                self._frames.pop(next(iter(self._frames)))
                self._graphs.clear()
            self._frames[key] = _FrameBuffers(batch, height, width, self.torch_device, self._pinned)
        return self._frames[key]

    # -- the two captured stages ------------------------------------------------------------------------------
    def _crop_stage(self, frames: _FrameBuffers, net: _NetBuffers) -> None:
        params = net.params
        net.crops.copy_(crop_frames(frames.frames, params[:, 0:4], params[:, 4], self.crop))

    def _network_stage(self, net: _NetBuffers) -> None:
        x = net.crops.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        heads = self.model.forward_heads(x)
        joints, weights = decode(heads.classification.float(), heads.offsets.float(), heads.depth.float(),
                                 self.anchors)
        confidence = joint_confidence(weights, joints[..., :2], self.anchors)
        params = net.params
        uvd, xyz = crop_to_camera(joints, params[:, 0:4], params[:, 4], params[:, 5:9], self.crop)
        net.packed.copy_(torch.cat((joints, uvd, xyz, confidence[..., None]), dim=-1))
        net.weights.copy_(weights)

    # -- entry points -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def run_frames(self, frames: list[np.ndarray], boxes: np.ndarray, centre_depth: np.ndarray,
                   cameras: np.ndarray) -> FrameBatchResult:
        """Crop, predict and map back one crop per frame.

        Args:
            frames: B arrays (H, W) of depth in mm (float32, or anything numpy converts), all the same size.
            boxes: (B, 4) clipped crop bounds (x_min, y_min, x_max, y_max) from
                :func:`livepose.detect.crop.centre_box`, each holding at least one pixel.
            centre_depth: (B,) crop centre depths, mm.
            cameras: (B, 4) fx, fy, cx, cy of each frame.
        """
        batch = len(frames)
        height, width = frames[0].shape
        if any(f.shape != (height, width) for f in frames):
            raise LivePoseError("run_frames: every frame of a batch must have the same size")
        t0 = time.perf_counter()
        net = self._net_buffers(batch)
        buffers = self._frame_buffers(batch, height, width)
        host_frames = buffers.host_frames.numpy()
        for i, frame in enumerate(frames):
            np.copyto(host_frames[i], frame, casting="unsafe")
        params = net.host_params.numpy()
        params[:, 0:4] = boxes
        params[:, 4] = centre_depth
        params[:, 5:9] = cameras
        t1 = time.perf_counter()
        events = self._launch(("frames", batch, height, width), buffers, net)
        t2 = time.perf_counter()
        packed = net.host_packed.numpy().copy()
        weights = net.host_weights.numpy().copy()
        t3 = time.perf_counter()
        if events is not None:
            crop_ms, network_ms, download_ms = (a.elapsed_time(b) for a, b in zip(events, events[1:], strict=False))
            timings = {"crop": (t1 - t0) * 1e3 + crop_ms, "network": network_ms,
                       "uncrop": download_ms + (t3 - t2) * 1e3}
        else:
            timings = {"crop": (t1 - t0) * 1e3 + self._eager_ms[0], "network": self._eager_ms[1],
                       "uncrop": (t3 - t2) * 1e3}
        return FrameBatchResult(joints_crop=packed[..., 0:3], joints_uvd=packed[..., 3:6], joints_mm=packed[..., 6:9],
                                confidence=packed[..., 9], anchor_weights=weights, timings_ms=timings)

    def _launch(self, key: Any, buffers: _FrameBuffers, net: _NetBuffers) -> list | None:
        """Upload, crop, network, download; wait. Returns the CUDA timing events (None off CUDA)."""
        if self._stream is None:
            t0 = time.perf_counter()
            buffers.frames.copy_(buffers.host_frames)
            net.params.copy_(net.host_params)
            self._crop_stage(buffers, net)
            t1 = time.perf_counter()
            self._network_stage(net)
            net.host_packed.copy_(net.packed)
            net.host_weights.copy_(net.weights)
            self._eager_ms = ((t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3)
            return None
        events = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
        with torch.cuda.device(self.torch_device), torch.cuda.stream(self._stream):
            events[0].record()
            buffers.frames.copy_(buffers.host_frames, non_blocking=True)
            net.params.copy_(net.host_params, non_blocking=True)
            self._graphs.run(("crop", *key), lambda: self._crop_stage(buffers, net))
            events[1].record()
            self._graphs.run(("network", net.crops.shape[0]), lambda: self._network_stage(net))
            events[2].record()
            net.host_packed.copy_(net.packed, non_blocking=True)
            net.host_weights.copy_(net.weights, non_blocking=True)
            events[3].record()
        events[3].synchronize()
        return events

    @torch.no_grad()
    def infer(self, inputs: np.ndarray) -> NetworkOutput:
        """Network and decoding only, on (B, 1, H, W) float32 crops made elsewhere (for parity checks and timing)."""
        batch = inputs.shape[0]
        net = self._net_buffers(batch)
        np.copyto(net.host_crops.numpy(), inputs, casting="unsafe")
        if self._stream is None:
            net.crops.copy_(net.host_crops)
            self._network_stage(net)
            return NetworkOutput(net.packed[..., 0:3].numpy().copy(), net.weights.numpy().copy())
        with torch.cuda.device(self.torch_device), torch.cuda.stream(self._stream):
            net.crops.copy_(net.host_crops, non_blocking=True)
            self._graphs.run(("network", batch), lambda: self._network_stage(net))
            net.host_packed.copy_(net.packed, non_blocking=True)
            net.host_weights.copy_(net.weights, non_blocking=True)
            done = torch.cuda.Event()
            done.record()
        done.synchronize()
        return NetworkOutput(net.host_packed.numpy()[..., 0:3].copy(), net.host_weights.numpy().copy())

    def close(self) -> None:
        self._graphs.clear()
        self._net.clear()
        self._frames.clear()
