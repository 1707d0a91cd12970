"""An independent re-implementation of the official A2J inference path, for tests only.

It follows the official operations rather than livepose's code: a 3-channel
first convolution fed with the depth repeated, a torchvision ResNet whose
layer4 is dilated by torchvision itself (``replace_stride_with_dilation``,
ResNet-50 only), heads that permute to (B, W, H, C), anchors built with
``numpy.meshgrid`` and a per-sample Python loop for the softmax vote. Its
output is the official (row, column, depth) order.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision
from torch import nn


class ReferenceHead(nn.Module):
    def __init__(self, in_channels: int, per_anchor: int, num_anchors: int = 16, width: int = 256) -> None:
        super().__init__()
        self.per_anchor = per_anchor
        self.num_anchors = num_anchors
        for i, c_in in enumerate((in_channels, width, width, width), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(c_in, width, 3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(width))
        self.output = nn.Conv2d(width, num_anchors * per_anchor, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 5):
            x = torch.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
        out = self.output(x).permute(0, 3, 2, 1)  # B, W, H, C
        b, w, h, _ = out.shape
        out = out.contiguous().view(b, w, h, self.num_anchors, self.per_anchor)
        return out.contiguous().view(b, -1, self.per_anchor)


class ReferenceBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, True])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = x.shape
        x = x[:, 0:1].expand(n, 3, h, w)
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        x3 = m.layer3(m.layer2(m.layer1(x)))
        return x3, m.layer4(x3)


class ReferenceA2J(nn.Module):
    """Official-style A2J with ResNet-50 (the released models' architecture)."""

    def __init__(self, num_joints: int, is_3d: bool = True) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.is_3d = is_3d
        self.Backbone = ReferenceBackbone()
        self.regressionModel = ReferenceHead(2048, num_joints * 2)
        self.classificationModel = ReferenceHead(1024, num_joints)
        if is_3d:
            self.DepthRegressionModel = ReferenceHead(2048, num_joints)

    def forward(self, x: torch.Tensor):
        x3, x4 = self.Backbone(x)
        cls = self.classificationModel(x3)
        reg = self.regressionModel(x4)
        reg = reg.view(reg.shape[0], -1, self.num_joints, 2)
        if self.is_3d:
            return cls, reg, self.DepthRegressionModel(x4)
        return cls, reg


def reference_anchors(rows: int, cols: int, stride: int = 16) -> np.ndarray:
    """Official anchor layout: 4x4 offsets per cell, cells from a default ('xy') meshgrid."""
    offsets = np.array([2, 6, 10, 14])
    base = np.zeros((16, 2))
    k = 0
    for i in range(4):
        for j in range(4):
            base[k] = (offsets[i], offsets[j])  # (row, column)
            k += 1
    shift_rows, shift_cols = np.meshgrid(np.arange(rows) * stride, np.arange(cols) * stride)
    shifts = np.vstack((shift_rows.ravel(), shift_cols.ravel())).T
    return (base[None, :, :] + shifts[:, None, :]).reshape(-1, 2)


def reference_post_process(heads, anchors: np.ndarray) -> torch.Tensor:
    """Per-sample loop: softmax over anchors, weighted vote. Returns (B, J, 3 or 2) as (row, column[, depth])."""
    anchors_t = torch.from_numpy(anchors).float()
    cls, reg = heads[0], heads[1]
    out = []
    for b in range(cls.shape[0]):
        weight = torch.softmax(cls[b], dim=0)
        position = anchors_t.unsqueeze(1) + reg[b]
        xy = (weight.unsqueeze(2).expand(-1, -1, 2) * position).sum(0)
        if len(heads) == 3:
            d = (weight * heads[2][b]).sum(0).unsqueeze(1)
            out.append(torch.cat((xy, d), 1))
        else:
            out.append(xy)
    return torch.stack(out)


def randomise_(model: nn.Module, seed: int = 0) -> None:
    """Random weights with non-trivial BatchNorm statistics, so every parameter matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=gen) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(module.num_features, generator=gen) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(module.num_features, generator=gen) * 0.1)
            elif isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (1.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.05)
