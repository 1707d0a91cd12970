"""``livepose bench``: the whole measurement, from inputs to the report dictionary (written as JSON).

For every model and device:

- ``results``: livepose's paths, raw frame in, camera-frame joints out, at
  batch 1 and batched: eager ``torch`` FP32, ``onnxruntime`` FP32 on the CPU;
  on CUDA eager FP32 / FP16 and the ``cuda-graph`` pipeline FP32 / FP16 (and
  ``onnxruntime`` when onnxruntime-gpu is installed).
- ``reference``: the official inference path (:mod:`livepose.bench.reference`), batch 1.
- ``eager_fp32``: the plain eager FP32 network on ready crops (network and
  vectorised decoding only), batch 1 and batched, for auditing.
- ``speedup_vs_reference``: per model and device, the fastest batch-1 row of
  ``results`` whose joints agree with FP32 eager (``parity``), over the
  reference's frame rate. Batch 1 on both sides: a live camera gives one frame
  at a time.
- ``parity``: every path (and the reference) against FP32 eager on the CPU,
  in camera mm, on synthetic and real frames.
- ``engine`` (``--engine``, and by default without ``--quick``): the engine's
  sustained input rate and latency (:mod:`livepose.bench.engine_rate`).
- ``training_data`` (``--training-data``, and by default without ``--quick``):
  synthetic crops rendered per second against crops trained per second, per
  kind and device (:mod:`livepose.bench.training_rate`).

TF32 is switched off on CUDA for the run, so FP32 rows are true FP32. Nothing
here judges speed: a slow machine gives slow figures, not a failure. Main
thread only.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from livepose.bench.inputs import BenchFrame, load_inputs
from livepose.bench.models import BenchModel, resolve_models
from livepose.bench.parity import check_path, check_reference, predict_all
from livepose.bench.reference import ReferencePath
from livepose.bench.timing import LoopSettings, row, time_interleaved
from livepose.detect.crop import crop_hand
from livepose.errors import LivePoseError
from livepose.runtime.predictor import Predictor
from livepose.runtime.select import onnxruntime_available, parse_device
from livepose.runtime.torch_backend import TorchBackend

log = logging.getLogger(__name__)

REPORT_VERSION = 1
NOT_HERE = {
    "openvino": "not a backend: on this project's 2-core AMD EPYC machine OpenVINO 2026.4 was within noise of ONNX "
                "Runtime (ResNet-18 A2J at 176x176: best of 15 680 vs 698 ms, ResNet-50 1296 vs 1190 ms, both "
                "under heavy load), not worth a 100+ MB dependency",
    "tensorrt": "documented only (README): export with `livepose export` and build an engine with trtexec --fp16, "
                "or use ONNX Runtime's TensorRT provider",
}


@dataclass
class BenchOptions:
    """What to measure (None: the mode's default, see :func:`run_bench`)."""

    quick: bool = False
    models: list[str] | None = None
    devices: list[str] | None = None
    batch: int | None = None
    engine: bool | None = None
    frames_folder: Path | None = None
    synthetic: int | None = None
    real: int | None = None
    seconds: float | None = None
    iterations: int | None = None
    threads: int | None = None
    int8: bool | None = None
    training_data: bool | None = None


def default_devices() -> list[str]:
    return ["cpu"] + (["cuda:0"] if torch.cuda.is_available() else [])


def fast_paths(device: str) -> list[tuple[str, str]]:
    """(backend, precision) pairs timed on ``device``."""
    if device == "cpu":
        return [("torch", "fp32")] + ([("onnxruntime", "fp32")] if onnxruntime_available() else [])
    paths = [("torch", "fp32"), ("torch", "fp16"), ("cuda-graph", "fp32"), ("cuda-graph", "fp16")]
    try:
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            paths.append(("onnxruntime", "fp32"))
    except ImportError:
        pass
    return paths


def device_name(device: str) -> str:
    """The hardware behind ``device``, in words."""
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        return (f"{props.name} ({props.total_memory / 2**30:.0f} GiB, compute {props.major}.{props.minor}, "
                f"CUDA {torch.version.cuda})")
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} logical CPUs; torch {torch.get_num_threads()} threads)"


def _loop(options: BenchOptions, device: str) -> LoopSettings:
    cuda = device.startswith("cuda")
    if options.quick:
        loop = LoopSettings(warmup=8 if cuda else 1, iterations=100 if cuda else 10,
                            budget_s=options.seconds or (1.0 if cuda else 2.5), min_iterations=3)
    else:
        loop = LoopSettings(warmup=25 if cuda else 3, iterations=1000 if cuda else 60,
                            budget_s=options.seconds or (4.0 if cuda else 10.0), min_iterations=5)
    if options.iterations is not None:
        loop = LoopSettings(warmup=min(loop.warmup, options.iterations), iterations=options.iterations,
                            budget_s=loop.budget_s, min_iterations=min(loop.min_iterations, options.iterations))
    return loop


def _predictor(checkpoint, device: str, backend: str, precision: str, threads: int | None) -> Predictor:
    """A predictor on one path; ONNX Runtime gets ``threads`` intra-op threads when given."""
    if backend == "onnxruntime" and threads is not None:
        from livepose.runtime.onnx_backend import OnnxRuntimeBackend
        from livepose.runtime.onnx_cache import onnx_bytes

        runtime = OnnxRuntimeBackend(onnx_bytes(checkpoint), device, threads=threads)
        return Predictor(None, checkpoint.layout, checkpoint.crop, backend=runtime)
    return Predictor.from_checkpoint(checkpoint, device=device, backend=backend, precision=precision)


def _frame_call(predictor: Predictor, frames: list[BenchFrame], batch: int) -> Callable[[int], dict]:
    """Raw frames -> depth mm -> predictor (crop, network, uncrop): one timed call of a ``results`` row."""
    def call(i: int) -> dict:
        chunk = [frames[(i * batch + k) % len(frames)] for k in range(batch)]
        t0 = time.perf_counter()
        depths = [f.depth_mm() for f in chunk]
        read_ms = (time.perf_counter() - t0) * 1e3
        out = predictor.predict_many(depths, [f.intrinsics for f in chunk], np.stack([f.centre_uvd for f in chunk]))
        t = out[0].timings_ms
        return {"read_crop": read_ms + t["crop"], "network": t["network"], "decode_uncrop": t["uncrop"]}
    return call


def _network_call(backend: TorchBackend, crops: np.ndarray, batch: int) -> Callable[[int], dict]:
    """Ready crops -> eager FP32 network + decoding: one timed call of an ``eager_fp32`` row."""
    def call(i: int) -> dict:
        index = [(i * batch + k) % len(crops) for k in range(batch)]
        t0 = time.perf_counter()
        backend.infer(crops[index])
        return {"network": (time.perf_counter() - t0) * 1e3}
    return call


def _reference_call(reference: ReferencePath, frames: list[BenchFrame]) -> Callable[[int], dict]:
    """One timed call of a ``reference`` row: raw frame to camera-frame joints, the official way."""
    def call(i: int) -> dict:
        frame = frames[i % len(frames)]
        return reference.run(frame.raw, frame.intrinsics, frame.centre_uvd)[1]
    return call


def _reference_joints(reference: ReferencePath) -> Callable[[BenchFrame], np.ndarray]:
    return lambda frame: reference.run(frame.raw, frame.intrinsics, frame.centre_uvd)[0]


class _NoTf32:
    """Switch TF32 off on CUDA for the run (FP32 rows are true FP32), then restore the settings."""

    def __enter__(self) -> None:
        self.saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc) -> None:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self.saved


def run_bench(options: BenchOptions, progress: Callable[[str], None] | None = None) -> dict:
    """Measure everything ``options`` asks for; returns the report (see the module docstring)."""
    say = progress or (lambda message: None)
    quick = options.quick
    batch = options.batch or (4 if quick else 8)
    if batch < 2:
        raise LivePoseError(f"--batch {batch}: expected at least 2 (batch 1 is always timed)")
    devices = [str(parse_device(d)) for d in (options.devices or default_devices())]
    if options.threads is not None:
        if options.threads < 1:
            raise LivePoseError(f"--threads {options.threads}: expected at least 1")
        torch.set_num_threads(options.threads)
    models = resolve_models(options.models, quick)
    inputs = load_inputs(options.synthetic if options.synthetic is not None else (2 if quick else 8),
                         options.real if options.real is not None else (2 if quick else 12), options.frames_folder)
    frames = inputs.frames
    say(f"inputs: {inputs.count('synthetic')} synthetic, {inputs.count('real')} real frames")
    load_start = os.getloadavg()
    report: dict = {
        "livepose_bench": REPORT_VERSION, "quick": quick, "batch": batch,
        "devices": {d: device_name(d) for d in devices},
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads(),
                        "onnxruntime": _version("onnxruntime"), "numpy": np.__version__,
                        "load_average_start": [round(x, 2) for x in load_start]},
        "inputs": {"synthetic": inputs.count("synthetic"), "real": inputs.count("real"),
                   "real_folder": inputs.real_folder, "frame_size": list(frames[0].raw.shape[::-1])},
        "models": [m.summary() for m in models],
        "results": [], "reference": [], "eager_fp32": [], "speedup_vs_reference": [], "parity": [],
        "int8": [], "engine": [], "training_data": [], "not_measured": dict(NOT_HERE), "notes": list(inputs.notes)}
    if "cuda" not in " ".join(devices):
        report["not_measured"]["cuda"] = ("no CUDA device on this machine" if not torch.cuda.is_available()
                                          else "not asked for (--devices)")
    with _NoTf32():
        for model in models:
            _bench_model(model, devices, frames, batch, options, report, say)
        report["speedup_vs_reference"] = _speedups(report)
        if options.engine if options.engine is not None else not quick:
            report["engine"] = _bench_engine(models[0], devices, options, say)
    if options.training_data if options.training_data is not None else not quick:
        report["training_data"] = _bench_training_data(devices, quick, say)
    report["environment"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


@dataclass
class _Row:
    """One timed row of a model on a device: which report section, its labels, and its timed call."""

    section: str
    backend: str
    precision: str
    batch: int
    call: Callable[[int], dict]


def _bench_model(model: BenchModel, devices: list[str], frames: list[BenchFrame], batch: int,
                 options: BenchOptions, report: dict, say: Callable[[str], None]) -> None:
    """Every row of one model, device by device; the rows of a device are timed interleaved (one call of each
    in turn), so that load from other work on the machine falls on all of them alike."""
    checkpoint = model.checkpoint
    truth_predictor = Predictor.from_checkpoint(checkpoint, device="cpu", backend="torch", precision="fp32")
    truth = predict_all(truth_predictor, frames)
    crops = np.stack([crop_hand(f.depth_mm(), f.centre_uvd, f.intrinsics, checkpoint.crop)[0] for f in frames])[:, None]
    for device in devices:
        rows: list[_Row] = []
        eager = TorchBackend(checkpoint.build_model(device), device, "fp32")
        rows += [_Row("eager_fp32", "torch", "fp32", size, _network_call(eager, crops, size)) for size in (1, batch)]
        predictors = []
        for backend, precision in fast_paths(device):
            try:
                predictor = _predictor(checkpoint, device, backend, precision, options.threads)
            except LivePoseError as exc:
                report["notes"].append(f"{model.name} {backend} {precision} on {device}: not run ({exc})")
                continue
            predictor.name = model.name
            predictors.append((backend, precision, predictor))
            rows += [_Row("results", backend, precision, size, _frame_call(predictor, frames, size))
                     for size in (1, batch)]
        int8 = None
        if device == "cpu" and (options.int8 if options.int8 is not None else not options.quick) \
                and onnxruntime_available():
            int8 = _int8_predictor(model, crops, options.threads)
            rows += [_Row("int8", "onnxruntime", "int8", size, _frame_call(int8, frames, size)) for size in (1, batch)]
        reference = ReferencePath(checkpoint, device)
        rows.append(_Row("reference", "reference", "fp32", 1, _reference_call(reference, frames)))
        say(f"{model.name} on {device}: timing {len(rows)} rows interleaved")
        loop = _loop(options, device)
        all_samples = time_interleaved([r.call for r in rows], loop)
        int8_rows = []
        for spec, samples in zip(rows, all_samples, strict=True):
            entry = row(model.name, spec.backend, device, spec.precision, spec.batch, samples)
            (int8_rows if spec.section == "int8" else report[spec.section]).append(entry)
            say(f"{model.name} {spec.backend} {spec.precision} {device} batch {spec.batch}: {entry['fps']} FPS, "
                f"p50 {entry['p50_ms']} ms")
        for backend, precision, predictor in predictors:
            parity = check_path(predictor, frames, truth, batch)
            report["parity"].append({"model": model.name, "backend": backend, "device": device,
                                     "precision": precision, **parity})
            predictor.backend.close()
        parity = check_reference(_reference_joints(reference), frames, truth)
        report["parity"].append({"model": model.name, "backend": "reference", "device": device,
                                 "precision": "fp32", **parity})
        if int8 is not None:
            fp32 = [r for r in report["results"] if r["model"] == model.name and r["backend"] == "onnxruntime"
                    and r["device"] == device and r["batch"] == 1]
            speedup = round(int8_rows[0]["fps"] / fp32[0]["fps"], 2) if fp32 and fp32[0]["fps"] else None
            report["int8"].append({"model": model.name, "rows": int8_rows, "speedup_vs_onnxruntime_fp32": speedup,
                                   "accuracy_vs_fp32_eager": check_path(int8, frames, truth, batch), "how": INT8_HOW})
        if device.startswith("cuda"):
            torch.cuda.empty_cache()


INT8_HOW = ("ONNX Runtime static quantisation, QDQ, convolutions only (per-channel int8 weights, uint8 activations), "
            "calibrated on the bench crops and 32 synthetic crops; decoding stays fp32")


def _int8_predictor(model: BenchModel, crops: np.ndarray, threads: int | None) -> Predictor:
    """ONNX Runtime with INT8 convolutions on the CPU (reported apart, with its accuracy cost)."""
    from livepose.runtime.onnx_backend import OnnxRuntimeBackend
    from livepose.runtime.onnx_cache import onnx_bytes
    from livepose.runtime.quantize import quantize_int8
    from livepose.synth.generator import hand_crops

    checkpoint = model.checkpoint
    rendered = hand_crops(32, checkpoint.crop, generator=torch.Generator().manual_seed(1)).inputs.numpy()
    runtime = OnnxRuntimeBackend(quantize_int8(onnx_bytes(checkpoint), np.concatenate([crops, rendered])), "cpu",
                                 threads=threads)
    runtime.precision = "int8"
    return Predictor(None, checkpoint.layout, checkpoint.crop, name=model.name, backend=runtime)


def _speedups(report: dict) -> list[dict]:
    """Fastest agreeing batch-1 path over the reference, per model and device."""
    agreeing = {(p["model"], p["backend"], p["device"], p["precision"]) for p in report["parity"] if p["ok"]}
    out = []
    for ref in report["reference"]:
        candidates = [r for r in report["results"] if r["model"] == ref["model"] and r["device"] == ref["device"]
                      and r["batch"] == 1 and (r["model"], r["backend"], r["device"], r["precision"]) in agreeing]
        if not candidates or not ref["fps"]:
            continue
        best = max(candidates, key=lambda r: r["fps"] or 0.0)
        out.append({"model": ref["model"], "device": ref["device"], "backend": best["backend"],
                    "precision": best["precision"], "batch": 1, "fps": best["fps"], "reference_fps": ref["fps"],
                    "speedup": round(best["fps"] / ref["fps"], 2)})
    return out


def _bench_engine(model: BenchModel, devices: list[str], options: BenchOptions,
                  say: Callable[[str], None]) -> list[dict]:
    from livepose.bench.engine_rate import engine_ladder, hand_sequence
    from livepose.runtime.select import resolve_backend

    frames, intrinsics = hand_sequence(6 if options.quick else 12)
    out = []
    for device in devices:
        choice = resolve_backend(None, device)
        predictor = _predictor(model.checkpoint, choice.device, choice.backend, choice.precision, options.threads)
        predictor.name = model.name
        out.append(engine_ladder(predictor, frames, intrinsics, seconds=1.5 if options.quick else 4.0,
                                 progress=say))
        predictor.backend.close()
    return out


def _bench_training_data(devices: list[str], quick: bool, say: Callable[[str], None]) -> list[dict]:
    """Render and train rates of both synthetic kinds on every device (training batch 32; 8 with ``quick``)."""
    from livepose.bench.training_rate import KINDS, measure_training_rate

    rows = []
    for device in devices:
        for kind in KINDS:
            say(f"training data: {kind} on {device}")
            repeats = (3 if quick else 10) if device.startswith("cuda") else (2 if quick else 3)
            rows.append(measure_training_rate(kind, device, 8 if quick else 32, repeats))
    return rows
