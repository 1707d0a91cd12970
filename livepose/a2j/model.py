"""The A2J network with the official checkpoint's state-dict keys.

Structure (Zhang et al., "A2J: Anchor-to-Joint Regression Network for 3D
Articulated Pose Estimation from a Single Depth Image", ICCV 2019):

- ``Backbone.model``: a torchvision ResNet-18/34/50 whose layer4 has stride 1,
  with its 3x3 convolutions dilated by 2 in all blocks but the first (for
  BasicBlock only the second 3x3 convolution of a block is dilated, exactly as
  the official ``resnet.py`` does). No classifier is used.
- ``classificationModel`` (anchor weights) is fed by layer3,
  ``regressionModel`` (in-plane offsets) and ``DepthRegressionModel`` (depth)
  by layer4. Each head is ``head_layers`` 3x3 conv + BN + ReLU layers of
  ``head_channels`` channels (4 x 256 in the paper) and a 3x3 output conv.

The official code feeds the depth crop repeated to 3 channels; livepose feeds
1 channel and folds the first convolution's 3 input-channel weights into one
(their sum), which gives the same result for a third of the work.

Input: (B, 1, H, W) float32, the normalised crop (see :mod:`livepose.detect.crop`).
Output: :class:`A2JOutput` with joints (B, J, 3) = (u, v, depth) in crop pixels
and the network's depth unit, and anchor weights (B, A, J).

A module instance may be used from one thread at a time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torchvision
from torch import nn

from livepose.a2j.anchors import ANCHOR_STRIDE, ANCHORS_PER_CELL, anchor_grid, decode
from livepose.errors import LivePoseError

BACKBONES = {
    "resnet18": (torchvision.models.resnet18, 256, 512),
    "resnet34": (torchvision.models.resnet34, 256, 512),
    "resnet50": (torchvision.models.resnet50, 1024, 2048),
}


@dataclass(frozen=True)
class A2JConfig:
    """Everything needed to rebuild the network (stored in every livepose checkpoint).

    Attributes:
        num_joints: J, the number of joints predicted.
        backbone: ``resnet18``, ``resnet34`` or ``resnet50`` (the official models are ResNet-50).
        is_3d: predict depth (False gives the 2D K2HPD variant, without ``DepthRegressionModel``).
        head_channels: channels of each head's hidden layers (256 in the paper).
        head_layers: hidden conv+BN+ReLU layers per head (4 in the paper).
    """

    num_joints: int
    backbone: str = "resnet50"
    is_3d: bool = True
    head_channels: int = 256
    head_layers: int = 4

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise LivePoseError(f"backbone {self.backbone!r}: expected one of {', '.join(BACKBONES)}")
        if not isinstance(self.num_joints, int) or not 1 <= self.num_joints <= 1024:
            raise LivePoseError(f"num_joints {self.num_joints!r}: expected an integer between 1 and 1024")
        if not 1 <= int(self.head_channels) <= 4096 or not 0 <= int(self.head_layers) <= 16:
            raise LivePoseError(f"head {self.head_layers} x {self.head_channels}: expected 0-16 layers of 1-4096 "
                                "channels")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> A2JConfig:
        known = {k: values[k] for k in ("num_joints", "backbone", "is_3d", "head_channels", "head_layers")
                 if k in values}
        if "num_joints" not in known:
            raise LivePoseError("model arguments: missing 'num_joints'")
        return cls(**known)


class A2JOutput(NamedTuple):
    """Network output.

    joints: (B, J, 3) u (column), v (row) in crop pixels and depth in the
        network's depth unit; (B, J, 2) for a 2D model.
    anchor_weights: (B, A, J) softmax anchor weights, official anchor order.
    """

    joints: torch.Tensor
    anchor_weights: torch.Tensor


class A2JHeads(NamedTuple):
    """Raw head outputs, official layouts (used by the losses).

    classification: (B, A, J) logits; offsets: (B, A, J, 2) as (row, column)
    pixels; depth: (B, A, J) or None.
    """

    classification: torch.Tensor
    offsets: torch.Tensor
    depth: torch.Tensor | None


class Head(nn.Module):
    """``layers`` x (3x3 conv, BN, ReLU) then a 3x3 conv to ``anchors * outputs`` channels.

    The output (B, anchors * outputs, H, W) is returned as (B, W * H * anchors,
    outputs), the official (column-major over cells) order.
    """

    def __init__(self, in_channels: int, outputs: int, channels: int = 256, layers: int = 4,
                 anchors: int = ANCHORS_PER_CELL) -> None:
        super().__init__()
        self.outputs = outputs
        self.anchors = anchors
        self.layers = layers
        width = in_channels
        for i in range(1, layers + 1):
            setattr(self, f"conv{i}", nn.Conv2d(width, channels, kernel_size=3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(channels))
            width = channels
        self.act = nn.ReLU(inplace=True)
        self.output = nn.Conv2d(width, anchors * outputs, kernel_size=3, padding=1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.layers + 1):
            x = self.act(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
        out = self.output(x)
        batch = out.shape[0]
        return out.permute(0, 3, 2, 1).reshape(batch, -1, self.outputs)


class Backbone(nn.Module):
    """A torchvision ResNet trunk (attribute ``model``) returning layer3 and layer4 features."""

    def __init__(self, name: str, in_channels: int = 1) -> None:
        super().__init__()
        factory = BACKBONES[name][0]
        model = factory(weights=None)
        model.fc = nn.Identity()
        if in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        make_layer4_dilated(model.layer4)
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        x3 = m.layer3(m.layer2(m.layer1(x)))
        return x3, m.layer4(x3)


def make_layer4_dilated(layer4: nn.Sequential) -> None:
    """Give a torchvision ResNet layer4 stride 1 and dilation 2 in place, as the official code does.

    The first block keeps dilation 1 but loses its stride (in its strided 3x3
    conv and its 1x1 downsample); every later block has its last 3x3
    convolution (BasicBlock ``conv2``, Bottleneck ``conv2``) dilated by 2 with
    padding 2, so the feature map keeps layer3's size.
    """
    first = layer4[0]
    for conv in (first.conv1, first.conv2, first.downsample[0]):
        conv.stride = (1, 1)
    for block in list(layer4)[1:]:
        block.conv2.dilation = (2, 2)
        block.conv2.padding = (2, 2)


class A2J(nn.Module):
    """The A2J network. See the module docstring for inputs, outputs and keys."""

    def __init__(self, config: A2JConfig) -> None:
        super().__init__()
        self.config = config
        _, c3, c4 = BACKBONES[config.backbone]
        head = {"channels": config.head_channels, "layers": config.head_layers}
        self.Backbone = Backbone(config.backbone)
        self.regressionModel = Head(c4, config.num_joints * 2, **head)
        self.classificationModel = Head(c3, config.num_joints, **head)
        if config.is_3d:
            self.DepthRegressionModel = Head(c4, config.num_joints, **head)
        self._anchors: dict[tuple, torch.Tensor] = {}

    def anchors_for(self, rows: int, cols: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(A, 2) anchors for a ``rows`` x ``cols`` feature map, cached per shape, device and dtype."""
        key = (rows, cols, device, dtype)
        if key not in self._anchors:
            self._anchors[key] = anchor_grid(rows, cols, device=device, dtype=dtype)
        return self._anchors[key]

    def forward_heads(self, x: torch.Tensor) -> A2JHeads:
        """Run the trunk and the heads on (B, 1, H, W); see :class:`A2JHeads`."""
        x3, x4 = self.Backbone(x)
        batch, joints = x.shape[0], self.config.num_joints
        classification = self.classificationModel(x3)
        offsets = self.regressionModel(x4).reshape(batch, -1, joints, 2)
        depth = self.DepthRegressionModel(x4) if self.config.is_3d else None
        return A2JHeads(classification, offsets, depth)

    def forward(self, x: torch.Tensor, heads_only: bool = False) -> A2JOutput | A2JHeads:
        """Joints and anchor weights of (B, 1, H, W) crops; the raw heads with ``heads_only``
        (how the training loop calls it through DistributedDataParallel)."""
        heads = self.forward_heads(x)
        if heads_only:
            return heads
        rows = -(-x.shape[2] // ANCHOR_STRIDE)
        cols = -(-x.shape[3] // ANCHOR_STRIDE)
        anchors = self.anchors_for(rows, cols, heads.classification.device, heads.classification.dtype)
        joints, weights = decode(heads.classification, heads.offsets, heads.depth, anchors)
        return A2JOutput(joints, weights)


def fold_rgb_conv1(state_dict: dict[str, torch.Tensor], key: str = "Backbone.model.conv1.weight") -> None:
    """Fold a 3-input-channel first convolution into 1 channel, in place.

    The official network sees the depth repeated on 3 channels, so summing the
    weights over the input channels gives the same output on 1 channel.
    """
    weight = state_dict.get(key)
    if weight is not None and weight.ndim == 4 and weight.shape[1] == 3:
        state_dict[key] = weight.sum(dim=1, keepdim=True)
