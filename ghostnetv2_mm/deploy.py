"""Inference-time re-parameterisation: fold every norm into its conv, drop no-ops,
and run each conv (with the activation after it) the cheapest exact way.

Folding is written once for every conv + BatchNorm pair (stem, Ghost modules,
the three in each DFC branch, depthwise convs, shortcuts, the closing 1x1
conv), using mmcv's ``fuse_conv_bn``; then the ``nn.Identity`` placeholders it
leaves are removed so eager inference makes no empty module calls, and every
conv becomes a :class:`DeployConv2d`.
"""
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import fuse_conv_bn
from torch.nn.modules.batchnorm import _BatchNorm

from . import ops

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


def _onednn_available():
    try:
        return torch.backends.mkldnn.is_available() and \
            hasattr(torch.ops.mkldnn, '_convolution_pointwise')
    except (AttributeError, RuntimeError):
        return False


HAS_ONEDNN = _onednn_available()
if HAS_ONEDNN:  # resolved once: the overload lookup costs a microsecond a call
    _onednn_conv = torch.ops.mkldnn._convolution_pointwise.default
    _onednn_reorder = torch.ops.mkldnn._reorder_convolution_weight.default

# Activations a DeployConv2d applies itself: oneDNN's fused attribute and its
# scalars, the compiled depthwise kernel's (code, lo, hi), and the function
# other routes apply in place to the fresh output.
FUSABLE_ACTIVATIONS = {
    nn.ReLU: ('relu', [], (ops.ACT_CLAMP, 0., float('inf')), F.relu_),
    nn.ReLU6: ('hardtanh', [0., 6.], (ops.ACT_CLAMP, 0., 6.),
               functools.partial(F.hardtanh_, min_val=0., max_val=6.)),
    nn.Sigmoid: ('sigmoid', [], (ops.ACT_SIGMOID, 0., 0.), torch.sigmoid_),
}
NO_ACTIVATION = (ops.ACT_NONE, 0., 0.)

# The compiled kernels (ghostnetv2_mm.ops), once use_deploy_convs has loaded
# them; None: not loaded, disabled or not buildable here.
_kernels = None


class DeployConv2d(nn.Conv2d):
    """A folded conv for eager CPU inference, applying the activation after it.

    Batch-1 inference of a net this light is bound by per-op overhead, not
    arithmetic. Without autograd, on CPU and a float32 channels_last input,
    this conv takes the cheapest of three exact routes:

    * a stride-1 1x1 conv on a small map (at most ``gemm_pixels``) is one
      GEMM on the NHWC view, ``addmm(bias, x_nhwc, weight.T)``, whose result is
      already channels_last;
    * a depthwise conv on a map of at most ``kernel_pixels`` runs the compiled
      kernel of :mod:`ghostnetv2_mm.ops` (bias and activation fused) when it
      is available: oneDNN's per-call setup (~30 us) is several times the
      arithmetic of most of GhostNetV2's depthwise convs;
    * any other conv runs oneDNN's convolution with the weight reordered
      once into oneDNN's blocked layout and the activation fused in (what
      inductor's freezing does), instead of reordering on every call and
      running the activation as a separate op.

    Everything else (autograd, CUDA, other dtypes or layouts, tracing for
    ONNX/TorchScript) takes ``activation(conv2d(x))``. Under ``torch.compile``
    small 1x1 convs are traced as GEMMs up to ``compiled_gemm_pixels``, which
    lets inductor fuse bias and ReLU into them. Parameter names are those of
    ``nn.Conv2d``, so state dicts are unchanged; the re-laid-out weights are
    caches, rebuilt whenever the weight is replaced or changed in place.
    """

    gemm_pixels = 1024  # measured: 20x20 maps and below the GEMM wins, 40x40 up oneDNN
    kernel_pixels = 6400  # measured: up to 80x80 inputs the compiled kernel wins
    compiled_gemm_pixels = 12800  # measured under torch.compile: up to 113x113

    @classmethod
    def from_conv(cls, conv):
        """A DeployConv2d sharing ``conv``'s parameters (``conv`` is left as is)."""
        new = cls.__new__(cls)
        new.__dict__.update(conv.__dict__)
        new.__dict__['_parameters'] = dict(conv._parameters)
        new.activation = None  # an activation layer applied by this conv
        new._act_fn = None
        new._onednn_attr = ('none', [])
        new._kernel_act = NO_ACTIVATION
        # weight caches: (weight, (its address, version), re-laid-out copy)
        new._packed = None  # oneDNN's blocked layout
        new._khwc = None  # the compiled kernel's (KH, KW, C)
        new._gemm_weight = None  # (C_in, C_out) for addmm
        # hot-path constants, computed once
        new._pointwise = (conv.kernel_size == (1, 1) and conv.stride == (1, 1)
                          and conv.padding == (0, 0) and conv.groups == 1)
        new._depthwise = (conv.groups == conv.in_channels == conv.out_channels
                          and conv.padding_mode == 'zeros')
        new._keeps_size = (conv.stride == (1, 1) and all(
            2 * p == d * (k - 1) for p, d, k in zip(conv.padding, conv.dilation,
                                                   conv.kernel_size)))
        new._geometry = (list(conv.padding), list(conv.stride), list(conv.dilation),
                         conv.groups)
        new._onednn = HAS_ONEDNN and conv.padding_mode == 'zeros'
        return new

    def fuse_activation(self, act):
        """Apply ``act`` (ReLU, ReLU6, Sigmoid) in this conv from now on; False
        if it is not fusable."""
        if self.activation is not None or type(act) not in FUSABLE_ACTIVATIONS:
            return False
        self.activation = act
        attr, scalars, self._kernel_act, self._act_fn = FUSABLE_ACTIVATIONS[type(act)]
        self._onednn_attr = (attr, scalars)
        return True

    def forward(self, x):
        if torch.compiler.is_compiling():
            return self._plain(x, self.compiled_gemm_pixels)
        if _fast_input(x):
            pixels = x.shape[-2] * x.shape[-1]
            if self._pointwise and pixels <= self.gemm_pixels:
                return self._gemm(x)
            if self._kernel_ok(pixels):
                return self._kernel(x, False)
            if self._onednn and torch.backends.mkldnn.enabled:
                return _onednn_conv(x, self._cached('_packed', self._onednn_reorder),
                                    self.bias, *self._geometry, *self._onednn_attr, '')
        return self._plain(x, 0)

    def forward_concat(self, x, gate=None):
        """``cat([x, self(x)], dim=1)`` in one pass of the compiled kernel (a
        Ghost module's output from its primary half), times ``gate`` resized
        by repetition if one is given (half the output's even height and
        width: a DFC gate); ``None`` where that route does not apply: the
        caller then runs the conv, the concat and the gate."""
        if (not torch.compiler.is_compiling() and _fast_input(x) and self._keeps_size
                and self._kernel_ok(x.shape[-2] * x.shape[-1])):
            return self._kernel(x, True, gate)
        return None

    def _kernel_ok(self, pixels):
        return (self._depthwise and pixels <= self.kernel_pixels and _kernels is not None
                and self.bias is not None)

    def _kernel(self, x, keep_input, gate=None):
        return _kernels.depthwise_conv_nhwc(
            x, self._cached('_khwc', ops.pack_depthwise_weight), self.bias,
            *self.stride, *self.padding, *self.dilation, *self._kernel_act, keep_input,
            gate)

    def _gemm(self, x):
        n, _, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, -1)
        weight = self._cached('_gemm_weight', _gemm_layout)
        out = (torch.mm(rows, weight) if self.bias is None
               else torch.addmm(self.bias, rows, weight))
        out = out.view(n, h, w, -1).permute(0, 3, 1, 2)
        return out if self._act_fn is None else self._act_fn(out)

    def _plain(self, x, gemm_pixels):
        """The traceable route: GEMM for small 1x1 channels_last maps, else conv2d."""
        if self._pointwise and x.dim() == 4 and x.shape[-2] * x.shape[-1] <= gemm_pixels \
                and x.is_contiguous(memory_format=torch.channels_last):
            out = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1),
                           self.bias).permute(0, 3, 1, 2)
        else:
            out = super().forward(x)
        return out if self._act_fn is None else self._act_fn(out)

    def _onednn_reorder(self, weight):
        return _onednn_reorder(weight.detach(), *self._geometry)

    def _cached(self, slot, make):
        """``make(self.weight)``, kept in ``slot`` until the weight is replaced
        or changed in place (load_state_dict, .to(), in-place edits)."""
        weight = self.weight
        entry = self.__dict__[slot]
        key = (weight.data_ptr(), weight._version)
        if entry is None or entry[0] is not weight or entry[1] != key:
            entry = (weight, key, make(weight))
            self.__dict__[slot] = entry
        return entry[2]

    def __getstate__(self):
        # oneDNN's opaque weight cannot be copied or pickled; none of the
        # caches needs to be: each is rebuilt on first use
        return dict(super().__getstate__(), _packed=None, _khwc=None, _gemm_weight=None)


def _fast_input(x):
    """Whether ``x`` may take DeployConv2d's CPU routes: a float32 channels_last
    4D CPU tensor, with no autograd and no tracing."""
    return (x.is_cpu and not torch.is_grad_enabled() and x.dtype is torch.float32
            and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
            and not torch.jit.is_tracing())


def _gemm_layout(weight):
    """A 1x1 conv weight ``(C_out, C_in, 1, 1)`` as addmm's ``(C_in, C_out)``."""
    return weight.detach().flatten(1).t()


def use_deploy_convs(module):
    """Replace every plain ``nn.Conv2d`` in ``module`` by a :class:`DeployConv2d`
    sharing its parameters, and fuse each ReLU / ReLU6 / Sigmoid that directly
    follows a conv in an ``nn.Sequential`` into it (in place; returns ``module``).
    Loads (building once per machine) the compiled kernels if ``module`` has
    depthwise convs."""
    global _kernels
    if _kernels is None and any(type(m) is nn.Conv2d and m.groups > 1
                                for m in module.modules()):
        _kernels = ops.load_kernels()
    return _replace_convs(module)


def _replace_convs(module):
    for name, child in module.named_children():
        if type(child) is nn.Conv2d:
            setattr(module, name, DeployConv2d.from_conv(child))
        else:
            _replace_convs(child)
    if isinstance(module, nn.Sequential):
        children = list(module._modules.items())
        for (_, conv), (name, act) in zip(children, children[1:]):
            if isinstance(conv, DeployConv2d) and conv.fuse_activation(act):
                del module._modules[name]
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
