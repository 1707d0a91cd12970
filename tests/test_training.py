"""livepose train: augmentation, deterministic data, resume, logs, DDP with two gloo processes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import load_checkpoint
from livepose.runtime.default_model import HAND_CROP
from livepose.training.augment import AugmentSettings, augment
from livepose.training.config import BODY_CROP, TrainConfig
from livepose.training.data import RealData, SyntheticData, crop_uvd_to_mm
from livepose.training.loop import lr_factor, train

REPO = Path(__file__).resolve().parents[1]
TINY = {"backbone": "resnet18", "head_channels": 16, "head_layers": 1, "input_size": 32, "batch_size": 2,
        "threads": 1, "log_every": 1, "validate_every": 2, "checkpoint_every": 1}


def tiny_config(out: Path, **overrides) -> TrainConfig:
    return TrainConfig(**{"data": "synth-hand", "out": str(out), "steps": 4, **TINY, **overrides})


def test_augment_moves_pixels_and_targets_together():
    crop = dataclasses.replace(HAND_CROP, width=32, height=32)
    inputs = torch.zeros(1, 1, 32, 32)
    targets = torch.tensor([[[20.5, 8.5, 5.0]]])  # pixel (row 8, col 20) centre
    inputs[0, 0, 8, 20] = 3.0
    settings = AugmentSettings(rotation_deg=90.0, scale_range=(1.0, 1.0), depth_scale_range=(1.5, 1.5),
                               noise_probability=0.0, erase_probability=0.0)
    for seed in range(5):
        out, moved = augment(inputs, targets, crop, settings, torch.Generator().manual_seed(seed))
        row, col = np.unravel_index(int(out[0, 0].argmax()), (32, 32))
        u, v, d = moved[0, 0].tolist()
        assert abs(col + 0.5 - u) <= 1.0 and abs(row + 0.5 - v) <= 1.0, (seed, row, col, u, v)
        assert out[0, 0].max() == pytest.approx(4.5)  # depth offsets scaled by 1.5 ...
        assert d == pytest.approx(7.5)  # ... and so is the depth target


def test_augment_erasing_and_noise_change_inputs_only_where_asked():
    crop = dataclasses.replace(HAND_CROP, width=32, height=32)
    inputs = torch.ones(4, 1, 32, 32)
    targets = torch.full((4, 21, 3), 16.0)
    still = AugmentSettings(rotation_deg=0.0, scale_range=(1.0, 1.0), depth_scale_range=(1.0, 1.0),
                            noise_probability=0.0, erase_probability=1.0)
    out, same = augment(inputs, targets, crop, still, torch.Generator().manual_seed(0))
    assert torch.equal(same, targets)
    erased = (out == 0).flatten(1).sum(1)
    assert (erased > 0).all() and (erased < 32 * 32 * 0.2).all()
    noisy = dataclasses.replace(still, noise_probability=1.0, erase_probability=0.0)
    out, _ = augment(inputs, targets, crop, noisy, torch.Generator().manual_seed(0))
    assert 0.02 < float((out - inputs).std()) < 0.1  # sigma 0.05 x std, in normalised units


def test_synthetic_batches_are_deterministic_by_step_and_rank():
    crop = dataclasses.replace(HAND_CROP, width=32, height=32)
    data = SyntheticData("synth-hand", crop, batch_size=2, seed=3, cameras=("d435_640",))
    a, ta = data.batch(7, rank=0)
    b, tb = data.batch(7, rank=0)
    c, _ = data.batch(7, rank=1)
    assert torch.equal(a, b) and torch.equal(ta, tb)
    assert not torch.equal(a, c)


def test_validation_targets_map_back_to_true_joints():
    for kind, base in (("synth-hand", HAND_CROP), ("synth-body", BODY_CROP)):
        crop = dataclasses.replace(base, width=48, height=48)
        data = SyntheticData(kind, crop, batch_size=2, seed=0, cameras=("d435_640",))
        val = data.validation(3, seed=1)
        back = crop_uvd_to_mm(val.targets, val.box, val.intrinsics, val.centre_depth_mm, crop)
        assert float((back - val.joints_mm).abs().max()) < 0.05, kind


def test_real_data_indices_cover_an_epoch_and_differ_per_rank():
    items = [(torch.zeros(1, 8, 8), torch.zeros(3, 3)) for _ in range(10)]
    data = RealData(items, "nyu14", HAND_CROP, batch_size=5, seed=0, world=2)
    epoch = data.indices(0, 0) + data.indices(0, 1)
    assert sorted(epoch) == list(range(10))
    assert data.indices(1, 0) == RealData(items, "nyu14", HAND_CROP, 5, 0, 2).indices(1, 0)


def test_lr_step_decay():
    assert lr_factor(0, (10, 20), 0.1) == 1.0
    assert lr_factor(10, (10, 20), 0.1) == pytest.approx(0.1)
    assert lr_factor(25, (10, 20), 0.1) == pytest.approx(0.01)


def test_config_rejects_bad_values(tmp_path):
    with pytest.raises(LivePoseError, match="--input-size 40"):
        tiny_config(tmp_path, input_size=40)
    with pytest.raises(LivePoseError, match="--data-root"):
        TrainConfig(data="nyu", out=str(tmp_path))


def test_training_writes_logs_checkpoint_and_resumes_identically(tmp_path):
    # An explicit schedule: the default one is relative to --steps, which the interrupted run changes.
    straight = train(tiny_config(tmp_path / "straight", decay_steps=(3,)))
    assert straight.steps_done == 4
    interrupted = train(tiny_config(tmp_path / "resumed", steps=2, decay_steps=(3,)))
    assert interrupted.steps_done == 2
    resumed = train(tiny_config(tmp_path / "resumed", steps=4, decay_steps=(3,)))
    assert resumed.steps_done == 4
    a = load_checkpoint(straight.model_path).state_dict
    b = load_checkpoint(resumed.model_path).state_dict
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    run = tmp_path / "straight"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) for r in lines) and "val_error_mm" in lines[1]
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tensorboard").iterdir())
    assert (run / "loss.png").stat().st_size > 5000
    card = load_checkpoint(straight.model_path).training
    assert card["steps"] == 4 and card["data"] == "synth-hand" and card["seed"] == 0


def test_resume_refuses_another_configuration(tmp_path):
    train(tiny_config(tmp_path / "run", steps=1))
    with pytest.raises(LivePoseError, match="different configuration"):
        train(tiny_config(tmp_path / "run", steps=2, lr=1e-3))


def test_training_loss_falls_on_a_fixed_batch(tmp_path):
    """The loop learns: 40 steps on one repeated synthetic batch cut the loss by a fifth or more."""
    config = tiny_config(tmp_path / "overfit", steps=40, log_every=40, checkpoint_every=40, validate_every=40,
                         decay_steps=(1000,),
                         augment=AugmentSettings(rotation_deg=0.0, scale_range=(1.0, 1.0),
                                                 depth_scale_range=(1.0, 1.0), noise_probability=0.0,
                                                 erase_probability=0.0))
    crop = config.crop()
    fixed = SyntheticData("synth-hand", crop, batch_size=2, seed=0, cameras=("d435_640",))
    first = fixed.batch(0)

    class Repeated(SyntheticData):
        def batch(self, step, rank=0):
            return first

    import livepose.training.loop as loop

    original = loop.build_data
    loop.build_data = lambda cfg, device, world: Repeated("synth-hand", crop, 2, 0, ("d435_640",))
    try:
        from livepose.a2j.anchors import anchor_grid
        from livepose.a2j.loss import A2JLoss

        model = loop.build_model(config, 21)
        with torch.no_grad():
            before = float(A2JLoss()(model.forward_heads(first[0]), anchor_grid(2, 2), first[1]).total)
        train(config)
    finally:
        loop.build_data = original
    lines = [json.loads(line) for line in (tmp_path / "overfit" / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["loss"] < 0.8 * before


def test_cli_rotation_flag_sets_the_augmentation_and_rejects_bad_angles(tmp_path):
    import argparse

    from livepose.cli_train import add_parser, config_from_args

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    default = config_from_args(parser.parse_args(["train", "--data", "synth-body", "--out", str(tmp_path)]))
    upright = config_from_args(parser.parse_args(["train", "--data", "synth-body", "--out", str(tmp_path),
                                                  "--rotation", "30"]))
    assert default.augment.rotation_deg == 180.0 and upright.augment.rotation_deg == 30.0
    assert TrainConfig.from_dict(upright.to_dict()).augment.rotation_deg == 30.0
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "train", "--data", "synth-body", "--out",
                           str(tmp_path / "run"), "--rotation", "270"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "rotation 270.0 degrees: expected 0 to 180" in proc.stderr


def test_box_jitter_moves_body_box_edges_by_the_asked_fraction():
    """--box-jitter scales how far each edge of the synthetic person's box moves from the silhouette box."""
    crop = dataclasses.replace(BODY_CROP, width=32, height=32)
    still = SyntheticData("synth-body", crop, batch_size=2, seed=0, cameras=("itop_side",), box_jitter=0.0)
    loose = SyntheticData("synth-body", crop, batch_size=2, seed=0, cameras=("itop_side",), box_jitter=0.3)
    a, b = still.validation(24, seed=5), loose.validation(24, seed=5)
    # The same draws give the same people; a looser box may keep a different subset, so match by joints.
    gap = (a.joints_mm[:, None] - b.joints_mm[None]).abs().flatten(2).amax(2)  # (24, 24)
    pairs = (gap < 1e-3).nonzero()
    assert len(pairs) >= 12
    box_a, box_b = a.box[pairs[:, 0]], b.box[pairs[:, 1]]
    span = torch.cat([box_a[:, 2:] - box_a[:, :2]] * 2, dim=1)
    moved = ((box_b - box_a) / span).abs()
    assert float(moved.max()) <= 0.3 + 1e-4
    assert 0.08 < float(moved.mean()) < 0.22  # uniform in +-0.3: mean 0.15 (edges clipped to the image move less)


def test_cli_box_jitter_flag_is_stored_and_checked(tmp_path):
    import argparse

    from livepose.cli_train import add_parser, config_from_args

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = ["train", "--data", "synth-body", "--out", str(tmp_path)]
    assert config_from_args(parser.parse_args(args)).box_jitter == 0.04
    loose = config_from_args(parser.parse_args([*args, "--box-jitter", "0.1"]))
    assert loose.box_jitter == 0.1 and TrainConfig.from_dict(loose.to_dict()).box_jitter == 0.1
    assert TrainConfig.from_dict({k: v for k, v in loose.to_dict().items() if k != "box_jitter"}).box_jitter == 0.04
    with pytest.raises(LivePoseError, match="applies only to --data synth-body"):
        TrainConfig(data="synth-hand", out=str(tmp_path), box_jitter=0.1)
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", *args, "--box-jitter", "0.9"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--box-jitter 0.9: expected a fraction of the box size, 0 to 0.5" in proc.stderr


def test_cli_train_bad_value_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "livepose.cli", "train", "--data", "nyu", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--data-root" in proc.stderr


def test_ddp_two_gloo_processes_train_identical_replicas(tmp_path):
    """torchrun with two CPU processes: both ranks end with the same weights, rank 0 writes the run."""
    out = tmp_path / "ddp"
    script = tmp_path / "check_ranks.py"
    script.write_text(
        "import sys, torch, torch.distributed as dist\n"
        "from livepose.cli_train import add_parser, config_from_args\n"
        "from livepose.training.loop import train\n"
        "import argparse\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers(); add_parser(sub)\n"
        "args = p.parse_args(sys.argv[1:])\n"
        "result = train(config_from_args(args))\n"
        "w = result.model.regressionModel.output.weight.detach()\n"
        "gathered = [torch.zeros_like(w) for _ in range(dist.get_world_size())]\n"
        "dist.all_gather(gathered, w)\n"
        "assert all(torch.equal(g, gathered[0]) for g in gathered)\n"
        "import pathlib\n"  # one file per rank: two ranks printing to one pipe can interleave their lines
        "pathlib.Path(sys.argv[sys.argv.index('--out') + 1] + f'.rank{dist.get_rank()}').write_text("
        "f'OK {result.steps_done}')\n"
        "dist.destroy_process_group()\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29571",
           str(script), "train", "--data", "synth-hand", "--out", str(out), "--steps", "3", "--batch-size", "2",
           "--input-size", "32", "--head-channels", "16", "--head-layers", "1", "--threads", "1",
           "--checkpoint-every", "3", "--log-every", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [Path(f"{out}.rank{rank}").read_text() for rank in (0, 1)] == ["OK 3", "OK 3"]
    card = load_checkpoint(out / "model.pt").training
    assert card["processes"] == 2 and card["batch_size"] == 4


@pytest.mark.parametrize("dataset", ["nyu", "itop_side"])
def test_training_on_published_dataset_layouts(dataset, tmp_path):
    """Two steps on tiny fixtures in the published NYU / ITOP formats, through the same loop."""
    from tests.dataset_fixtures import write_itop, write_nyu

    root = tmp_path / "data"
    if dataset == "nyu":
        write_nyu(root)
    else:
        pytest.importorskip("h5py")
        write_itop(root)
    result = train(tiny_config(tmp_path / "run", data=dataset, data_root=str(root), steps=2))
    checkpoint = load_checkpoint(result.model_path)
    assert checkpoint.layout == ("nyu14" if dataset == "nyu" else "itop15")
    assert checkpoint.crop.width == 32 and checkpoint.training["data"] == dataset


def test_sigterm_saves_the_state_and_a_rerun_resumes(tmp_path):
    """A background run stopped with SIGTERM (kill) saves its state; the same command resumes it."""
    import signal
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "livepose.cli", "train", "--data", "synth-hand", "--out", str(out), "--steps", "500",
           "--batch-size", "2", "--input-size", "32", "--head-channels", "16", "--head-layers", "1", "--threads", "1",
           "--checkpoint-every", "1000", "--log-every", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not ((out / "metrics.jsonl").is_file()
                                               and len((out / "metrics.jsonl").read_text().splitlines()) >= 2):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    from livepose.training.loop import read_state_summary

    saved = read_state_summary(out)["step"]
    assert 2 <= saved < 500  # saved on the signal, long before the first periodic checkpoint


def test_init_from_a_checkpoint_starts_from_its_weights(tmp_path):
    first = train(tiny_config(tmp_path / "a", steps=1))
    second = train(tiny_config(tmp_path / "b", steps=1, init_from=str(first.model_path), lr=1e-12))
    a = load_checkpoint(first.model_path).state_dict["regressionModel.output.weight"]
    b = load_checkpoint(second.model_path).state_dict["regressionModel.output.weight"]
    assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(LivePoseError, match="differs"):
        train(tiny_config(tmp_path / "c", steps=1, init_from=str(first.model_path), head_channels=8))
