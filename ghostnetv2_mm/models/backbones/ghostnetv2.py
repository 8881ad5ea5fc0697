"""GhostNetV2 (Tang et al., NeurIPS 2022) as an OpenMMLab dense-prediction backbone."""
import numbers
import warnings

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.models.utils import make_divisible
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained
from ...deploy import (MERGE_MAX_IN_CHANNELS, DeployConv2d, check_foldable, drop_identities,
                       fold_batchnorms, merge_ghost_modules, use_deploy_convs)
from ...registry import register_backbone
from ..layers import DFCAttention, GhostBottleneck, GhostModule, SqueezeExcite
from ..layers.dfc_attention import check_dfc_options


class ConvBnAct(nn.Module):
    """The authors' closing 1x1 conv + norm + act (``blocks.9.0``)."""

    def __init__(self, in_channels, out_channels, norm_cfg, act_cfg):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act1 = build_activation_layer(act_cfg)

    def forward(self, x):
        return self.act1(self.bn1(self.conv(x)))


@register_backbone
class GhostNetV2(BaseModule):
    """GhostNetV2 backbone: Ghost bottlenecks whose cheap features are gated by
    DFC attention, the authors' ImageNet model without its classifier.

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
    parameters. ``self.out_channels`` lists the channels of the selected
    outputs, in order, for necks and heads to use.

    Args:
        widen_factor (float): width multiplier, > 0; channels are rounded to
            multiples of 4 as the authors round. Default: 1.0.
        out_indices (Sequence[int]): stage ends to return, see the table.
            Default: (1, 2, 3, 4).
        frozen_stages (int): freeze the stem and stages up to this index
            (parameters and norm statistics); -1 freezes nothing. Default: -1.
        dfc_stages (Sequence[int]): stages (1-4) whose bottlenecks gate their
            first Ghost module with DFC attention. The authors' model uses all
            four; blocks.0 and blocks.1 never have it. ``()`` gives GhostNetV1's
            architecture for ablations. Default: (1, 2, 3, 4).
        dfc_kernel_size (int): length of the DFC horizontal/vertical convs.
            Default: 5.
        dfc_downsample (str): ``'avg'`` or ``'max'`` pooling before DFC.
            Default: 'avg'.
        dfc_upsample (str): ``'nearest'`` or ``'bilinear'`` resize of the gate.
            Default: 'nearest'.
        output_stride (int): 32 (the authors' model), 16 or 8. Below 32 the
            stride-32 (and for 8 also the stride-16) stage keeps its input's
            resolution with dilated spatial convs instead, as DeepLabV3-style
            heads want; the parameters are unchanged, so the same weights load.
            Default: 32.
        in_channels (int): input image channels. Default: 3.
        norm_cfg (dict): norm layers (BN, SyncBN, GN, ... via mmcv).
            Default: dict(type='BN').
        act_cfg (dict): activation of the stem, Ghost modules and SE.
            Default: dict(type='ReLU').
        norm_eval (bool): keep norm layers in eval mode while training.
            Default: False.
        with_cp (bool): gradient checkpointing per bottleneck. Default: False.
        deploy (bool): build the inference-only structure that
            :meth:`switch_to_deploy` produces (norms folded into convs), to
            load checkpoints saved after that switch. Default: False.
        pretrained (str, optional): deprecated, use ``init_cfg``.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH[, prefix='backbone.'])`` loads the authors' / timm /
            converted weights with exact key checking.
    """

    # Per entry of the authors' ``blocks``: bottlenecks as
    # (dw kernel, expanded channels, out channels, SE ratio, stride).
    arch_settings = [
        [(3, 16, 16, 0, 1)],
        [(3, 48, 24, 0, 2)],
        [(3, 72, 24, 0, 1)],
        [(5, 72, 40, 0.25, 2)],
        [(5, 120, 40, 0.25, 1)],
        [(3, 240, 80, 0, 2)],
        [(3, 200, 80, 0, 1),
         (3, 184, 80, 0, 1),
         (3, 184, 80, 0, 1),
         (3, 480, 112, 0.25, 1),
         (3, 672, 112, 0.25, 1)],
        [(5, 672, 160, 0.25, 2)],
        [(5, 960, 160, 0, 1),
         (5, 960, 160, 0.25, 1),
         (5, 960, 160, 0, 1),
         (5, 960, 160, 0.25, 1)],
    ]
    head_channels = 960  # the closing 1x1 conv, before width scaling
    # out index -> (last ``blocks`` entry it needs, stride); -1 = stem only.
    stage_ends = {0: (-1, 2), 1: (2, 4), 2: (4, 8), 3: (6, 16), 4: (8, 32),
                  5: (9, 32)}
    # The first bottlenecks never use DFC in the authors' model.
    num_plain_bottlenecks = 2

    def __init__(self,
                 widen_factor=1.0,
                 out_indices=(1, 2, 3, 4),
                 frozen_stages=-1,
                 dfc_stages=(1, 2, 3, 4),
                 dfc_kernel_size=5,
                 dfc_downsample='avg',
                 dfc_upsample='nearest',
                 output_stride=32,
                 in_channels=3,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 norm_eval=False,
                 with_cp=False,
                 deploy=False,
                 pretrained=None,
                 init_cfg=None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('GhostNetV2: set either init_cfg or the deprecated '
                                 'pretrained, not both')
            warnings.warn('GhostNetV2: `pretrained` is deprecated, use '
                          "init_cfg=dict(type='Pretrained', checkpoint=...)")
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1,
                             layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg)
        self._check_args(widen_factor, out_indices, frozen_stages, dfc_stages,
                         in_channels)
        check_dfc_options(dfc_kernel_size, dfc_downsample, dfc_upsample)
        if output_stride not in (8, 16, 32) or isinstance(output_stride, bool):
            raise ValueError(f'GhostNetV2: output_stride must be 32 (no dilation), 16 or '
                             f'8, got {output_stride!r}')
        self.output_stride = output_stride
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.dfc_stages = tuple(dfc_stages)
        self.in_channels = in_channels
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.deployed = False

        stem_channels = make_divisible(16 * widen_factor, 4)
        self.conv_stem = nn.Conv2d(in_channels, stem_channels, 3, 2, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, stem_channels)[1]
        self.act1 = build_activation_layer(act_cfg)

        dfc = dict(dfc_kernel_size=dfc_kernel_size, downsample=dfc_downsample,
                   upsample=dfc_upsample)
        last_block = max(self.stage_ends[i][0] for i in self.out_indices)
        channels, block_channels = stem_channels, []
        stages, layer_id = [], 0
        for block_idx in range(min(last_block + 1, len(self.arch_settings))):
            layers = []
            for k, exp, out, se_ratio, stride in self.arch_settings[block_idx]:
                use_dfc = (layer_id >= self.num_plain_bottlenecks
                           and self.stage_of_block(block_idx) in self.dfc_stages)
                out_channels = make_divisible(out * widen_factor, 4)
                layers.append(GhostBottleneck(
                    channels, make_divisible(exp * widen_factor, 4), out_channels,
                    k, stride, se_ratio=se_ratio, dfc=dfc if use_dfc else None,
                    norm_cfg=norm_cfg, act_cfg=act_cfg,
                    dilation=self.stage_dilation(self.stage_of_block(block_idx))))
                channels = out_channels
                layer_id += 1
            stages.append(nn.Sequential(*layers))
            block_channels.append(channels)
        if last_block == len(self.arch_settings):
            head = make_divisible(self.head_channels * widen_factor, 4)
            stages.append(nn.Sequential(ConvBnAct(channels, head, norm_cfg, act_cfg)))
            block_channels.append(head)
        self.blocks = nn.Sequential(*stages)

        # blocks index whose output is returned (the stem's -1 is handled apart).
        self._taps = frozenset(self.stage_ends[i][0] for i in self.out_indices)
        self.out_channels = [
            block_channels[self.stage_ends[i][0]] if i > 0 else stem_channels
            for i in self.out_indices]
        self.out_strides = [min(self.stage_ends[i][1], output_stride)
                            for i in self.out_indices]
        self._freeze_stages()
        if deploy:
            self.switch_to_deploy()

    def stage_dilation(self, stage):
        """Dilation of a stage's spatial convs for ``self.output_stride``."""
        return max(1, self.stage_ends[stage][1] // self.output_stride)

    @classmethod
    def stage_of_block(cls, block_idx):
        """Stage index (1-4) of the authors' ``blocks`` entry; 5 for blocks.9."""
        for stage in range(1, 6):
            if block_idx <= cls.stage_ends[stage][0]:
                return stage
        raise IndexError(block_idx)

    @classmethod
    def _check_args(cls, widen_factor, out_indices, frozen_stages, dfc_stages,
                    in_channels):
        valid = sorted(cls.stage_ends)
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, numbers.Real) \
                or not widen_factor > 0:
            raise ValueError(f'GhostNetV2: widen_factor must be a number > 0 '
                             f'(released: 1.0, 1.3, 1.6), got {widen_factor!r}')
        if isinstance(out_indices, int) or not out_indices:
            raise ValueError(f'GhostNetV2: out_indices must be a non-empty sequence '
                             f'of stage indices from {valid}, got {out_indices!r}')
        bad = [i for i in out_indices if isinstance(i, bool) or i not in cls.stage_ends]
        if bad:
            raise ValueError(f'GhostNetV2: out_indices {bad} out of range; valid '
                             f'indices are {valid} (0 = stem, 1-4 = stride 4-32 '
                             f'stage ends, 5 = final 1x1 conv)')
        if list(out_indices) != sorted(set(out_indices)):
            raise ValueError(f'GhostNetV2: out_indices must be strictly increasing '
                             f'without repeats, got {tuple(out_indices)}')
        if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) \
                or not -1 <= frozen_stages <= max(out_indices):
            raise ValueError(
                f'GhostNetV2: frozen_stages must be an int from -1 (nothing frozen) '
                f'to {max(out_indices)} (the last built stage for out_indices '
                f'{tuple(out_indices)}), got {frozen_stages!r}')
        if isinstance(dfc_stages, int) or \
                any(isinstance(s, bool) or s not in (1, 2, 3, 4) for s in dfc_stages):
            raise ValueError(f'GhostNetV2: dfc_stages must be a sequence of stage '
                             f'indices from (1, 2, 3, 4), or () for GhostNetV1; '
                             f'got {dfc_stages!r}')
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) \
                or in_channels < 1:
            raise ValueError(f'GhostNetV2: in_channels must be a positive int, '
                             f'got {in_channels!r}')

    def _check_input(self, x):
        if x.dim() != 4:
            raise ValueError(f'GhostNetV2 expects a 4D (N, C, H, W) tensor, got '
                             f'shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'GhostNetV2 expects {self.in_channels} input channels '
                             f'(in_channels={self.in_channels}), got {x.shape[1]} '
                             f'in shape {tuple(x.shape)}')

    def forward(self, x):
        self._check_input(x)
        x = self.act1(self.bn1(self.conv_stem(x)))
        outs = [x] if 0 in self.out_indices else []
        for block_idx, stage in enumerate(self.blocks):
            for layer in stage:
                if self.with_cp and self.training and x.requires_grad:
                    x = cp.checkpoint(layer, x, use_reentrant=False)
                else:
                    x = layer(x)
            if block_idx in self._taps:
                outs.append(x)
        return tuple(outs)

    def _frozen_modules(self):
        if self.frozen_stages >= 0:
            yield from (self.conv_stem, self.bn1, self.act1)
        last = self.stage_ends[self.frozen_stages][0] if self.frozen_stages >= 0 else -1
        yield from self.blocks[:last + 1]

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        if mode and self.deployed:
            raise RuntimeError(
                'GhostNetV2 was switched to deploy mode (norms folded into convs) '
                'and cannot be trained; build a fresh model from the config and '
                'load the training checkpoint instead')
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def switch_to_deploy(self):
        """Fold every norm into the conv before it and drop the no-op layers;
        make the narrow Ghost modules concat-free; turn every conv into a
        :class:`~ghostnetv2_mm.deploy.DeployConv2d` that applies the ReLU after
        it (on CPU: prepacked oneDNN convs, small 1x1 convs as GEMMs); and, when
        no autograd runs, apply DFC gates, SE scales and shortcut sums in place.

        The outputs stay those of the eval-mode model (up to float rounding);
        the model can no longer be trained. Idempotent.
        """
        if self.deployed:
            return self
        check_foldable(self, 'GhostNetV2')
        self.eval()
        fold_batchnorms(self)
        drop_identities(self)
        merge_ghost_modules(self, MERGE_MAX_IN_CHANNELS['torch'])
        use_deploy_convs(self)  # fuses the ReLUs that follow convs in Sequentials
        # the two conv -> act pairs that live outside a Sequential
        pairs = [(self, self.conv_stem)] + [(m, m.conv) for m in self.modules()
                                            if isinstance(m, ConvBnAct)]
        for owner, conv in pairs:
            if conv.fuse_activation(owner.act1):
                owner.act1 = nn.Identity()
        for module in self.modules():
            if isinstance(module, GhostModule) and module.merged is None:
                cheap = module.cheap_operation
                module.concat_in_cheap = (len(cheap) == 1
                                          and isinstance(cheap[0], DeployConv2d))
        for module in self.modules():
            # every ReLU, gate product, SE scaling and shortcut sum here acts on
            # a fresh tensor that nothing else reads (the last three only
            # without autograd)
            if isinstance(module, (nn.ReLU, GhostBottleneck, DFCAttention, SqueezeExcite)):
                module.inplace = True
        self.deployed = True
        return self

    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                            map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()
