"""CBAM (Woo et al., ECCV 2018): a channel gate, then a spatial gate."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ...registry import MODELS


@MODELS.register_module()
class CBAM(nn.Module):
    """Convolutional Block Attention Module, one of the gates GhostNetV2's paper
    compares DFC attention with at the same place of a network.

    Channel gate: ``sigmoid(mlp(avgpool(x)) + mlp(maxpool(x)))``, the MLP being
    ``channels -> channels / ratio -> channels`` with a ReLU. Spatial gate:
    ``sigmoid(norm(conv_k([mean_c(x), max_c(x)])))``. The output is ``x`` times
    both, in that order. Registered in mmengine's ``MODELS``, so it also serves
    as an mmcv plug-in (``plugins=[dict(cfg=dict(type='CBAM'), ...)]``).

    Args:
        in_channels (int): channels of the gated map.
        ratio (int): reduction of the channel MLP (at least one hidden channel).
        kernel_size (int): odd kernel of the spatial gate's conv.
        norm_cfg (dict, optional): norm after the spatial conv (the authors'
            code has BN there); None for a conv with bias instead.
    """

    def __init__(self, in_channels, ratio=16, kernel_size=7, norm_cfg=dict(type='BN')):
        super().__init__()
        if not isinstance(ratio, int) or ratio < 1:
            raise ValueError(f'CBAM ratio must be a positive int, got {ratio!r}')
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'CBAM kernel_size must be a positive odd int (the '
                             f'authors use 7), got {kernel_size!r}')
        hidden = max(1, in_channels // ratio)
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1))
        self.spatial_conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2,
                                      bias=norm_cfg is None)
        self.spatial_norm = nn.Identity() if norm_cfg is None \
            else build_norm_layer(norm_cfg, 1)[1]

    def forward(self, x):
        channel = self.mlp(F.adaptive_avg_pool2d(x, 1)) + \
            self.mlp(F.adaptive_max_pool2d(x, 1))
        x = x * torch.sigmoid(channel)
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial_norm(self.spatial_conv(pooled)))
