"""``livepose plot-runs``: runs' metrics read from disk, shifted onto one step axis, drawn to a PNG; bad input
refused with one line."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from livepose.a2j import A2J, A2JConfig
from livepose.cli import main
from livepose.errors import LivePoseError
from livepose.runtime.checkpoint import save_checkpoint
from livepose.runtime.default_model import HAND_CROP
from livepose.training.logs import METRICS_FILE, TrainingLog
from livepose.training.run_plot import load_run_curve, parse_reference, running_mean


def _run_folder(root: Path, name: str, losses: list[float], validations: dict[int, float],
                recipe: dict | None = None) -> Path:
    """A run folder as 'livepose train' leaves it: metrics.jsonl from TrainingLog, and model.pt with its recipe."""
    folder = root / name
    folder.mkdir()
    log = TrainingLog(folder)
    for index, loss in enumerate(losses):
        step = 20 * (index + 1)
        record = {"step": step, "loss": loss, "joint": loss / 2, "surround": loss / 2}
        if step in validations:
            record["val_error_mm"] = validations[step]
        log.write(record)
    log.close()
    if recipe is not None:
        model = A2J(A2JConfig(num_joints=21, backbone="resnet18", head_channels=16, head_layers=1))
        save_checkpoint(folder / "model.pt", model, layout="hand21", crop=HAND_CROP, training={"recipe": recipe})
    return folder


def test_curves_are_shifted_by_the_offset_and_labelled_from_the_recipe(tmp_path):
    folder = _run_folder(tmp_path, "hand21u", [300.0, 280.0, 260.0, 250.0], {40: 16.5, 80: 15.2},
                         recipe={"seed": 22, "lr": 2.5e-4, "init_from": "runs/hand21st.pt"})
    curve = load_run_curve(folder, offset=12000)
    assert curve.label == "hand21u (seed 22, lr 2.5e-04, from runs/hand21st.pt)"
    assert curve.loss_steps.tolist() == [12020, 12040, 12060, 12080]
    assert curve.loss.tolist() == [300.0, 280.0, 260.0, 250.0]
    assert curve.val_steps.tolist() == [12040, 12080] and curve.val_error_mm.tolist() == [16.5, 15.2]
    bare = _run_folder(tmp_path, "bare", [1.0], {})
    assert load_run_curve(bare).label == "bare" and load_run_curve(bare, label="mine").label == "mine"


def test_running_mean_and_reference_parsing():
    assert running_mean(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist() == [1.5, 2.5, 3.5]
    assert running_mean(np.array([1.0, 2.0]), 5).tolist() == [1.0, 2.0]
    assert parse_reference("mean of u, v=15.46") == ("mean of u, v", 15.46)
    assert parse_reference("a=b=3") == ("a=b", 3.0)
    for bad in ("15.46", "=15", "label=mm"):
        with pytest.raises(LivePoseError, match="expected LABEL=MM"):
            parse_reference(bad)


def test_the_command_writes_a_png_of_both_panels(tmp_path, capsys):
    first = _run_folder(tmp_path, "a", [300.0 - i for i in range(30)], {200: 18.0, 400: 17.0, 600: 16.5})
    second = _run_folder(tmp_path, "b", [270.0 - i for i in range(30)], {200: 16.4, 600: 15.9})
    out = tmp_path / "plots" / "runs.png"
    assert main(["plot-runs", str(first), str(second), "--offset", "0", "600", "--label", "first", "second",
                 "--reference", "mean=15.5", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 2 runs"
    image = matplotlib.image.imread(out)
    assert image.shape[:2] == (396, 1350)  # 15 x 4.4 inches at 90 dpi
    assert image[..., :3].std() > 0.05  # something was drawn


@pytest.mark.parametrize(("args", "message"), [
    (["{missing}"], "no metrics.jsonl (expected the --out folder of 'livepose train')"),
    (["{run}", "--offset", "0", "10"], "--offset: 2 values for 1 runs; expected one per run"),
    (["{run}", "--label", "x", "y"], "--label: 2 values for 1 runs; expected one per run"),
    (["{run}", "--reference", "15.5"], "--reference '15.5': expected LABEL=MM"),
    (["{run}", "--smooth", "0"], "--smooth 0: expected a whole number of logged steps, at least 1"),
    (["{broken}"], "line 2: expected a JSON object with a 'step'"),
    (["{not_a_number}"], "line 2: expected a JSON object with a 'step' and numbers"),
])
def test_bad_input_is_one_line_naming_what_was_wrong(tmp_path, capsys, args, message):
    run = _run_folder(tmp_path, "run", [1.0, 2.0], {})
    broken = _run_folder(tmp_path, "broken", [1.0], {})
    with open(broken / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    not_a_number = _run_folder(tmp_path, "not_a_number", [1.0], {})
    with open(not_a_number / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write('{"step": 40, "loss": [1.0]}\n')
    paths = {"run": run, "broken": broken, "not_a_number": not_a_number, "missing": tmp_path / "missing"}
    argv = ["plot-runs", *(arg.format(**paths) for arg in args), "--out", str(tmp_path / "x.png")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
