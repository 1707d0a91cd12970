"""The A2J training losses (paper, Eq. 3-7).

With P~_j(a) the softmax anchor weights (Eq. 5), S(a) the anchor positions,
O_j(a) the in-plane offsets and D_j(a) the depth predictions:

- joint position estimation loss (Eq. 3)::

      loss1 = alpha * sum_j L_tau1(sum_a P~_j(a) (S(a) + O_j(a)) - T_j^i)
                    + sum_j L_tau2(sum_a P~_j(a) D_j(a) - T_j^d)

- informative-anchor surrounding loss (Eq. 6)::

      loss2 = sum_j L_tau1(sum_a P~_j(a) S(a) - T_j^i)

- total (Eq. 7): ``lambda * loss1 + loss2``,

where L_tau (Eq. 4) is the smooth-L1-like ``0.5 / tau * x^2`` for |x| < tau and
``|x| - tau / 2`` otherwise, applied per coordinate and summed. The paper's
constants are tau1 = 1 (in plane), tau2 = 3 (depth), alpha = 0.5, lambda = 3.
Sums run over joints and coordinates as in the equations; the batch is
averaged.

The official training script (zhangboshen/A2J ``src_train``) differs from the
paper: it averages over joints and coordinates instead of summing, and its
depth term is a plain L1 (the tau2 = 3 smooth version is computed there but not
used). livepose follows the paper; with Adam the averaging only rescales the
gradients.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from livepose.a2j.model import A2JHeads


def smooth_l1_tau(x: torch.Tensor, tau: float) -> torch.Tensor:
    """L_tau of the paper (Eq. 4), elementwise."""
    ax = x.abs()
    return torch.where(ax < tau, 0.5 / tau * x * x, ax - 0.5 * tau)


class A2JLossTerms(NamedTuple):
    """Scalar loss terms: ``total = lam * joint + surround``; ``joint = alpha * in_plane + depth``."""

    total: torch.Tensor
    joint: torch.Tensor
    surround: torch.Tensor
    in_plane: torch.Tensor
    depth: torch.Tensor


class A2JLoss(nn.Module):
    """A2J loss with the paper's defaults (tau1 = 1, tau2 = 3, alpha = 0.5, lambda = 3)."""

    def __init__(self, tau_in_plane: float = 1.0, tau_depth: float = 3.0, alpha: float = 0.5,
                 lam: float = 3.0) -> None:
        super().__init__()
        self.tau_in_plane = tau_in_plane
        self.tau_depth = tau_depth
        self.alpha = alpha
        self.lam = lam

    def forward(self, heads: A2JHeads, anchors: torch.Tensor, target: torch.Tensor) -> A2JLossTerms:
        """Compute the loss.

        Args:
            heads: raw head outputs (classification (B, A, J), offsets (B, A, J, 2) as (row, column),
                depth (B, A, J) or None).
            anchors: (A, 2) anchor positions (row, column) in crop pixels.
            target: (B, J, 3) u (column), v (row) in crop pixels, depth in the network's unit;
                or (B, J, 2) for a 2D model.
        """
        weights = torch.softmax(heads.classification, dim=1)  # (B, A, J)
        target_rc = torch.stack((target[..., 1], target[..., 0]), dim=-1)  # (B, J, 2) as (row, column)
        anchor_vote = torch.einsum("baj,ac->bjc", weights, anchors)
        joint_vote = anchor_vote + (weights.unsqueeze(-1) * heads.offsets).sum(dim=1)
        surround = smooth_l1_tau(anchor_vote - target_rc, self.tau_in_plane).sum(dim=(1, 2)).mean()
        in_plane = smooth_l1_tau(joint_vote - target_rc, self.tau_in_plane).sum(dim=(1, 2)).mean()
        if heads.depth is not None:
            depth_vote = (weights * heads.depth).sum(dim=1)
            depth = smooth_l1_tau(depth_vote - target[..., 2], self.tau_depth).sum(dim=1).mean()
        else:
            depth = in_plane.new_zeros(())
        joint = self.alpha * in_plane + depth
        return A2JLossTerms(self.lam * joint + surround, joint, surround, in_plane, depth)
