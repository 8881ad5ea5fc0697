"""``switch_to_deploy``: re-parameterise a trained model for inference by
swapping its modules, so the training layers never see inference code."""
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn
from torch.nn.modules.batchnorm import _BatchNorm

from ..models.backbones import GhostNetV2
from ..models.layers import DFCAttention, GhostBottleneck, GhostModule, SqueezeExcite
from ..registry import MODELS
from .conv import DeployConv2d, use_deploy_convs
from .layers import (DeployDFCAttention, DeployGhostBottleneck, DeployGhostModule,
                     DeploySqueezeExcite)

DEPLOY_TYPES = {DFCAttention: DeployDFCAttention, GhostModule: DeployGhostModule,
                GhostBottleneck: DeployGhostBottleneck, SqueezeExcite: DeploySqueezeExcite}
NORM_TYPES = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)

# Ghost modules with at most this many input channels are made concat-free
# (DeployGhostModule.merge): merging adds about in_channels / 2 multiply-adds
# per output value whose copy it saves, so it pays for narrow modules only.
# The crossover depends on the runtime (measured at 320x320, 2 threads): in
# PyTorch the channels_last concat is cheap (merging <= 24: 8% faster than
# none; all: 5% slower); in onnxruntime every concat also costs a layout
# reorder per half (merging <= 120: 12% faster than none, 6% than all).
MERGE_MAX_IN_CHANNELS = dict(torch=24, graph=120)


def switch_to_deploy(model, merge_max_in_channels=MERGE_MAX_IN_CHANNELS['torch']):
    """Re-parameterise ``model`` (a GhostNetV2, a detector / segmentor with one,
    or any model with DFC plug-ins) for inference, in place; returns it.

    Every norm is folded into the conv before it (mmcv's ``fuse_conv_bn``)
    and the no-op layers it leaves are dropped; Ghost layers are swapped for
    their :mod:`~ghostnetv2_mm.deploy.layers` versions, Ghost modules with at
    most ``merge_max_in_channels`` inputs made concat-free; every conv of the
    GhostNetV2 parts becomes a :class:`DeployConv2d` applying the ReLU /
    ReLU6 / sigmoid after it. Outputs stay those of the eval-mode model up to
    float rounding; ``train()`` is refused afterwards. Idempotent.
    """
    model.eval()
    ghost_parts = [m for m in model.modules()
                   if isinstance(m, (GhostNetV2, *DEPLOY_TYPES))]
    _check_foldable(ghost_parts)
    fuse_conv_bn(model)
    left = sorted({name for part in ghost_parts for name, m in part.named_modules()
                   if isinstance(m, _BatchNorm)})
    if left:
        raise RuntimeError(f'BatchNorm layers not directly after a conv were left '
                           f'unfolded: {left[:10]}')
    for part in ghost_parts:
        _drop_identities(part)
    _swap_layers(model)
    for part in model.modules():
        if isinstance(part, DeployGhostModule) and \
                _in_channels(part) <= merge_max_in_channels:
            part.merge()
        elif isinstance(part, GhostNetV2):
            use_deploy_convs(part)
            if isinstance(part.conv_stem, DeployConv2d) and \
                    part.conv_stem.fuse_activation(part.act1):
                part.act1 = nn.Identity()
    return model


@MODELS.register_module()
def DeployedGhostNetV2(**kwargs):
    """``GhostNetV2(**kwargs)`` switched to deploy mode: the structure that
    deploy checkpoints (``tools/deploy/switch_to_deploy.py``) load into."""
    kwargs['init_cfg'] = None  # the deploy checkpoint provides the weights
    return switch_to_deploy(GhostNetV2(**kwargs))


def _check_foldable(parts):
    bad = sorted({type(m).__name__ for part in parts for m in part.modules()
                  if isinstance(m, NORM_TYPES) and not isinstance(m, _BatchNorm)})
    if bad:
        raise ValueError(f'cannot switch to deploy mode: {bad} cannot be folded into '
                         f'convolutions (only BatchNorm / SyncBN can); build the '
                         f"model with norm_cfg=dict(type='BN') to deploy it")


def _drop_identities(module):
    """Remove the ``nn.Identity`` children of every ``nn.Sequential``."""
    for child in module.children():
        _drop_identities(child)
    if isinstance(module, nn.Sequential):
        for name, child in list(module._modules.items()):
            if isinstance(child, nn.Identity):
                del module._modules[name]


def _swap_layers(module):
    """Replace every training Ghost layer by its deploy version, innermost first."""
    for name, child in module.named_children():
        _swap_layers(child)
        deploy_type = DEPLOY_TYPES.get(type(child))
        if deploy_type is not None:
            setattr(module, name, deploy_type(child))


def _in_channels(module):
    conv = module.merged[0] if module.merged is not None else module.primary_conv[0]
    return conv.in_channels
