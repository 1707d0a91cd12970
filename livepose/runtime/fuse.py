"""Folding eval-mode BatchNorm into the convolution before it (one kernel instead of two per layer).

For an A2J network that is every ``convK`` / ``bnK`` pair of the ResNet
blocks and the heads, the stem's ``conv1`` / ``bn1`` and each block's
``downsample`` (Conv2d, BatchNorm2d). The folded BatchNorm becomes an
``nn.Identity``, so the modules' ``forward`` code runs unchanged. Only for
inference: the result must not be trained.

Pure: returns a new module, the argument is left as it was. Any thread.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) with every BatchNorm that directly follows a Conv2d folded into it.

    Pairs are found by name inside each module: ``convK`` with ``bnK`` (ResNet blocks, A2J heads, the stem),
    and consecutive ``Conv2d``, ``BatchNorm2d`` children of an ``nn.Sequential`` (ResNet downsample).
    """
    fused = copy.deepcopy(model).eval()
    with torch.no_grad():
        for module in list(fused.modules()):
            if isinstance(module, nn.Sequential):
                children = list(module.named_children())
                for (name_a, a), (name_b, b) in zip(children, children[1:], strict=False):
                    if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                        setattr(module, name_a, fuse_conv_bn_eval(a, b))
                        setattr(module, name_b, nn.Identity())
                continue
            for name, child in list(module.named_children()):
                if not (isinstance(child, nn.BatchNorm2d) and name.startswith("bn")):
                    continue
                conv = getattr(module, "conv" + name[2:], None)
                if isinstance(conv, nn.Conv2d):
                    setattr(module, "conv" + name[2:], fuse_conv_bn_eval(conv, child))
                    setattr(module, name, nn.Identity())
    return fused
