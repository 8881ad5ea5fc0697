"""Coordinate attention (Hou et al., CVPR 2021): a row gate and a column gate."""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from ...registry import MODELS


@MODELS.register_module()
class CoordinateAttention(nn.Module):
    """Gate ``x`` with one sigmoid per row and one per column.

    The map is averaged along its width (one vector per row) and along its
    height (one per column); both go through a shared 1x1 conv to
    ``max(min_channels, in_channels // ratio)`` channels with norm and
    activation, then through their own 1x1 conv back to ``in_channels``.
    ``out = x * sigmoid(rows) * sigmoid(cols)`` broadcast over the map. Like
    DFC attention it mixes information along whole rows and columns, which is
    why GhostNetV2's paper compares the two. Registered in mmengine's
    ``MODELS``, so it also serves as an mmcv plug-in.

    Args:
        in_channels (int): channels of the gated map.
        ratio (int): reduction of the shared conv (the authors use 32).
        min_channels (int): floor of the reduced width (the authors use 8).
        norm_cfg / act_cfg (dict): after the shared conv (the authors: BN and
            hard swish).
    """

    def __init__(self, in_channels, ratio=32, min_channels=8, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='HSwish')):
        super().__init__()
        if not isinstance(ratio, int) or ratio < 1:
            raise ValueError(f'CoordinateAttention ratio must be a positive int, '
                             f'got {ratio!r}')
        hidden = max(min_channels, in_channels // ratio)
        self.conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.norm = build_norm_layer(norm_cfg, hidden)[1]
        self.act = build_activation_layer(act_cfg)
        self.conv_h = nn.Conv2d(hidden, in_channels, 1)
        self.conv_w = nn.Conv2d(hidden, in_channels, 1)

    def forward(self, x):
        height = x.shape[2]
        rows = x.mean(3, keepdim=True)                      # N, C, H, 1
        cols = x.mean(2, keepdim=True).transpose(2, 3)      # N, C, W, 1
        y = self.act(self.norm(self.conv(torch.cat([rows, cols], dim=2))))
        rows, cols = y[:, :, :height], y[:, :, height:].transpose(2, 3)
        return x * torch.sigmoid(self.conv_h(rows)) * torch.sigmoid(self.conv_w(cols))
