"""The A2J losses (livepose.a2j.loss) against hand-computed values.

Conventions under test: anchors and offsets are (row, column); targets are
(u = column, v = row, depth). L_tau(x) = 0.5 / tau * x^2 for |x| < tau, else
|x| - tau / 2; tau1 = 1 (in plane), tau2 = 3 (depth); alpha = 0.5, lambda = 3;
total = 3 * (0.5 * in_plane + depth) + surround, summed over joints and
coordinates, averaged over the batch.
"""

from __future__ import annotations

import math

import pytest
import torch

from livepose.a2j.anchors import anchor_grid, decode
from livepose.a2j.loss import A2JLoss, smooth_l1_tau
from livepose.a2j.model import A2JHeads

F64 = torch.float64

# Two anchors, (row, column): same row, different columns.
ANCHORS = torch.tensor([[2.0, 2.0], [2.0, 6.0]], dtype=F64)


def _sample_1(depth: bool = True) -> tuple[A2JHeads, torch.Tensor]:
    """1 sample, 2 anchors, 1 joint, equal logits.

    weights = softmax(0, 0) = (0.5, 0.5)
    anchor vote  = 0.5 * (2, 2) + 0.5 * (2, 6)              = (row 2, col 4)
    offsets      = anchor 0: (row 1, col 0), anchor 1: (row 3, col 2)
    joint vote   = (2, 4) + 0.5 * (1, 0) + 0.5 * (3, 2)     = (row 4, col 5)
    depth vote   = 0.5 * 10 + 0.5 * 14                        = 12
    target       = u (column) 5.5, v (row) 1.25, depth 17  ->  (row 1.25, col 5.5)
    """
    classification = torch.zeros(1, 2, 1, dtype=F64)
    offsets = torch.tensor([[[[1.0, 0.0]], [[3.0, 2.0]]]], dtype=F64)  # (B=1, A=2, J=1, 2)
    depth_head = torch.tensor([[[10.0], [14.0]]], dtype=F64) if depth else None
    target = torch.tensor([[[5.5, 1.25, 17.0]]], dtype=F64)
    return A2JHeads(classification, offsets, depth_head), (target if depth else target[..., :2])


# Sample 1 by hand (tau1 = 1, tau2 = 3):
#   in plane, row: 4 - 1.25 = 2.75  (>= 1)  -> 2.75 - 0.5         = 2.25
#   in plane, col: 5 - 5.5  = -0.5  (< 1)   -> 0.5 * 0.25          = 0.125
#   in_plane = 2.375
#   depth:         12 - 17  = -5    (>= 3)  -> 5 - 1.5             = 3.5
#   surround, row: 2 - 1.25 = 0.75  (< 1)   -> 0.5 * 0.5625        = 0.28125
#   surround, col: 4 - 5.5  = -1.5  (>= 1)  -> 1.5 - 0.5           = 1.0
#   surround = 1.28125
#   joint = 0.5 * 2.375 + 3.5 = 4.6875;  total = 3 * 4.6875 + 1.28125 = 15.34375
S1 = {"in_plane": 2.375, "depth": 3.5, "surround": 1.28125, "joint": 4.6875, "total": 15.34375}


def _sample_2() -> tuple[A2JHeads, torch.Tensor]:
    """Logits (ln 3, 0): weights = (3 / 4, 1 / 4).

    anchor vote = 0.75 * (2, 2) + 0.25 * (2, 6)               = (row 2, col 3)
    offsets     = anchor 0: (0, 0), anchor 1: (row 4, col -4)
    joint vote  = (2, 3) + 0.25 * (4, -4)                      = (row 3, col 2)
    depth vote  = 0.75 * 20 + 0.25 * 24                        = 21
    target      = u 2.5, v 3.25, depth 22  ->  (row 3.25, col 2.5)
    """
    classification = torch.tensor([[[math.log(3.0)], [0.0]]], dtype=F64)
    offsets = torch.tensor([[[[0.0, 0.0]], [[4.0, -4.0]]]], dtype=F64)
    depth_head = torch.tensor([[[20.0], [24.0]]], dtype=F64)
    target = torch.tensor([[[2.5, 3.25, 22.0]]], dtype=F64)
    return A2JHeads(classification, offsets, depth_head), target


# Sample 2 by hand:
#   in plane, row: 3 - 3.25 = -0.25 -> 0.5 * 0.0625 = 0.03125
#   in plane, col: 2 - 2.5  = -0.5  -> 0.5 * 0.25   = 0.125
#   in_plane = 0.15625
#   depth:         21 - 22  = -1  (< 3) -> 0.5 / 3 * 1 = 1/6
#   surround, row: 2 - 3.25 = -1.25 (>= 1) -> 1.25 - 0.5 = 0.75
#   surround, col: 3 - 2.5  = 0.5         -> 0.125
#   surround = 0.875
#   joint = 0.5 * 0.15625 + 1/6 = 0.078125 + 1/6;  total = 3 * joint + 0.875 = 0.734375 + 0.875 = 1.609375
S2 = {"in_plane": 0.15625, "depth": 1 / 6, "surround": 0.875, "joint": 0.078125 + 1 / 6, "total": 1.609375}


def _assert_terms(terms, expected: dict) -> None:
    for name, value in expected.items():
        got = getattr(terms, name)
        assert got.shape == (), name
        assert got.item() == pytest.approx(value, abs=1e-12), name


# ----------------------------------------------------------------------------------------------------------------
# smooth_l1_tau
# ----------------------------------------------------------------------------------------------------------------

def test_smooth_l1_tau_values() -> None:
    x = torch.tensor([-5.0, -1.0, -0.5, 0.0, 0.5, 2.9, 3.0, 4.0], dtype=F64)
    # tau = 1: |x| < 1 -> 0.5 x^2, else |x| - 0.5
    #   -5 -> 4.5, -1 -> 0.5 (both branches agree), -0.5 -> 0.125, 0 -> 0, 0.5 -> 0.125,
    #   2.9 -> 2.4, 3 -> 2.5, 4 -> 3.5
    expected_1 = [4.5, 0.5, 0.125, 0.0, 0.125, 2.4, 2.5, 3.5]
    # tau = 3: |x| < 3 -> x^2 / 6, else |x| - 1.5
    #   -5 -> 3.5, -1 -> 1/6, -0.5 -> 0.25/6, 0 -> 0, 0.5 -> 0.25/6, 2.9 -> 8.41/6, 3 -> 1.5 (both agree), 4 -> 2.5
    expected_3 = [3.5, 1 / 6, 0.25 / 6, 0.0, 0.25 / 6, 8.41 / 6, 1.5, 2.5]
    assert smooth_l1_tau(x, 1.0).tolist() == pytest.approx(expected_1, abs=1e-12)
    assert smooth_l1_tau(x, 3.0).tolist() == pytest.approx(expected_3, abs=1e-12)


def test_smooth_l1_tau_is_continuous_with_slope_x_over_tau_then_one() -> None:
    for tau in (1.0, 3.0):
        x = torch.tensor([-2 * tau, -tau / 2, tau / 4, tau * (1 - 1e-9), tau * (1 + 1e-9), 3 * tau], dtype=F64,
                         requires_grad=True)
        y = smooth_l1_tau(x, tau)
        y.sum().backward()
        # d/dx: x / tau inside, sign(x) outside
        expected = [-1.0, -0.5, 0.25, 1 - 1e-9, 1.0, 1.0]
        assert x.grad.tolist() == pytest.approx(expected, abs=1e-8)
        assert y[3].item() == pytest.approx(y[4].item(), abs=1e-8)  # no jump at |x| = tau


# ----------------------------------------------------------------------------------------------------------------
# A2JLoss
# ----------------------------------------------------------------------------------------------------------------

def test_paper_defaults() -> None:
    loss = A2JLoss()
    assert (loss.tau_in_plane, loss.tau_depth, loss.alpha, loss.lam) == (1.0, 3.0, 0.5, 3.0)


def test_one_sample_by_hand() -> None:
    heads, target = _sample_1()
    terms = A2JLoss()(heads, ANCHORS, target)
    _assert_terms(terms, S1)
    assert terms.total.item() == pytest.approx(3 * (0.5 * terms.in_plane.item() + terms.depth.item())
                                               + terms.surround.item(), abs=1e-12)


def test_target_u_is_column_and_v_is_row() -> None:
    """Swapping the target's u and v must give the hand-computed value for the swapped target.

    Swapped target u 1.25, v 5.5 -> (row 5.5, col 1.25):
      in plane: row 4 - 5.5 = -1.5 -> 1.0;   col 5 - 1.25 = 3.75 -> 3.25;   in_plane = 4.25
      surround: row 2 - 5.5 = -3.5 -> 3.0;   col 4 - 1.25 = 2.75 -> 2.25;   surround = 5.25
      depth 3.5 (unchanged);  total = 3 * (0.5 * 4.25 + 3.5) + 5.25 = 16.875 + 5.25 = 22.125
    """
    heads, target = _sample_1()
    swapped = target[..., [1, 0, 2]]
    terms = A2JLoss()(heads, ANCHORS, swapped)
    _assert_terms(terms, {"in_plane": 4.25, "surround": 5.25, "depth": 3.5, "total": 22.125})
    assert terms.total.item() != pytest.approx(S1["total"])


def test_in_plane_term_agrees_with_decoded_joints() -> None:
    """The joint vote the loss penalises is the one inference decodes (same (row, column) handling)."""
    torch.manual_seed(0)
    anchors = anchor_grid(2, 3, dtype=F64)
    a, j = anchors.shape[0], 4
    heads = A2JHeads(torch.randn(2, a, j, dtype=F64), 5 * torch.randn(2, a, j, 2, dtype=F64),
                     20 * torch.randn(2, a, j, dtype=F64))
    target = torch.cat([40 * torch.rand(2, j, 2, dtype=F64), 30 * torch.randn(2, j, 1, dtype=F64)], dim=-1)
    joints, weights = decode(heads.classification, heads.offsets, heads.depth, anchors)
    terms = A2JLoss()(heads, anchors, target)
    in_plane = smooth_l1_tau(joints[..., :2] - target[..., :2], 1.0).sum(dim=(1, 2)).mean()
    depth = smooth_l1_tau(joints[..., 2] - target[..., 2], 3.0).sum(dim=1).mean()
    anchor_uv = torch.einsum("baj,ac->bjc", weights, anchors)[..., [1, 0]]  # (row, col) -> (u, v)
    surround = smooth_l1_tau(anchor_uv - target[..., :2], 1.0).sum(dim=(1, 2)).mean()
    assert terms.in_plane.item() == pytest.approx(in_plane.item(), rel=1e-12)
    assert terms.depth.item() == pytest.approx(depth.item(), rel=1e-12)
    assert terms.surround.item() == pytest.approx(surround.item(), rel=1e-12)


def test_2d_model_has_no_depth_term() -> None:
    """Depth head None and (B, J, 2) targets: total = 3 * (0.5 * 2.375) + 1.28125 = 3.5625 + 1.28125 = 4.84375."""
    heads, target = _sample_1(depth=False)
    assert target.shape == (1, 1, 2)
    terms = A2JLoss()(heads, ANCHORS, target)
    _assert_terms(terms, {"in_plane": 2.375, "depth": 0.0, "surround": 1.28125, "joint": 1.1875,
                          "total": 4.84375})


def test_2d_model_ignores_a_depth_column_in_the_target() -> None:
    heads, target = _sample_1(depth=False)
    with_depth = torch.cat([target, torch.full((1, 1, 1), 999.0, dtype=F64)], dim=-1)
    _assert_terms(A2JLoss()(heads, ANCHORS, with_depth), {"depth": 0.0, "total": 4.84375})


def test_batch_is_averaged() -> None:
    """Two samples: every term is the mean of the per-sample hand values.

    total = (15.34375 + 1.609375) / 2 = 8.4765625
    """
    h1, t1 = _sample_1()
    h2, t2 = _sample_2()
    _assert_terms(A2JLoss()(h2, ANCHORS, t2), S2)
    heads = A2JHeads(*(torch.cat([a, b]) for a, b in zip(h1, h2, strict=True)))
    terms = A2JLoss()(heads, ANCHORS, torch.cat([t1, t2]))
    _assert_terms(terms, {name: (S1[name] + S2[name]) / 2 for name in S1})
    assert terms.total.item() == pytest.approx(8.4765625, abs=1e-12)


def test_joints_and_coordinates_are_summed_not_averaged() -> None:
    """Two identical joints give twice the one-joint loss (the paper sums over joints, Eq. 3 and 6)."""
    heads, target = _sample_1()
    doubled = A2JHeads(heads.classification.repeat(1, 1, 2), heads.offsets.repeat(1, 1, 2, 1),
                       heads.depth.repeat(1, 1, 2))
    terms = A2JLoss()(doubled, ANCHORS, target.repeat(1, 2, 1))
    _assert_terms(terms, {name: 2 * value for name, value in S1.items()})


def test_custom_constants() -> None:
    """tau1 = 2, tau2 = 6, alpha = 1, lambda = 1 on sample 1:

      in plane: row 2.75 (>= 2) -> 2.75 - 1 = 1.75;  col -0.5 -> 0.25 / 4 = 0.0625;  in_plane = 1.8125
      depth:    -5 (< 6) -> 25 / 12
      surround: row 0.75 -> 0.5625 / 4 = 0.140625;  col -1.5 -> 2.25 / 4 = 0.5625;  surround = 0.703125
      total = 1 * (1 * 1.8125 + 25/12) + 0.703125
    """
    heads, target = _sample_1()
    terms = A2JLoss(tau_in_plane=2.0, tau_depth=6.0, alpha=1.0, lam=1.0)(heads, ANCHORS, target)
    _assert_terms(terms, {"in_plane": 1.8125, "depth": 25 / 12, "surround": 0.703125,
                          "total": 1.8125 + 25 / 12 + 0.703125})


def test_gradients_reach_all_three_heads() -> None:
    torch.manual_seed(1)
    anchors = anchor_grid(2, 2)
    a, j = anchors.shape[0], 3
    classification = torch.randn(2, a, j, requires_grad=True)
    offsets = (3 * torch.randn(2, a, j, 2)).requires_grad_()
    depth = (10 * torch.randn(2, a, j)).requires_grad_()
    target = torch.cat([32 * torch.rand(2, j, 2), 20 * torch.randn(2, j, 1)], dim=-1)
    terms = A2JLoss()(A2JHeads(classification, offsets, depth), anchors, target)
    terms.total.backward()
    for name, tensor in (("classification", classification), ("offsets", offsets), ("depth", depth)):
        assert tensor.grad is not None, name
        assert torch.isfinite(tensor.grad).all(), name
        assert tensor.grad.abs().sum() > 0, name
    # Each sample's and each joint's logits get a gradient.
    assert (classification.grad.abs().sum(dim=1) > 0).all()


def test_gradcheck_float64() -> None:
    torch.manual_seed(2)
    anchors = ANCHORS
    classification = torch.randn(2, 2, 2, dtype=F64, requires_grad=True)
    offsets = (2 * torch.randn(2, 2, 2, 2, dtype=F64)).requires_grad_()
    depth = (5 * torch.randn(2, 2, 2, dtype=F64)).requires_grad_()
    target = torch.cat([8 * torch.rand(2, 2, 2, dtype=F64), 5 * torch.randn(2, 2, 1, dtype=F64)], dim=-1)
    loss = A2JLoss()

    def total(c, o, d):
        return loss(A2JHeads(c, o, d), anchors, target).total

    assert torch.autograd.gradcheck(total, (classification, offsets, depth))
