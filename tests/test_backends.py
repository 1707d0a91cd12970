"""Inference backends (livepose.runtime): parity with FP32 eager PyTorch in camera millimetres, the device-side
crop against the numpy official crop, backend selection, the ONNX export cache, and the CUDA path (skipped
without CUDA). Speed is never asserted here; ``livepose bench`` reports it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from livepose.a2j import A2J, A2JConfig
from livepose.a2j.anchors import anchor_grid
from livepose.bench.inputs import BenchFrame, real_frames, synthetic_frames
from livepose.calibration import CropSettings, load_profile
from livepose.camera import Intrinsics
from livepose.detect.crop import centre_box, crop_box, crop_hand, crop_to_image
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import load_checkpoint, save_checkpoint
from livepose.runtime.decode import crop_to_camera, joint_confidence, joint_confidence_np
from livepose.runtime.default_model import HAND_CROP
from livepose.runtime.device_crop import check_boxes, crop_frames, nearest_indices
from livepose.runtime.device_pipeline import DevicePipeline
from livepose.runtime.export import export_checkpoint
from livepose.runtime.fuse import fuse_conv_bn
from livepose.runtime.predictor import Predictor
from livepose.runtime.select import resolve_backend
from tests.official_reference import randomise_

REPO = Path(__file__).resolve().parents[1]
TOLERANCE_MM = 0.5
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory) -> Path:
    """A light hand model (ResNet-18 trunk, 1 x 32 heads) with random weights and non-trivial BatchNorm."""
    torch.manual_seed(0)
    model = A2J(A2JConfig(num_joints=21, backbone="resnet18", head_channels=32, head_layers=1))
    randomise_(model, seed=5)
    return save_checkpoint(tmp_path_factory.mktemp("backends") / "light.pt", model, layout="hand21", crop=HAND_CROP)


@pytest.fixture(scope="module")
def frames(shared_data_optional) -> list[BenchFrame]:
    """Two synthetic frames (cached renders) and, where shared/data exists, three real ones."""
    reals, _ = real_frames(shared_data_optional, 3) if shared_data_optional is not None else ([], None)
    return synthetic_frames(2) + reals


@pytest.fixture(scope="module")
def shared_data_optional() -> Path | None:
    folder = REPO.parent / "shared" / "data" / "frames"
    return folder if folder.is_dir() else None


@pytest.fixture(scope="module")
def eager(checkpoint_path: Path) -> Predictor:
    return Predictor.from_checkpoint(str(checkpoint_path), backend="torch")


def joints_of(predictor: Predictor, frames: list[BenchFrame], batch: int = 1) -> np.ndarray:
    out = []
    for start in range(0, len(frames), batch):
        chunk = frames[start:start + batch]
        predictions = predictor.predict_many([f.depth_mm() for f in chunk], [f.intrinsics for f in chunk],
                                             np.stack([f.centre_uvd for f in chunk]))
        out.extend(p.joints_mm for p in predictions)
    return np.stack(out)


def max_error_mm(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=-1).max())


# --------------------------------------------------------------------------------------------- CPU parity


def test_onnxruntime_agrees_with_fp32_eager(checkpoint_path: Path, eager: Predictor, frames) -> None:
    predictor = Predictor.from_checkpoint(str(checkpoint_path))  # auto on the CPU: ONNX Runtime
    assert predictor.backend.name == "onnxruntime" and predictor.label == "CPU onnxruntime FP32"
    truth = joints_of(eager, frames)
    assert np.isfinite(truth).all()
    for batch in (1, 3):
        assert max_error_mm(joints_of(predictor, frames, batch), truth) < TOLERANCE_MM


def test_device_pipeline_on_the_cpu_agrees_with_fp32_eager(checkpoint_path: Path, eager: Predictor,
                                                            frames) -> None:
    checkpoint = load_checkpoint(checkpoint_path)
    pipeline = DevicePipeline(checkpoint.build_model(), checkpoint.crop, device="cpu", precision="fp32")
    predictor = Predictor(None, checkpoint.layout, checkpoint.crop, backend=pipeline)
    truth = eager.predict_many([f.depth_mm() for f in frames], [f.intrinsics for f in frames],
                               np.stack([f.centre_uvd for f in frames]))
    for batch in (1, 2):
        got = joints_of(predictor, frames, batch)
        assert max_error_mm(got, np.stack([t.joints_mm for t in truth])) < TOLERANCE_MM
    one = predictor.predict(frames[0].depth_mm(), frames[0].intrinsics, frames[0].centre_uvd)
    assert np.abs(one.joints_uvd - truth[0].joints_uvd).max() < 0.05  # image px and mm
    assert np.abs(one.confidence - truth[0].confidence).max() < 1e-4
    assert np.abs(one.anchor_weights - truth[0].anchor_weights).max() < 1e-5
    assert (one.crop.x_min, one.crop.y_max, one.crop.centre_depth) == (truth[0].crop.x_min, truth[0].crop.y_max,
                                                                        truth[0].crop.centre_depth)
    assert set(one.timings_ms) == {"crop", "network", "uncrop"}
    network = pipeline.infer(crop_hand(frames[0].depth_mm(), frames[0].centre_uvd, frames[0].intrinsics,
                                       checkpoint.crop)[0][None, None])
    assert network.joints.shape == (1, 21, 3) and network.anchor_weights.shape == (1, 11 * 11 * 16, 21)


def test_an_onnx_file_runs_on_onnxruntime_with_its_metadata(tmp_path: Path, checkpoint_path: Path,
                                                             eager: Predictor, frames) -> None:
    onnx_file = export_checkpoint(load_checkpoint(checkpoint_path), "onnx", tmp_path / "light.onnx")
    predictor = Predictor.from_checkpoint(onnx_file)
    assert predictor.backend.name == "onnxruntime" and predictor.model is None
    assert predictor.layout == "hand21" and predictor.crop_settings == HAND_CROP and predictor.name == "light.onnx"
    assert max_error_mm(joints_of(predictor, frames), joints_of(eager, frames)) < TOLERANCE_MM
    with pytest.raises(LivePoseError, match="runs on onnxruntime"):
        Predictor.from_checkpoint(onnx_file, backend="torch")
    (tmp_path / "junk.onnx").write_bytes(b"not a graph")
    with pytest.raises(LivePoseError, match="junk.onnx: not a readable ONNX file"):
        Predictor.from_checkpoint(tmp_path / "junk.onnx")


def test_eager_predictor_keeps_its_public_api(checkpoint_path: Path, frames) -> None:
    checkpoint = load_checkpoint(checkpoint_path)
    predictor = Predictor(checkpoint.build_model(), checkpoint.layout, checkpoint.crop, "cpu", name="light")
    assert isinstance(predictor.model, A2J) and predictor.device == torch.device("cpu")
    assert predictor.backend.name == "torch" and predictor.precision == "fp32"
    frame = frames[0]
    result = predictor.predict(frame.depth_mm(), frame.intrinsics, frame.centre_uvd)
    assert result.joints_mm.shape == (21, 3) and result.anchor_weights.shape == (11 * 11 * 16, 21)
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
    assert set(result.timings_ms) == {"crop", "network", "uncrop"}
    crop = crop_hand(frame.depth_mm(), frame.centre_uvd, frame.intrinsics, checkpoint.crop)[1]
    with torch.no_grad():
        joints = checkpoint.build_model()(torch.from_numpy(
            crop_hand(frame.depth_mm(), frame.centre_uvd, frame.intrinsics, checkpoint.crop)[0])[None, None]).joints
    expected = frame.intrinsics.uvd_to_xyz(crop_to_image(joints[0].numpy(), crop))
    assert np.abs(result.joints_mm - expected).max() < 1e-3
    with pytest.raises(LivePoseError, match="crop centre depth"):
        predictor.predict(frame.depth_mm(), frame.intrinsics, np.array([320.0, 240.0, 0.0]))


# ------------------------------------------------------------------------------ device crop vs numpy crop


def test_nearest_indices_follow_opencv() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        span, size = int(rng.integers(1, 500)), int(rng.integers(16, 300))
        low = int(rng.integers(0, 100))
        image = np.arange(span, dtype=np.float32)[None, :].repeat(2, 0)
        expected = cv2.resize(image, (size, 2), interpolation=cv2.INTER_NEAREST)[0].astype(np.int64) + low
        got = nearest_indices(torch.tensor([low]), torch.tensor([low + span]), size)[0].numpy()
        assert np.array_equal(got, expected), (span, size)


def random_centres(rng: np.random.Generator, camera: Intrinsics, count: int) -> np.ndarray:
    """Centres all over the image, edges and corners included (clipped boxes), 250-1200 mm away."""
    u = rng.uniform(-20, camera.width + 20, count)
    v = rng.uniform(-20, camera.height + 20, count)
    return np.stack((u, v, rng.uniform(250, 1200, count)), axis=1)


@pytest.mark.parametrize("settings", [HAND_CROP, load_profile("nyu").crop,
                                      CropSettings("centre", 96, 96, 120.0, 160.0, True, 1.0, 0.0, 40.0)],
                         ids=["hand176", "nyu", "hand96"])
def test_device_crop_is_bit_identical_to_crop_hand(settings: CropSettings) -> None:
    rng = np.random.default_rng(2)
    camera = load_profile("d435_640").intrinsics
    depth = rng.uniform(200, 1400, (camera.height, camera.width)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = 0.0  # holes
    centres, boxes, expected = [], [], []
    for centre in random_centres(rng, camera, 40):
        box = centre_box(centre, camera, settings.xy_thres_mm, (camera.width, camera.height))
        if int(box[2]) - int(box[0]) < 1 or int(box[3]) - int(box[1]) < 1:
            continue
        crop, info = crop_hand(depth, centre, camera, settings)
        centres.append(centre)
        boxes.append((info.x_min, info.y_min, info.x_max, info.y_max))
        expected.append(crop)
    assert len(expected) > 20
    frames = torch.from_numpy(depth)[None].expand(len(expected), -1, -1)
    got = crop_frames(frames, torch.tensor(boxes, dtype=torch.float32),
                      torch.tensor(np.asarray(centres)[:, 2], dtype=torch.float32), settings)
    assert got.shape == (len(expected), 1, settings.height, settings.width) and got.dtype == torch.float32
    assert np.array_equal(got[:, 0].numpy(), np.stack(expected))
    approx = crop_frames(frames, torch.tensor(boxes, dtype=torch.float32),
                         torch.tensor(np.asarray(centres)[:, 2], dtype=torch.float32), settings, exact=False)
    assert np.abs(approx[:, 0].numpy() - np.stack(expected)).max() < 1e-4


def test_device_crop_matches_crop_box_for_bodies() -> None:
    settings = load_profile("itop_side").crop
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 4.0, (240, 320)).astype(np.float32)
    boxes = [(10.2, 5.7, 200.9, 230.1), (-15.0, -3.0, 120.4, 90.2), (150.5, 20.0, 340.0, 250.0)]
    expected = [crop_box(depth, box, settings) for box in boxes]
    clipped = torch.tensor([(c.x_min, c.y_min, c.x_max, c.y_max) for _, c in expected], dtype=torch.float32)
    got = crop_frames(torch.from_numpy(depth)[None].expand(3, -1, -1), clipped, None, settings)
    assert np.array_equal(got[:, 0].numpy(), np.stack([e for e, _ in expected]))


def test_empty_boxes_are_refused_in_one_line() -> None:
    check_boxes(np.array([[0.0, 0.0, 10.0, 10.0]]), (640, 480))
    with pytest.raises(LivePoseError, match="holds no pixel of the 640x480 image"):
        check_boxes(np.array([[639.0, 10.0, 639.0, 50.0]]), (640, 480))


def test_crop_to_camera_and_confidence_match_the_numpy_path() -> None:
    rng = np.random.default_rng(4)
    camera = load_profile("sr305").intrinsics
    joints = rng.uniform(-20, 196, (3, 21, 3)).astype(np.float32)
    joints[..., 2] = rng.uniform(-100, 100, (3, 21))
    centres = np.array([[300.0, 200.0, 450.0], [20.0, 460.0, 700.0], [600.0, 30.0, 380.0]])
    crops = [crop_hand(np.full((480, 640), 500, np.float32), c, camera, HAND_CROP)[1] for c in centres]
    boxes = torch.tensor([(c.x_min, c.y_min, c.x_max, c.y_max) for c in crops], dtype=torch.float32)
    cams = torch.tensor([[camera.fx, camera.fy, camera.cx, camera.cy]] * 3, dtype=torch.float32)
    uvd, xyz = crop_to_camera(torch.from_numpy(joints), boxes,
                              torch.tensor([c.centre_depth for c in crops], dtype=torch.float32), cams, HAND_CROP)
    for i, crop in enumerate(crops):
        expected = crop_to_image(joints[i], crop)
        assert np.abs(uvd[i].numpy() - expected).max() < 1e-3
        assert np.abs(xyz[i].numpy() - camera.uvd_to_xyz(expected)).max() < 1e-3
    weights = torch.softmax(torch.from_numpy(rng.normal(size=(3, 1936, 21)).astype(np.float32)), dim=1)
    anchors = anchor_grid(11, 11)
    a = joint_confidence(weights, torch.from_numpy(joints[..., :2]), anchors).numpy()
    b = joint_confidence_np(weights.numpy(), joints[..., :2], anchors.numpy())
    assert a.shape == b.shape == (3, 21) and np.abs(a - b).max() < 1e-5


def test_folding_batchnorm_keeps_the_output(checkpoint_path: Path) -> None:
    model = load_checkpoint(checkpoint_path).build_model()
    fused = fuse_conv_bn(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is untouched
    x = torch.randn(2, 1, 176, 176)
    with torch.no_grad():
        a, b = model(x), fused(x)
    assert torch.allclose(a.joints, b.joints, atol=1e-3) and torch.allclose(a.anchor_weights, b.anchor_weights,
                                                                             atol=1e-5)


# ---------------------------------------------------------------------------------------------- selection


def test_backend_selection_rules() -> None:
    assert resolve_backend("m.onnx").backend == "onnxruntime"
    assert resolve_backend("m.pt", "cpu").backend == "onnxruntime"
    assert resolve_backend("m.pt", "cpu", backend="torch").precision == "fp32"
    with pytest.raises(LivePoseError, match="cuda-graph needs --device cuda"):
        resolve_backend("m.pt", "cpu", backend="cuda-graph")
    with pytest.raises(LivePoseError, match="fp16 needs --device cuda"):
        resolve_backend("m.pt", "cpu", precision="fp16")
    with pytest.raises(LivePoseError, match="--device 'tpu'"):
        resolve_backend("m.pt", "tpu")
    with pytest.raises(LivePoseError, match="--backend 'tensorrt'"):
        resolve_backend("m.pt", "cpu", backend="tensorrt")
    if CUDA:
        assert resolve_backend("m.pt", "cuda") == resolve_backend("m.pt", "cuda:0")
        assert resolve_backend("m.pt", "cuda").backend == "cuda-graph"
        assert resolve_backend("m.pt", "cuda").precision == "fp16"
        assert resolve_backend("m.pt", "cuda", precision="fp32").precision == "fp32"
    else:
        with pytest.raises(LivePoseError, match="no CUDA device here"):
            resolve_backend("m.pt", "cuda")


def test_onnx_export_is_cached(tmp_path: Path, monkeypatch, checkpoint_path: Path) -> None:
    from livepose.runtime import onnx_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    checkpoint = load_checkpoint(checkpoint_path)
    first = onnx_cache.onnx_bytes(checkpoint)
    files = list((tmp_path / "livepose" / "onnx").iterdir())
    assert len(files) == 1 and files[0].name.startswith("light-") and files[0].suffix == ".onnx"

    def refuse(*_args, **_kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_cache, "export_onnx", refuse)
    assert onnx_cache.onnx_bytes(checkpoint) == first
    changed = load_checkpoint(checkpoint_path)
    changed.state_dict["regressionModel.output.bias"] = changed.state_dict["regressionModel.output.bias"] + 1
    assert onnx_cache.checkpoint_key(changed) != onnx_cache.checkpoint_key(checkpoint)


@pytest.mark.skipif(CUDA, reason="checks the message given where there is no CUDA device")
def test_live_without_cuda_says_so_in_one_line(checkpoint_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "livepose.cli", "live", "--source", "synthetic:hand", "--headless",
                           "--model", str(checkpoint_path), "--device", "cuda", "--max-frames", "1"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no CUDA device here" in done.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------------------------------------- CUDA only


@needs_cuda
@pytest.mark.parametrize("backend, precision", [("cuda-graph", "fp16"), ("cuda-graph", "fp32"), ("torch", "fp16"),
                                                ("torch", "fp32")])
def test_cuda_paths_agree_with_cpu_fp32_eager(checkpoint_path: Path, eager: Predictor, frames, backend: str,
                                              precision: str) -> None:
    predictor = Predictor.from_checkpoint(str(checkpoint_path), device="cuda", backend=backend, precision=precision)
    truth = joints_of(eager, frames)
    for batch in (1, 2, 1):  # the second batch-1 pass replays the captured graphs
        assert max_error_mm(joints_of(predictor, frames, batch), truth) < TOLERANCE_MM


@needs_cuda
def test_cuda_pipeline_captures_graphs_and_reports_stages(checkpoint_path: Path, frames) -> None:
    predictor = Predictor.from_checkpoint(str(checkpoint_path), device="cuda")
    assert predictor.backend.name == "cuda-graph" and predictor.precision == "fp16"
    frame = frames[0]
    for _ in range(3):
        result = predictor.predict(frame.depth_mm(), frame.intrinsics, frame.centre_uvd)
    assert predictor.backend._graphs.enabled and len(predictor.backend._graphs._graphs) == 2
    assert all(v >= 0 for v in result.timings_ms.values()) and set(result.timings_ms) == {"crop", "network", "uncrop"}
