"""GhostNetV2 (Tang et al., NeurIPS 2022) as an OpenMMLab dense-prediction backbone."""
import numbers
import warnings
from collections import OrderedDict

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained
from ...registry import MODELS
from ..layers import GhostBottleneck
from ..layers.dfc_attention import check_dfc_options
from ..utils import make_divisible


def conv_bn_act(in_channels, out_channels, norm_cfg, act_cfg):
    """The authors' closing 1x1 ``ConvBnAct`` (``blocks.9.0``), with their names."""
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
        bn1=build_norm_layer(norm_cfg, out_channels)[1],
        act1=build_activation_layer(act_cfg)))


@MODELS.register_module()
class GhostNetV2(BaseModule):
    """GhostNetV2 backbone: Ghost bottlenecks whose cheap features are gated by
    DFC attention; the authors' ImageNet model without its classifier.

    Stage ends (``out_indices``), for widths 1.0 / 1.3 / 1.6:

    =====  ===================================  ======  =====================
    index  module (authors' names)              stride  channels
    =====  ===================================  ======  =====================
    0      stem (conv_stem, bn1, act1)          2       16 / 20 / 24
    1      blocks.2                             4       24 / 32 / 40
    2      blocks.4                             8       40 / 52 / 64
    3      blocks.6                             16      112 / 144 / 180
    4      blocks.8                             32      160 / 208 / 256
    5      blocks.9 (1x1 conv + norm + act)     32      960 / 1248 / 1536
    =====  ===================================  ======  =====================

    Layers past the last requested index are not built, so DDP sees no unused
    parameters. ``out_channels`` and ``out_strides`` describe the outputs.
    Inference-only re-parameterisation lives in :mod:`ghostnetv2_mm.deploy`.

    Args:
        widen_factor (float): width multiplier > 0; channels rounded to
            multiples of 4 as the authors round. Default: 1.0.
        out_indices (Sequence[int]): stage ends to return (table above).
            Default: (1, 2, 3, 4).
        frozen_stages (int): freeze the stem and stages up to this index
            (parameters and norm statistics); -1 freezes nothing. Default: -1.
        dfc_stages (Sequence[int]): stages (1-4) whose bottlenecks gate their
            first Ghost module with DFC attention; blocks.0 and blocks.1 never
            do. ``()`` is GhostNetV1's architecture. Default: (1, 2, 3, 4).
        dfc_kernel_size (int): length of DFC's horizontal / vertical convs.
            Default: 5.
        dfc_downsample (str): ``'avg'`` or ``'max'`` pooling before DFC.
        dfc_upsample (str): ``'nearest'`` or ``'bilinear'`` resize of the gate.
        output_stride (int): 32 (the authors'), 16 or 8: below 32 the last
            stage(s) keep their input's resolution with dilated convs, as
            DeepLabV3-style heads want; same parameters. Default: 32.
        in_channels (int): input channels. Default: 3.
        norm_cfg (dict): norm layers (BN, SyncBN, GN, ... via mmcv).
        act_cfg (dict): activation of the stem, Ghost modules and SE.
        norm_eval (bool): keep norm layers in eval mode while training.
        with_cp (bool): gradient checkpointing per bottleneck.
        pretrained (str, optional): deprecated, use ``init_cfg``.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH[, prefix='backbone.'])`` loads the authors' / timm /
            converted weights with exact key checking.
    """

    # The authors' ``blocks``: per entry, its bottlenecks as
    # (depthwise kernel, expanded channels, out channels, SE ratio, stride).
    arch_settings = [
        [(3, 16, 16, 0, 1)],
        [(3, 48, 24, 0, 2)],
        [(3, 72, 24, 0, 1)],
        [(5, 72, 40, 0.25, 2)],
        [(5, 120, 40, 0.25, 1)],
        [(3, 240, 80, 0, 2)],
        [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1),
         (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
        [(5, 672, 160, 0.25, 2)],
        [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1),
         (5, 960, 160, 0.25, 1)],
    ]
    stem_channels = 16
    head_channels = 960  # the closing 1x1 conv (blocks.9)
    # out index -> (last ``blocks`` entry it needs, stride); -1 = the stem.
    stage_ends = {0: (-1, 2), 1: (2, 4), 2: (4, 8), 3: (6, 16), 4: (8, 32),
                  5: (9, 32)}
    num_plain_bottlenecks = 2  # blocks.0 and blocks.1 have no DFC attention

    def __init__(self, widen_factor=1.0, out_indices=(1, 2, 3, 4), frozen_stages=-1,
                 dfc_stages=(1, 2, 3, 4), dfc_kernel_size=5, dfc_downsample='avg',
                 dfc_upsample='nearest', output_stride=32, in_channels=3,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), norm_eval=False,
                 with_cp=False, pretrained=None, init_cfg=None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('GhostNetV2: set either init_cfg or the deprecated '
                                 'pretrained, not both')
            warnings.warn('GhostNetV2: `pretrained` is deprecated, use '
                          "init_cfg=dict(type='Pretrained', checkpoint=...)")
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg)
        self._check_args(widen_factor, out_indices, frozen_stages, dfc_stages,
                         output_stride, in_channels)
        check_dfc_options(dfc_kernel_size, dfc_downsample, dfc_upsample)
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.dfc_stages = tuple(dfc_stages)
        self.output_stride = output_stride
        self.in_channels = in_channels
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        def width(channels):
            return make_divisible(channels * widen_factor, 4)

        # stem
        channels = width(self.stem_channels)
        self.conv_stem = nn.Conv2d(in_channels, channels, 3, 2, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.act1 = build_activation_layer(act_cfg)
        ends = {-1: channels}

        # stages of Ghost bottlenecks, up to the last one an output needs
        dfc = dict(dfc_kernel_size=dfc_kernel_size, downsample=dfc_downsample,
                   upsample=dfc_upsample)
        last = max(self.stage_ends[i][0] for i in self.out_indices)
        blocks, layer_id = [], 0
        for idx, settings in enumerate(self.arch_settings[:last + 1]):
            stage = self.stage_of_block(idx)
            layers = []
            for kernel, mid, out, se_ratio, stride in settings:
                use_dfc = layer_id >= self.num_plain_bottlenecks and stage in dfc_stages
                layers.append(GhostBottleneck(
                    channels, width(mid), width(out), kernel, stride, se_ratio,
                    dfc if use_dfc else None, norm_cfg, act_cfg,
                    dilation=self.stage_dilation(stage)))
                channels = width(out)
                layer_id += 1
            blocks.append(nn.Sequential(*layers))
            ends[idx] = channels
        # the closing 1x1 conv
        if last == len(self.arch_settings):
            blocks.append(nn.Sequential(
                conv_bn_act(channels, width(self.head_channels), norm_cfg, act_cfg)))
            ends[last] = width(self.head_channels)
        self.blocks = nn.Sequential(*blocks)

        self._taps = {self.stage_ends[i][0] for i in self.out_indices}
        self.out_channels = [ends[self.stage_ends[i][0]] for i in self.out_indices]
        self.out_strides = [min(self.stage_ends[i][1], output_stride)
                            for i in self.out_indices]
        self._freeze_stages()

    @classmethod
    def stage_of_block(cls, block_idx):
        """Stage index (1-4) of the authors' ``blocks`` entry; 5 for blocks.9."""
        return next(s for s in range(1, 6) if block_idx <= cls.stage_ends[s][0])

    def stage_dilation(self, stage):
        """Dilation of a stage's spatial convs for ``self.output_stride``."""
        return max(1, self.stage_ends[stage][1] // self.output_stride)

    def forward(self, x):
        self._check_input(x)
        x = self.act1(self.bn1(self.conv_stem(x)))
        outs = [x] if 0 in self.out_indices else []
        for idx, stage in enumerate(self.blocks):
            for layer in stage:
                if self.with_cp and self.training and x.requires_grad:
                    x = cp.checkpoint(layer, x, use_reentrant=False)
                else:
                    x = layer(x)
            if idx in self._taps:
                outs.append(x)
        return tuple(outs)

    def _frozen_modules(self):
        if self.frozen_stages >= 0:
            yield from (self.conv_stem, self.bn1, self.act1)
            yield from self.blocks[:self.stage_ends[self.frozen_stages][0] + 1]

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                            map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()

    def _check_input(self, x):
        if x.dim() != 4:
            raise ValueError(f'GhostNetV2 expects a 4D (N, C, H, W) tensor, got '
                             f'shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'GhostNetV2 expects {self.in_channels} input channels '
                             f'(in_channels={self.in_channels}), got {x.shape[1]} '
                             f'in shape {tuple(x.shape)}')

    @classmethod
    def _check_args(cls, widen_factor, out_indices, frozen_stages, dfc_stages,
                    output_stride, in_channels):
        valid = sorted(cls.stage_ends)

        def is_int(value):
            return isinstance(value, int) and not isinstance(value, bool)

        if not isinstance(widen_factor, numbers.Real) or isinstance(widen_factor, bool) \
                or not widen_factor > 0:
            raise ValueError(f'GhostNetV2: widen_factor must be a number > 0 '
                             f'(released: 1.0, 1.3, 1.6), got {widen_factor!r}')
        if isinstance(out_indices, int) or not out_indices:
            raise ValueError(f'GhostNetV2: out_indices must be a non-empty sequence '
                             f'of stage indices from {valid}, got {out_indices!r}')
        bad = [i for i in out_indices if not is_int(i) or i not in cls.stage_ends]
        if bad:
            raise ValueError(f'GhostNetV2: out_indices {bad} out of range; valid '
                             f'indices are {valid} (0 = stem, 1-4 = stride 4-32 '
                             f'stage ends, 5 = final 1x1 conv)')
        if list(out_indices) != sorted(set(out_indices)):
            raise ValueError(f'GhostNetV2: out_indices must be strictly increasing '
                             f'without repeats, got {tuple(out_indices)}')
        if not is_int(frozen_stages) or not -1 <= frozen_stages <= max(out_indices):
            raise ValueError(
                f'GhostNetV2: frozen_stages must be an int from -1 (nothing frozen) '
                f'to {max(out_indices)} (the last built stage for out_indices '
                f'{tuple(out_indices)}), got {frozen_stages!r}')
        if isinstance(dfc_stages, int) or \
                any(not is_int(s) or s not in (1, 2, 3, 4) for s in dfc_stages):
            raise ValueError(f'GhostNetV2: dfc_stages must be a sequence of stage '
                             f'indices from (1, 2, 3, 4), or () for GhostNetV1; '
                             f'got {dfc_stages!r}')
        if not is_int(output_stride) or output_stride not in (8, 16, 32):
            raise ValueError(f'GhostNetV2: output_stride must be 32 (no dilation), 16 '
                             f'or 8, got {output_stride!r}')
        if not is_int(in_channels) or in_channels < 1:
            raise ValueError(f'GhostNetV2: in_channels must be a positive int, '
                             f'got {in_channels!r}')
