"""Squeeze-and-excitation as GhostNet uses it."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer

from ..utils import make_divisible


class SqueezeExcite(nn.Module):
    """Channel gate ``x * hard_sigmoid(expand(act(reduce(mean(x)))))``.

    mmcv's ``SELayer`` rounds the reduced width and names its layers
    differently; this keeps the authors' ``conv_reduce`` / ``conv_expand`` and
    their rounding (``make_divisible(channels * se_ratio, 4)``), so their
    checkpoints load.
    """

    def __init__(self, channels, se_ratio=0.25, act_cfg=dict(type='ReLU')):
        super().__init__()
        reduced = make_divisible(channels * se_ratio, 4)
        self.conv_reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.act1 = build_activation_layer(act_cfg)
        self.conv_expand = nn.Conv2d(reduced, channels, 1, bias=True)

    def forward(self, x):
        scale = self.conv_expand(self.act1(self.conv_reduce(F.adaptive_avg_pool2d(x, 1))))
        return x * F.hardsigmoid(scale)  # relu6(s + 3) / 6, the authors' hard sigmoid
