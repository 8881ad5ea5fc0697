"""MobileNetV2 whose inverted residuals gate their expanded features with an
attention of choice: GhostNetV2's DFC attention, or one of the gates its paper
compares DFC with at the same place (SE, CBAM, coordinate attention).

This module imports mmdet (it extends mmdet's MobileNetV2); the package
registers it through a builder that imports it on first use, so
``import ghostnetv2_mm`` works without mmdet.
"""
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmdet.models.backbones import MobileNetV2
from mmdet.models.layers import InvertedResidual, SELayer

from ..layers import CBAM, CoordinateAttention, DFCAttention


ATTENTIONS = {'dfc': DFCAttention, 'se': SELayer, 'cbam': CBAM, 'ca': CoordinateAttention}


def build_attention(name, in_channels, channels, norm_cfg, cfg):
    """The ``name`` gate of ``channels`` expanded channels in a block taking
    ``in_channels``; ``cfg`` overrides its defaults."""
    if name == 'dfc':  # gate computed from the block's input
        return DFCAttention(in_channels, channels, **{'norm_cfg': norm_cfg, **cfg})
    if name == 'se':  # no norm; mmdet's default squeeze ratio, 16 (the SE paper's)
        return SELayer(channels, **cfg)
    return ATTENTIONS[name](channels, **{'norm_cfg': norm_cfg, **cfg})


class AttentionInvertedResidual(InvertedResidual):
    """mmdet's inverted residual with ``attention`` where mmdet puts its SE
    layer: after the depthwise conv, on the expanded features, before the
    linear projection. DFC attention computes its gate from the block's input,
    as GhostNetV2 computes it from its Ghost module's input (parallel to the
    expansion, so its 1x1 conv is as cheap as the expansion conv); the other
    gates compute theirs from the expanded features they gate."""

    def __init__(self, *args, attention, **kwargs):
        super().__init__(*args, **kwargs)
        self.attention = attention
        self.gate_from_input = isinstance(attention, DFCAttention)

    def forward(self, x):
        def inner(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.depthwise_conv(out)
            out = self.attention(x, out) if self.gate_from_input else self.attention(out)
            out = self.linear_conv(out)
            return x + self.drop_path(out) if self.with_res_shortcut else out

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(inner, x, use_reentrant=False)
        return inner(x)


class AttentionMobileNetV2(MobileNetV2):
    """mmdet's MobileNetV2 with an attention gate in every inverted residual.

    ``attention=None`` builds exactly mmdet's MobileNetV2 (the same blocks, so
    the same parameter names, and its ImageNet weights load unchanged); with an
    attention the other parameters keep their names too, and a MobileNetV2
    checkpoint loads with only the ``attention`` keys missing.

    Args:
        attention (str, optional): ``'dfc'`` (GhostNetV2's DFC attention, the
            package's one :class:`DFCAttention`), ``'se'`` (mmdet's
            ``SELayer``, ratio 16), ``'cbam'`` (:class:`CBAM`), ``'ca'``
            (:class:`CoordinateAttention`) or None.
        attention_cfg (dict, optional): more arguments of the chosen module,
            e.g. ``dict(dfc_kernel_size=7)`` or ``dict(ratio=8)``. The modules
            with norms use the backbone's ``norm_cfg`` unless this names one.
        **kwargs: mmdet's MobileNetV2 arguments (``widen_factor``,
            ``out_indices``, ``act_cfg``, ``norm_cfg``, ``init_cfg``, ...).

    ``out_channels`` lists the channels of ``out_indices``.
    """

    def __init__(self, attention=None, attention_cfg=None, **kwargs):
        if attention is not None and attention not in ATTENTIONS:
            raise ValueError(f'AttentionMobileNetV2: attention must be one of '
                             f'{tuple(ATTENTIONS)} or None, got {attention!r}')
        if attention_cfg is not None and not isinstance(attention_cfg, dict):
            raise TypeError(f'AttentionMobileNetV2: attention_cfg must be a dict of '
                            f'the attention module\'s arguments, got {attention_cfg!r}')
        if attention is None and attention_cfg:
            raise ValueError(f'AttentionMobileNetV2: attention_cfg={attention_cfg!r} '
                             f'is given but attention is None; choose an attention '
                             f'from {tuple(ATTENTIONS)} or drop attention_cfg')
        # make_layer runs inside MobileNetV2.__init__, so the choice is stored first
        self.attention_type = attention
        self.attention_cfg = dict(attention_cfg or {})
        super().__init__(**kwargs)
        self.out_channels = [self._channels(self.layers[i]) for i in self.out_indices]

    def _channels(self, name):
        module = getattr(self, name)
        last = module[-1].linear_conv if isinstance(module, nn.Sequential) else module
        return last.conv.out_channels

    def make_layer(self, out_channels, num_blocks, stride, expand_ratio):
        if self.attention_type is None:
            return super().make_layer(out_channels, num_blocks, stride, expand_ratio)
        blocks = []
        for i in range(num_blocks):
            mid_channels = int(round(self.in_channels * expand_ratio))
            blocks.append(AttentionInvertedResidual(
                self.in_channels, out_channels, mid_channels=mid_channels,
                stride=stride if i == 0 else 1, with_expand_conv=expand_ratio != 1,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp,
                attention=build_attention(self.attention_type, self.in_channels,
                                          mid_channels, self.norm_cfg,
                                          self.attention_cfg)))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)
