"""Inference-time re-parameterisation: fold every norm into its conv, drop no-ops.

Written once for every conv + BatchNorm pair (stem, Ghost modules, the three
in each DFC branch, depthwise convs, shortcuts, the closing 1x1 conv), using
mmcv's ``fuse_conv_bn``; then the ``nn.Identity`` placeholders it leaves are
removed so eager inference makes no empty module calls.
"""
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn
from torch.nn.modules.batchnorm import _BatchNorm

NORM_TYPES = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def check_foldable(module, what='model'):
    """Raise if ``module`` has norms that cannot be folded into a conv."""
    bad = sorted({type(m).__name__ for m in module.modules()
                  if isinstance(m, NORM_TYPES) and not isinstance(m, _BatchNorm)})
    if bad:
        raise ValueError(f'cannot switch {what} to deploy mode: {bad} cannot be folded '
                         f'into convolutions (only BatchNorm/SyncBN can); build it '
                         f"with norm_cfg=dict(type='BN') to deploy")


def fold_batchnorms(module):
    """Fold each BatchNorm into the conv before it (in place) and return ``module``.

    A BatchNorm that does not directly follow a conv is an error, so nothing
    is silently left unfolded.
    """
    fuse_conv_bn(module)
    left = [name for name, m in module.named_modules() if isinstance(m, _BatchNorm)]
    if left:
        raise RuntimeError(f'BatchNorm layers not preceded by a conv were left '
                           f'unfolded: {left[:10]}')
    return module


def drop_identities(module):
    """Remove ``nn.Identity`` children from every ``nn.Sequential`` (in place)."""
    for child in module.children():
        drop_identities(child)
    if isinstance(module, nn.Sequential):
        keep = [(name, m) for name, m in module._modules.items()
                if not isinstance(m, nn.Identity)]
        if len(keep) != len(module._modules):
            module._modules.clear()
            for name, m in keep:
                module._modules[name] = m
    return module


def switch_model_to_deploy(model):
    """Deploy a whole detector / segmentor: the backbone's own switch, then fold
    the norms of neck and heads. Returns ``model`` in eval mode."""
    model.eval()
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and hasattr(backbone, 'switch_to_deploy'):
        backbone.switch_to_deploy()
    for name, child in model.named_children():
        if child is not backbone:
            fuse_conv_bn(child)
    return model
