"""Inference-time re-parameterisation: fold every norm into its conv, drop no-ops.

Written once for every conv + BatchNorm pair (stem, Ghost modules, the three
in each DFC branch, depthwise convs, shortcuts, the closing 1x1 conv), using
mmcv's ``fuse_conv_bn``; then the ``nn.Identity`` placeholders it leaves are
removed so eager inference makes no empty module calls.
"""
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F
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


class PointwiseConv2d(nn.Conv2d):
    """A stride-1 1x1 conv that runs as one GEMM on small channels_last maps.

    A channels_last tensor viewed as NHWC is a (pixels x channels) matrix, so
    the conv is exactly ``linear(x_nhwc, weight, bias)`` and the result is
    already channels_last. On CPU this skips oneDNN's per-call overhead
    (tens of microseconds, most of a small map's cost); on maps above
    ``max_gemm_pixels`` oneDNN's blocked kernels win and are used. Parameter
    names are those of ``nn.Conv2d``, so state dicts are unchanged. Traced
    (ONNX, TorchScript) and other-layout inputs take the plain conv.
    """

    max_gemm_pixels = 12800  # measured: below 160x160 (0.5 of it) the GEMM wins

    def forward(self, x):
        if (x.device.type == 'cpu' and x.dim() == 4
                and x.shape[-2] * x.shape[-1] <= self.max_gemm_pixels
                and x.is_contiguous(memory_format=torch.channels_last)
                and not torch.jit.is_tracing()):
            out = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias)
            return out.permute(0, 3, 1, 2)
        return super().forward(x)


def use_pointwise_gemm(module):
    """Replace every stride-1, unpadded, ungrouped 1x1 ``nn.Conv2d`` in
    ``module`` by :class:`PointwiseConv2d` sharing its parameters (in place)."""
    for name, child in module.named_children():
        if type(child) is nn.Conv2d and child.kernel_size == (1, 1) \
                and child.stride == (1, 1) and child.padding == (0, 0) \
                and child.groups == 1 and child.padding_mode == 'zeros':
            pointwise = PointwiseConv2d.__new__(PointwiseConv2d)
            pointwise.__dict__.update(child.__dict__)
            setattr(module, name, pointwise)
        else:
            use_pointwise_gemm(child)
    return module


# Ghost modules with at most this many input channels are made concat-free
# (GhostModule.merge_for_deploy): merging adds about in_channels / 2
# multiply-adds per output value whose copy it saves, so it pays for narrow
# modules only. The crossover differs by runtime (measured at 320x320, 2
# threads): in PyTorch eager the channels_last concat is fairly cheap
# (merging <= 24: 8% faster than none; all: 5% slower), in onnxruntime each
# concat also costs a layout reorder per half (merging <= 120: about 12%
# faster than none, 6% faster than all).
MERGE_MAX_IN_CHANNELS = dict(torch=24, graph=120)


def merge_ghost_modules(module, max_in_channels):
    """Make the Ghost modules with at most ``max_in_channels`` inputs
    concat-free, in place, after the norms are folded; returns ``module``.
    See ``MERGE_MAX_IN_CHANNELS`` for the measured crossovers."""
    from .models.layers import GhostModule
    for m in module.modules():
        if isinstance(m, GhostModule) and m.merged is None \
                and m.primary_conv[0].in_channels <= max_in_channels:
            m.merge_for_deploy()
    return module


def compile_for_inference(model, **compile_kwargs):
    """``torch.compile`` a deployed model for inference: inductor's
    ``freezing`` treats the weights as constants (prepacked for the GEMM and
    conv kernels, with bias and ReLU fused into them). Returns a callable that
    runs under ``torch.no_grad()``, as a frozen graph must."""
    compiled = torch.compile(model, options={'freezing': True}, **compile_kwargs)

    @functools.wraps(model.forward)
    def run(*args, **kwargs):
        with torch.no_grad():
            return compiled(*args, **kwargs)
    run.compiled = compiled
    return run


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
