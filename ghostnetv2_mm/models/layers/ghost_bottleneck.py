"""Ghost bottleneck: expand with a Ghost module, (downsample, SE), project back."""
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from .ghost_module import GhostModule
from .squeeze_excite import SqueezeExcite


class GhostBottleneck(nn.Module):
    """The authors' ``GhostBottleneckV2`` (GhostNetV1's ``GhostBottleneck``
    when ``dfc`` is None): ``ghost2(se(dw(ghost1(x)))) + shortcut(x)``.

    Children are declared in execution order with the authors' names, so
    their checkpoints map one to one and each conv directly precedes its norm.

    Args:
        in_channels / mid_channels / out_channels (int): input, expanded and
            output channels.
        dw_kernel_size (int): kernel of the strided depthwise conv and of the
            shortcut's depthwise conv.
        stride (int): 1 or 2.
        se_ratio (float): squeeze-excitation ratio; 0 for none.
        dfc (dict, optional): DFC attention options for ``ghost1``.
        dilation (int): > 1 keeps the input's resolution instead of striding
            (same weights, stride-1 convs dilated by this factor), for
            backbones run at output stride 16 or 8.
    """

    def __init__(self, in_channels, mid_channels, out_channels, dw_kernel_size=3,
                 stride=1, se_ratio=0., dfc=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), dilation=1):
        super().__init__()
        conv_stride = 1 if dilation > 1 else stride
        dw_padding = (dw_kernel_size - 1) // 2 * dilation

        def depthwise(channels):
            return nn.Conv2d(channels, channels, dw_kernel_size, conv_stride, dw_padding,
                             dilation, groups=channels, bias=False)

        self.ghost1 = GhostModule(in_channels, mid_channels, use_act=True, dfc=dfc,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg, dilation=dilation)
        if stride > 1:
            self.conv_dw = depthwise(mid_channels)
            self.bn_dw = build_norm_layer(norm_cfg, mid_channels)[1]
        else:
            self.conv_dw = self.bn_dw = None
        self.se = SqueezeExcite(mid_channels, se_ratio, act_cfg) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_channels, out_channels, use_act=False,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg, dilation=dilation)
        if in_channels == out_channels and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                depthwise(in_channels),
                build_norm_layer(norm_cfg, in_channels)[1],
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, x):
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out) + self.shortcut(x)
