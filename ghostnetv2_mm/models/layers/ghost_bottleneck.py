"""Ghost bottleneck: Ghost module expansion, optional strided depthwise conv and SE,
Ghost module projection, plus a residual shortcut."""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from .ghost_module import GhostModule
from .squeeze_excite import SqueezeExcite


class GhostBottleneck(nn.Module):
    """The authors' ``GhostBottleneckV2`` (``GhostBottleneck`` when ``dfc`` is None).

    Child modules are declared in execution order and keep the authors'
    names, so checkpoints map one to one and every conv is directly followed
    by the norm that deploy mode folds into it.

    Args:
        in_channels, mid_channels, out_channels: input, expanded and output
            channel counts.
        dw_kernel_size: depthwise kernel of the strided conv and shortcut.
        stride: 1 or 2, as in the authors' model.
        se_ratio: squeeze-excitation ratio; 0 disables SE.
        dfc: DFC options for the first Ghost module, or None for no attention.
        dilation: > 1 runs the block at its input's resolution: the strided
            depthwise convs keep their weights (checkpoints still load) but
            use stride 1, and every spatial conv is dilated by this factor.
    """

    def __init__(self, in_channels, mid_channels, out_channels,
                 dw_kernel_size=3, stride=1, se_ratio=0., dfc=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), dilation=1):
        super().__init__()
        self.stride = stride
        conv_stride = 1 if dilation > 1 else stride
        dw_padding = (dw_kernel_size - 1) // 2 * dilation
        self.ghost1 = GhostModule(in_channels, mid_channels, use_act=True,
                                  dfc=dfc, norm_cfg=norm_cfg, act_cfg=act_cfg,
                                  dilation=dilation)
        if stride > 1:
            self.conv_dw = nn.Conv2d(
                mid_channels, mid_channels, dw_kernel_size, conv_stride,
                dw_padding, dilation, groups=mid_channels, bias=False)
            self.bn_dw = build_norm_layer(norm_cfg, mid_channels)[1]
        else:
            self.conv_dw = None
            self.bn_dw = None
        self.se = SqueezeExcite(mid_channels, se_ratio, act_cfg) \
            if se_ratio and se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_channels, out_channels, use_act=False,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg,
                                  dilation=dilation)
        # Deploy mode: add the shortcut into the (fresh) ghost2 output in place
        # when no autograd runs, saving a full-size allocation per block.
        self.inplace = False
        if in_channels == out_channels and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, dw_kernel_size, conv_stride,
                          dw_padding, dilation, groups=in_channels,
                          bias=False),
                build_norm_layer(norm_cfg, in_channels)[1],
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
            )

    def forward(self, x):
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        out = self.ghost2(out)
        if self.inplace and not torch.is_grad_enabled():
            return out.add_(self.shortcut(x))
        return out + self.shortcut(x)
