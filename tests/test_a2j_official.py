"""The load_official contract against an independent re-implementation of the official inference."""

from __future__ import annotations

import pytest
import torch

from livepose.a2j import A2J, A2JConfig, load_official
from livepose.a2j.anchors import anchor_grid
from livepose.errors import LivePoseError
from tests.official_reference import ReferenceA2J, randomise_, reference_anchors, reference_post_process


@pytest.fixture(scope="module")
def reference_nyu() -> ReferenceA2J:
    torch.manual_seed(0)
    model = ReferenceA2J(num_joints=14)
    randomise_(model, seed=1)
    return model.eval()


def assert_matches_reference(model, reference, x: torch.Tensor) -> None:
    with torch.no_grad():
        ours = model(x)
        heads = reference(x.expand(-1, 3, -1, -1).contiguous())
    rows, cols = -(-x.shape[2] // 16), -(-x.shape[3] // 16)
    expected = reference_post_process(heads, reference_anchors(rows, cols))
    expected_uvd = expected.clone()
    expected_uvd[..., 0], expected_uvd[..., 1] = expected[..., 1], expected[..., 0]
    scale = expected_uvd.abs().max()
    assert ours.joints.shape == expected_uvd.shape
    assert float((ours.joints - expected_uvd).abs().max() / scale) < 1e-4
    weights = torch.softmax(heads[0], dim=1)
    assert ours.anchor_weights.shape == weights.shape
    assert float((ours.anchor_weights - weights).abs().max()) < 1e-4


def test_anchor_order_is_official() -> None:
    for rows, cols in ((11, 11), (3, 5), (18, 18)):
        ours = anchor_grid(rows, cols).numpy()
        assert (ours == reference_anchors(rows, cols)).all()
    grid = anchor_grid(2, 3)
    # index = (column_cell * rows + row_cell) * 16 + row_offset_index * 4 + column_offset_index
    column_cell, row_cell, row_off, col_off = 2, 1, 3, 1
    index = (column_cell * 2 + row_cell) * 16 + row_off * 4 + col_off
    assert grid[index].tolist() == [16 * row_cell + 14, 16 * column_cell + 6]


def test_load_official_state_dict_matches_reference(reference_nyu) -> None:
    state = reference_nyu.state_dict()
    assert "Backbone.model.fc.weight" in state and state["Backbone.model.conv1.weight"].shape[1] == 3
    model = load_official(state, num_joints=14)
    assert not model.training
    x = torch.randn(2, 1, 176, 176, generator=torch.Generator().manual_seed(3)) * 2
    assert_matches_reference(model, reference_nyu, x)


def test_non_square_input_keeps_official_anchor_order(reference_nyu) -> None:
    model = load_official(reference_nyu.state_dict(), num_joints=14)
    x = torch.randn(1, 1, 128, 176, generator=torch.Generator().manual_seed(4))
    assert_matches_reference(model, reference_nyu, x)


def test_load_official_from_pth_file(reference_nyu, tmp_path) -> None:
    path = tmp_path / "NYU.pth"
    torch.save(reference_nyu.state_dict(), path)
    model = load_official(str(path), num_joints=14, backbone="resnet50", is_3d=True)
    x = torch.randn(1, 1, 176, 176, generator=torch.Generator().manual_seed(5))
    assert_matches_reference(model, reference_nyu, x)


def test_dataparallel_prefix_is_accepted(reference_nyu) -> None:
    state = {f"module.{k}": v for k, v in reference_nyu.state_dict().items()}
    model = load_official(state, num_joints=14)
    assert torch.equal(model.state_dict()["regressionModel.output.bias"],
                       reference_nyu.state_dict()["regressionModel.output.bias"])


def test_2d_variant_matches_reference() -> None:
    reference = ReferenceA2J(num_joints=19, is_3d=False)
    randomise_(reference, seed=7)
    reference.eval()
    model = load_official(reference.state_dict(), num_joints=19, is_3d=False)
    assert not hasattr(model, "DepthRegressionModel")
    x = torch.randn(1, 1, 160, 160, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        out = model(x)
    assert out.joints.shape == (1, 19, 2)
    assert_matches_reference(model, reference, x)


def test_strict_loading_names_unexpected_key(reference_nyu) -> None:
    state = dict(reference_nyu.state_dict())
    state["regressionModel.conv5.weight"] = torch.zeros(1)
    with pytest.raises(LivePoseError, match=r"unexpected keys regressionModel\.conv5\.weight"):
        load_official(state, num_joints=14)


def test_strict_loading_names_missing_key(reference_nyu) -> None:
    state = dict(reference_nyu.state_dict())
    del state["DepthRegressionModel.bn2.running_var"]
    with pytest.raises(LivePoseError, match=r"missing keys DepthRegressionModel\.bn2\.running_var"):
        load_official(state, num_joints=14)


def test_wrong_joint_count_names_the_key(reference_nyu) -> None:
    with pytest.raises(LivePoseError, match=r"Model\.output\.weight has shape \(448, 256, 3, 3\)"):
        load_official(reference_nyu.state_dict(), num_joints=16)


def test_3d_weights_refused_as_2d(reference_nyu) -> None:
    with pytest.raises(LivePoseError, match="unexpected keys DepthRegressionModel"):
        load_official(reference_nyu.state_dict(), num_joints=14, is_3d=False)


def test_not_a_state_dict_file(tmp_path) -> None:
    path = tmp_path / "weights.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(LivePoseError, match="weights.pth: expected an A2J state dict"):
        load_official(path, num_joints=14)


@pytest.mark.parametrize("backbone", ["resnet18", "resnet34"])
def test_basicblock_layer4_is_dilated_like_the_official_resnet(backbone: str) -> None:
    model = A2J(A2JConfig(num_joints=21, backbone=backbone)).eval()
    layer4 = model.Backbone.model.layer4
    assert layer4[0].conv1.stride == (1, 1) and layer4[0].downsample[0].stride == (1, 1)
    assert layer4[0].conv2.dilation == (1, 1)
    for block in list(layer4)[1:]:
        assert block.conv1.dilation == (1, 1)
        assert block.conv2.dilation == (2, 2) and block.conv2.padding == (2, 2)
    with torch.no_grad():
        x3, x4 = model.Backbone(torch.zeros(1, 1, 176, 176))
        out = model(torch.zeros(1, 1, 176, 176))
    assert x3.shape[-2:] == x4.shape[-2:] == (11, 11)
    assert out.anchor_weights.shape == (1, 11 * 11 * 16, 21)


def test_1_channel_fold_equals_3_channel_input() -> None:
    conv3 = torch.nn.Conv2d(3, 8, 7, padding=3, bias=False)
    conv1 = torch.nn.Conv2d(1, 8, 7, padding=3, bias=False)
    with torch.no_grad():
        conv1.weight.copy_(conv3.weight.sum(dim=1, keepdim=True))
    x = torch.randn(2, 1, 20, 20)
    assert torch.allclose(conv1(x), conv3(x.expand(-1, 3, -1, -1)), atol=1e-5)
