"""Ghost module: a few primary channels and their cheap depthwise "ghosts"."""
import math

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from .dfc_attention import DFCAttention


class GhostModule(nn.Module):
    """``cat(x1, cheap(x1))[:, :out_channels]`` with ``x1 = primary(x)``.

    The primary conv makes ``ceil(out_channels / ratio)`` channels; a depthwise
    conv derives the rest from them, which costs far less than making every
    channel with a full conv. With ``dfc`` the output is gated by
    :class:`DFCAttention` computed from the module's input: GhostNetV2's
    "attn" mode; without, GhostNetV1's module. Names follow the authors'
    ``GhostModuleV2``.

    Args:
        in_channels / out_channels (int): channel counts.
        kernel_size / stride (int): of the primary conv.
        ratio (int): output channels per primary channel (the authors use 2).
        dw_size (int): kernel of the cheap depthwise conv.
        use_act (bool): activation after both convs (False in a bottleneck's
            projecting second module).
        dfc (dict, optional): :class:`DFCAttention` options, None for no gate.
        dilation (int): of the cheap conv and of the DFC gate's convs.
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, ratio=2, dw_size=3,
                 stride=1, use_act=True, dfc=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), dilation=1):
        super().__init__()
        self.out_channels = out_channels
        init_channels = math.ceil(out_channels / ratio)
        new_channels = init_channels * (ratio - 1)

        def act():
            return build_activation_layer(act_cfg) if use_act else nn.Identity()

        self.primary_conv = nn.Sequential(
            nn.Conv2d(in_channels, init_channels, kernel_size, stride,
                      kernel_size // 2, bias=False),
            build_norm_layer(norm_cfg, init_channels)[1],
            act())
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, new_channels, dw_size, 1, dw_size // 2 * dilation,
                      dilation, groups=init_channels, bias=False),
            build_norm_layer(norm_cfg, new_channels)[1],
            act())
        self.short_conv = None if dfc is None else DFCAttention(
            in_channels, out_channels, kernel_size, stride, norm_cfg=norm_cfg,
            dilation=dilation, **dfc)

    def forward(self, x):
        x1 = self.primary_conv(x)
        out = torch.cat([x1, self.cheap_operation(x1)], dim=1)[:, :self.out_channels]
        if self.short_conv is not None:
            out = self.short_conv(x, out)
        return out
