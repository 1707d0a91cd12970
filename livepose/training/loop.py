"""``livepose train``: one training loop, readable in one sitting.

For each step: a deterministic batch for (step, rank) (:mod:`livepose.training.data`), the paper's
augmentation (:mod:`livepose.training.augment`) seeded by (step, rank), the A2J loss (paper Eq. 7),
Adam with step decay, AMP on CUDA. Every ``checkpoint_every`` steps the whole state (weights,
optimiser, schedule, step, metrics) goes atomically to ``OUT/state.pt``, and the deployable
checkpoint to ``OUT/model.pt``; a run started again with the same ``OUT`` resumes from the state and
ends with the same weights as one that never stopped. Logs: ``OUT/metrics.jsonl`` (one JSON object
per logged step), TensorBoard event files under ``OUT/tensorboard/`` and ``OUT/loss.png``.

Multi-GPU / multi-process: started by ``torchrun``, each rank trains on its own batches and DDP
averages the gradients (NCCL on CUDA, gloo on the CPU); rank 0 writes every file.

Runs on the calling thread; Ctrl-C saves the state before returning.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from livepose.a2j.anchors import ANCHOR_STRIDE, anchor_grid
from livepose.a2j.loss import A2JLoss, A2JLossTerms
from livepose.a2j.model import A2J, A2JConfig
from livepose.calibration import CropSettings
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import save_checkpoint
from livepose.runtime.safe_load import safe_torch_load
from livepose.training.augment import augment
from livepose.training.config import TrainConfig
from livepose.training.data import RealData, SyntheticData, TrainingData, ValidationBatch, crop_uvd_to_mm, step_seed
from livepose.training.logs import TrainingLog

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"
MODEL_FILE = "model.pt"
VALIDATION_SEED = 424_242


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or stopped) run left behind."""

    steps_done: int
    model_path: Path
    state_path: Path
    seconds: float
    last_validation_mm: float | None
    model: A2J


@dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Distributed:
    """Join the torchrun process group if ``WORLD_SIZE`` > 1 (NCCL on CUDA, gloo otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(0, 1, 0)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def build_data(config: TrainConfig, device: torch.device, world: int) -> TrainingData:
    """The training batches ``config`` asks for."""
    crop = config.crop()
    if config.data.startswith("synth-"):
        return SyntheticData(config.data, crop, config.batch_size, config.seed, config.synthetic_cameras(), device,
                             box_jitter=config.box_jitter)
    from livepose.datasets import open_dataset
    from livepose.datasets.crops import RealCrops

    frames = open_dataset(config.data, config.data_root, split="train")
    return RealData(RealCrops(frames, crop), frames.layout, crop, config.batch_size, config.seed, world, device)


def build_model(config: TrainConfig, num_joints: int) -> A2J:
    """The network, initialised from ``config.seed`` (and ImageNet weights when asked and available)."""
    torch.manual_seed(config.seed)
    model = A2J(A2JConfig(num_joints=num_joints, backbone=config.backbone, head_channels=config.head_channels,
                          head_layers=config.head_layers))
    if config.imagenet:
        load_imagenet_trunk(model, config.backbone)
    if config.init_from:
        init_from_checkpoint(model, config.init_from)
    return model


def init_from_checkpoint(model: A2J, path: str) -> None:
    """Start from the weights of a livepose checkpoint with the same architecture (for instance a shipped
    model, to continue its training where its run folder is gone; the optimiser starts afresh)."""
    from livepose.runtime.checkpoint import load_checkpoint
    from livepose.runtime.safe_load import load_state_dict_strict

    checkpoint = load_checkpoint(path)
    if checkpoint.config != model.config:
        raise LivePoseError(f"--init-from {path}: its network ({checkpoint.config}) differs from this run's "
                            f"({model.config})")
    state = {k: v.float() if v.is_floating_point() else v for k, v in checkpoint.state_dict.items()}
    load_state_dict_strict(model, state, source=str(path))
    logger.info("weights initialised from %s", path)


def load_imagenet_trunk(model: A2J, backbone: str) -> None:
    """Copy torchvision's ImageNet weights into the trunk (conv1 folded to one channel); warn if offline."""
    import torchvision

    weights_enum = {"resnet18": torchvision.models.ResNet18_Weights, "resnet34": torchvision.models.ResNet34_Weights,
                    "resnet50": torchvision.models.ResNet50_Weights}[backbone].DEFAULT
    try:
        state = weights_enum.get_state_dict(progress=False)
    except Exception as exc:  # noqa: BLE001 - any download failure means training from scratch
        logger.warning("ImageNet weights unavailable (%s); training from scratch", str(exc).splitlines()[0][:120])
        return
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    state["conv1.weight"] = state["conv1.weight"].sum(dim=1, keepdim=True)
    model.Backbone.model.load_state_dict(state, strict=False)
    logger.info("trunk initialised from ImageNet (%s)", weights_enum)


@dataclass(frozen=True)
class Optimiser:
    """What one optimisation step needs: the network (DDP-wrapped when ``ddp``), Adam, the AMP scaler, the
    loss and the anchor grid of the crop (``(A, 2)`` crop pixels, on the training device)."""

    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    criterion: A2JLoss
    anchors: torch.Tensor
    use_amp: bool
    ddp: bool


def new_optimiser(model: A2J, config: TrainConfig, crop: CropSettings, device: torch.device) -> Optimiser:
    """Adam with the config's learning rate and weight decay, the AMP scaler (on when ``config.amp`` and on
    CUDA), the A2J loss and the anchors of ``crop``, for ``model`` on ``device`` (not DDP-wrapped)."""
    use_amp = config.amp and device.type == "cuda"
    anchors = anchor_grid(-(-crop.height // ANCHOR_STRIDE), -(-crop.width // ANCHOR_STRIDE), device=device)
    return Optimiser(model, torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay),
                     torch.amp.GradScaler("cuda", enabled=use_amp), A2JLoss(), anchors, use_amp, ddp=False)


def step_batch(data: TrainingData, config: TrainConfig, step: int, rank: int,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The augmented batch of (``step``, ``rank``): inputs ``(B, 1, H, W)`` normalised crops and targets
    ``(B, J, 3)`` (crop u, v in pixels and depth in the crop's target units, see ``CropSettings``), on
    ``device``; the same for the same seed."""
    inputs, targets = data.batch(step, rank)
    generator = torch.Generator(device=device).manual_seed(step_seed(config.seed, step, rank, 3))
    return augment(inputs.to(device), targets.to(device), data.crop, config.augment, generator)


def optimise(opt: Optimiser, inputs: torch.Tensor, targets: torch.Tensor, step: int) -> A2JLossTerms:
    """One forward, backward and Adam step on a batch from :func:`step_batch`; returns the loss terms
    (detached). Raises :class:`LivePoseError` on a loss that is not finite (nothing is updated then)."""
    device_type = inputs.device.type
    with torch.autocast(device_type=device_type, dtype=torch.float16, enabled=opt.use_amp):
        heads = _ddp_heads(opt.net, inputs) if opt.ddp else opt.net.forward_heads(inputs)
    terms = opt.criterion(type(heads)(*(h.float() if h is not None else None for h in heads)), opt.anchors,
                          targets)
    detached = terms._replace(**{k: v.detach() for k, v in terms._asdict().items()})
    opt.optimizer.zero_grad(set_to_none=True)
    if not bool(torch.isfinite(terms.total)):
        raise LivePoseError(f"step {step}: the loss is not finite ({float(detached.total)}); the data "
                            "or the learning rate is broken (state.pt holds the last good step)")
    opt.scaler.scale(terms.total).backward()
    opt.scaler.step(opt.optimizer)
    opt.scaler.update()
    return detached


def lr_factor(step: int, schedule: tuple[int, ...], gamma: float) -> float:
    """The step-decay multiplier at ``step``: ``gamma`` to the number of milestones passed."""
    return gamma ** sum(step >= milestone for milestone in schedule)


@torch.no_grad()
def validation_error_mm(model: A2J, batch: ValidationBatch, crop, device: torch.device) -> float:
    """Mean 3D joint error (mm, camera frame) on a fixed validation batch."""
    was_training = model.training
    model.eval()
    joints = []
    for start in range(0, batch.inputs.shape[0], 32):
        joints.append(model(batch.inputs[start:start + 32].to(device)).joints.float().cpu())
    model.train(was_training)
    predicted = crop_uvd_to_mm(torch.cat(joints), batch.box.cpu(), batch.intrinsics.cpu(),
                               batch.centre_depth_mm.cpu(), crop)
    return float((predicted - batch.joints_mm.cpu()).norm(dim=-1).mean())


def _atomic_save(payload: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"


def train(config: TrainConfig) -> TrainResult:
    """Run (or resume) the training described by ``config``; see the module docstring."""
    place = setup_distributed(config.device)
    device = torch.device(f"cuda:{place.local_rank}" if config.device == "cuda" and place.world > 1
                          else config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LivePoseError("--device cuda: no CUDA device is available")
    if config.threads:
        torch.set_num_threads(int(config.threads))
    out = config.out_dir
    if place.main:
        out.mkdir(parents=True, exist_ok=True)
    data = build_data(config, device, place.world)
    crop = data.crop
    from livepose.skeletons import get_layout

    num_joints = get_layout(data.layout).num_joints
    model = build_model(config, num_joints).to(device)
    optimiser = new_optimiser(model, config, crop, device)
    optimizer, scaler = optimiser.optimizer, optimiser.scaler
    history: list[dict] = []
    start_step, seconds_before = 0, 0.0

    state_path = out / STATE_FILE
    if state_path.is_file():
        state = safe_torch_load(state_path)
        saved = TrainConfig.from_dict(state["config"])
        if saved.to_dict() | {"steps": 0, "time_limit_s": 0} != config.to_dict() | {"steps": 0, "time_limit_s": 0}:
            raise LivePoseError(f"{state_path}: was written by a different configuration; use a new --out or the "
                                "same options (only --steps and --time-limit may change)")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start_step, seconds_before, history = int(state["step"]), float(state["seconds"]), list(state["history"])
        if place.main:
            logger.info("resuming %s at step %d", out, start_step)

    net: torch.nn.Module = model
    if place.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                        else None)
        optimiser = dataclasses.replace(optimiser, net=net, ddp=True)
    validation = data.validation(64, VALIDATION_SEED) if isinstance(data, SyntheticData) and place.main else None
    log = TrainingLog(out, enabled=place.main)
    started = time.perf_counter()
    step = start_step
    last_val: float | None = next((h["val_error_mm"] for h in reversed(history) if "val_error_mm" in h), None)

    def save() -> None:
        if not place.main:
            return
        seconds = seconds_before + time.perf_counter() - started
        _atomic_save({"config": config.to_dict(), "step": step, "seconds": seconds, "history": history,
                      "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scaler": scaler.state_dict()}, state_path)
        save_checkpoint(out / MODEL_FILE, model, layout=data.layout, crop=crop, training={
            "data": config.data, "cameras": list(config.synthetic_cameras()) if config.data.startswith("synth-")
            else [], "seed": config.seed, "steps": step, "batch_size": config.batch_size * place.world,
            "seconds": round(seconds, 1), "hardware": _hardware(device), "processes": place.world,
            "validation_error_mm": last_val, "recipe": config.to_dict()})
        log.plot(history)

    model.train()
    restore_sigterm = _sigterm_saves_state()
    bar = tqdm(total=config.steps, initial=start_step, desc=f"train {config.data}", unit="step",
               disable=not place.main)
    window_start, window_steps = time.perf_counter(), 0
    try:
        while step < config.steps:
            for group in optimizer.param_groups:
                group["lr"] = config.lr * lr_factor(step, config.schedule, config.decay_gamma)
            inputs, targets = step_batch(data, config, step, place.rank, device)
            terms_logged = optimise(optimiser, inputs, targets, step)
            step += 1
            window_steps += 1
            bar.update(1)
            validate_now = validation is not None and (step % config.validate_every == 0 or step == config.steps)
            if step % config.log_every == 0 or step == config.steps or validate_now:
                elapsed = time.perf_counter() - window_start
                record = {"step": step, "loss": float(terms_logged.total), "joint": float(terms_logged.joint),
                          "surround": float(terms_logged.surround), "in_plane": float(terms_logged.in_plane),
                          "depth": float(terms_logged.depth), "lr": optimizer.param_groups[0]["lr"],
                          "crops_per_s": window_steps * config.batch_size * place.world / max(elapsed, 1e-9)}
                window_start, window_steps = time.perf_counter(), 0
                if validate_now:
                    last_val = validation_error_mm(model, validation, crop, device)
                    record["val_error_mm"] = last_val
                history.append(record)
                log.write(record)
                bar.set_postfix(loss=f"{record['loss']:.2f}", val_mm=f"{last_val:.1f}" if last_val else "-",
                                crops_s=f"{record['crops_per_s']:.0f}")
            if step % config.checkpoint_every == 0:
                save()
            if config.time_limit_s and time.perf_counter() - started > config.time_limit_s:
                if place.main:
                    logger.info("time limit reached at step %d; run the same command again to resume", step)
                break
    except KeyboardInterrupt:
        if place.main:
            logger.info("interrupted at step %d; state saved, run the same command again to resume", step)
    finally:
        bar.close()
        restore_sigterm()
    save()
    log.close()
    if place.world > 1:
        dist.barrier()
    return TrainResult(step, out / MODEL_FILE, state_path, seconds_before + time.perf_counter() - started, last_val,
                       model)


def _sigterm_saves_state():
    """Make SIGTERM (``kill``, a scheduler's stop; background jobs ignore Ctrl-C's SIGINT) stop the loop like
    Ctrl-C, so the state is saved. Returns the function that restores the previous handler. Main thread only;
    elsewhere it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _ddp_heads(net: torch.nn.Module, inputs: torch.Tensor):
    """Call ``forward_heads`` through DDP (its forward hook is what synchronises gradients)."""
    return net(inputs, heads_only=True)


def read_state_summary(out: str | Path) -> dict:
    """Step, seconds and last metrics of a run folder (for reports); empty if there is no state yet."""
    path = Path(out) / STATE_FILE
    if not path.is_file():
        return {}
    state = safe_torch_load(path)
    return {"step": state["step"], "seconds": state["seconds"], "last": (state["history"] or [{}])[-1],
            "config": json.loads(json.dumps(state["config"]))}
