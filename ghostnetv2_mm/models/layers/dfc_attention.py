"""DFC attention: GhostNetV2's long-range gate (the paper's Sec. 3.2)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ...registry import MODELS

POOLS = {'avg': F.avg_pool2d, 'max': F.max_pool2d}
UPSAMPLE_MODES = ('nearest', 'bilinear')


def check_dfc_options(kernel_size, downsample, upsample):
    """Raise a ValueError naming the bad DFC option and the valid choices."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) \
            or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'DFC kernel_size must be a positive odd int (the authors '
                         f'use 5), got {kernel_size!r}')
    if downsample not in POOLS:
        raise ValueError(f'DFC downsample must be one of {tuple(POOLS)}, '
                         f'got {downsample!r}')
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f'DFC upsample must be one of {UPSAMPLE_MODES}, '
                         f'got {upsample!r}')


def resize_like(gate, target, mode):
    """``gate`` resized to ``target``'s height and width."""
    return F.interpolate(gate, size=target.shape[-2:], mode=mode,
                         align_corners=False if mode == 'bilinear' else None)


@MODELS.register_module()
class DFCAttention(nn.Sequential):
    """Gate a feature map with attention from decoupled fully connected layers.

    The input is pooled 2x (DFC runs at half resolution to stay cheap), projected
    by a ``kernel_size`` conv, then mixed along every row by a ``1 x K`` and
    along every column by a ``K x 1`` depthwise conv, so each gate value sees a
    K x K cross of the half-resolution map, and two stacked gates see the whole
    image. The gate, ``sigmoid`` of that, is resized to the gated map's exact
    size and multiplies it.

    In GhostNetV2 the gate is computed from a Ghost module's input and applied
    to its output (``forward(x, target)``). As a plug-in for other backbones
    (e.g. ``plugins=[dict(cfg=dict(type='DFCAttention'), stages=...,
    position='after_conv2')]`` in mmdet's / mmseg's ResNet) ``forward(x)`` gates
    ``x`` itself. The layers form a Sequential, so the authors' parameter
    names (``short_conv.0`` ... ``short_conv.5``) hold.

    Args:
        in_channels (int): channels of the input the gate is computed from.
        out_channels (int, optional): channels of the gated map; default
            ``in_channels``.
        kernel_size / stride (int): of the projecting conv (GhostNetV2 matches
            its Ghost module's primary conv: 1 / 1).
        dfc_kernel_size (int): length K of the horizontal / vertical convs.
        downsample (str): ``'avg'`` (the authors') or ``'max'`` 2x2 pooling.
        upsample (str): ``'nearest'`` (the authors') or ``'bilinear'`` resize.
        norm_cfg (dict): norm after each conv.
        dilation (int): of the horizontal / vertical convs (keeps their reach
            in stages run at a smaller output stride).
    """

    def __init__(self, in_channels, out_channels=None, kernel_size=1, stride=1,
                 dfc_kernel_size=5, downsample='avg', upsample='nearest',
                 norm_cfg=dict(type='BN'), dilation=1):
        check_dfc_options(dfc_kernel_size, downsample, upsample)
        out_channels = out_channels or in_channels
        pad = dfc_kernel_size // 2 * dilation
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                      kernel_size // 2, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (1, dfc_kernel_size), 1, (0, pad),
                      (1, dilation), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (dfc_kernel_size, 1), 1, (pad, 0),
                      (dilation, 1), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        )
        self.downsample = downsample
        self.upsample = upsample

    def gate(self, x):
        """The attention at half resolution: ``sigmoid(layers(pool(x)))``."""
        # 2x2 pooling (floor mode) as the authors; a 1-pixel side stays 1 pixel.
        kernel = (min(2, x.shape[-2]), min(2, x.shape[-1]))
        return torch.sigmoid(super().forward(POOLS[self.downsample](x, kernel, kernel)))

    def forward(self, x, target=None):
        """``target * resize(gate(x))``; ``target`` defaults to ``x``."""
        target = x if target is None else target
        return target * resize_like(self.gate(x), target, self.upsample)
