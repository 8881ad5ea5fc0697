"""Squeeze-and-excitation as GhostNet uses it (hard-sigmoid gate, width rounded to 4)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmdet.models.utils import make_divisible


class SqueezeExcite(nn.Module):
    """Channel gate ``x * hsigmoid(expand(act(reduce(avgpool(x)))))``.

    mmdet's ``SELayer`` rounds and names its layers differently, so this keeps
    the authors' ``conv_reduce`` / ``conv_expand`` names and rounding
    (``make_divisible(channels * se_ratio, 4)``) for checkpoint parity.
    """

    def __init__(self, channels, se_ratio=0.25, act_cfg=dict(type='ReLU')):
        super().__init__()
        reduced = make_divisible(channels * se_ratio, 4)
        self.conv_reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.act1 = build_activation_layer(act_cfg)
        self.conv_expand = nn.Conv2d(reduced, channels, 1, bias=True)
        # Deploy mode: scale the (fresh) input in place when no autograd runs.
        self.inplace = False

    def forward(self, x):
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = self.conv_expand(self.act1(self.conv_reduce(scale)))
        # relu6(s + 3) / 6: the authors' hard sigmoid.
        if self.inplace and not torch.is_grad_enabled():
            return x.mul_(F.hardsigmoid(scale, inplace=True))
        return x * F.hardsigmoid(scale)
