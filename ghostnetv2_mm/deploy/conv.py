"""``DeployConv2d``: a folded conv that runs the cheapest exact way on the CPU."""
import functools
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ops

# Activations a DeployConv2d can apply itself: oneDNN's fused attribute and its
# scalars, the compiled kernel's (code, lo, hi), and the in-place function the
# other routes apply to their fresh output.
FUSABLE_ACTIVATIONS = {
    nn.ReLU: ('relu', [], (ops.ACT_CLAMP, 0., float('inf')), F.relu_),
    nn.ReLU6: ('hardtanh', [0., 6.], (ops.ACT_CLAMP, 0., 6.),
               functools.partial(F.hardtanh_, min_val=0., max_val=6.)),
    nn.Sigmoid: ('sigmoid', [], (ops.ACT_SIGMOID, 0., 0.), torch.sigmoid_),
}
NO_ACTIVATION = ('none', [], (ops.ACT_NONE, 0., 0.), None)

# The compiled kernels (ghostnetv2_mm.deploy.ops) once use_deploy_convs has
# loaded them; None: not loaded, switched off or not buildable here.
_kernels = None


class InferenceOnly:
    """Mixin of the deploy modules: norms are folded away, so training them
    would train something else. ``eval()`` works; ``train()`` is refused."""

    def train(self, mode=True):
        if mode:
            raise RuntimeError(
                f'this model was switched to deploy mode (norms '
                f'folded into convs) and cannot be trained; build a fresh model from '
                f'the config and load the training checkpoint instead '
                f'(train() reached a {type(self).__name__})')
        return super().train(False)


@functools.lru_cache(maxsize=None)
def onednn_ops():
    """``(convolution_pointwise, reorder_convolution_weight)``: oneDNN's fused
    conv and its weight re-layout, the private torch ops inductor's freezing
    calls; ``None``, with one warning, where this torch lacks them."""
    try:
        if not torch.backends.mkldnn.is_available():
            raise RuntimeError('this torch build has no oneDNN (mkldnn)')
        return (torch.ops.mkldnn._convolution_pointwise.default,
                torch.ops.mkldnn._reorder_convolution_weight.default)
    except (AttributeError, RuntimeError) as err:
        warnings.warn(f'ghostnetv2_mm deploy: oneDNN fused convolutions are not '
                      f'available ({err}); deploy mode runs those convs as plain '
                      f'F.conv2d (exact, slower on CPU)', RuntimeWarning)
        return None


class DeployConv2d(InferenceOnly, nn.Conv2d):
    """A folded conv for inference that also applies the activation after it.

    Batch-1 inference of a net this light is bound by per-op overhead, not
    arithmetic. Without autograd, on CPU and a float32 channels_last input,
    it takes the cheapest of three exact routes:

    * a stride-1 1x1 conv on a small map (at most ``gemm_pixels``): one GEMM
      on the NHWC view, ``addmm(bias, x_nhwc, weight.T)``, already channels_last;
    * a depthwise conv on a map of at most ``kernel_pixels``: the compiled
      kernel of :mod:`ghostnetv2_mm.deploy.ops` (bias and activation fused),
      since oneDNN's per-call setup (~30 us) is several times the arithmetic
      of most of GhostNetV2's depthwise convs;
    * any other conv: oneDNN with the weight reordered once into its blocked
      layout and the activation fused in (what inductor's freezing does).

    Everything else (autograd, CUDA, other dtypes or layouts, tracing for
    ONNX / TorchScript) runs ``activation(conv2d(x))``. Under ``torch.compile``
    small 1x1 convs are traced as GEMMs up to ``compiled_gemm_pixels``, which
    lets inductor fuse bias and ReLU into them. Parameter names are those of
    ``nn.Conv2d``; re-laid-out weights are caches, rebuilt whenever the weight
    is replaced or changed in place.
    """

    gemm_pixels = 1024  # measured: up to 20x20 maps the GEMM wins, from 40x40 oneDNN
    kernel_pixels = 6400  # measured: up to 80x80 inputs the compiled kernel wins
    compiled_gemm_pixels = 12800  # measured under torch.compile: up to 113x113

    @classmethod
    def from_conv(cls, conv):
        """A DeployConv2d sharing ``conv``'s parameters."""
        new = cls.__new__(cls)
        new.__dict__.update(conv.__dict__)
        new.__dict__['_parameters'] = dict(conv._parameters)
        new.activation = None  # the activation layer this conv applies
        attr, scalars, new._kernel_act, new._act_fn = NO_ACTIVATION
        new._onednn_attr = (attr, scalars)
        # weight caches: (weight, (address, version), re-laid-out copy)
        new._packed = new._khwc = new._gemm_weight = None
        new._pointwise = (conv.kernel_size == (1, 1) and conv.stride == (1, 1)
                          and conv.padding == (0, 0) and conv.groups == 1)
        new._depthwise = (conv.groups == conv.in_channels == conv.out_channels
                          and conv.padding_mode == 'zeros')
        new._keeps_size = conv.stride == (1, 1) and all(
            2 * p == d * (k - 1)
            for p, d, k in zip(conv.padding, conv.dilation, conv.kernel_size))
        new._geometry = (list(conv.padding), list(conv.stride), list(conv.dilation),
                         conv.groups)
        new._onednn = conv.padding_mode == 'zeros' and onednn_ops() is not None
        return new

    def fuse_activation(self, act):
        """Apply ``act`` (ReLU, ReLU6, Sigmoid) in this conv from now on;
        False if it is not one of those or an activation is fused already."""
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
                conv, _ = onednn_ops()
                return conv(x, self._cached('_packed', self._onednn_reorder), self.bias,
                            *self._geometry, *self._onednn_attr, '')
        return self._plain(x, 0)

    def forward_concat(self, x, gate=None):
        """``cat([x, self(x)], dim=1)`` in one pass of the compiled kernel (a
        Ghost module's output from its primary half), times ``gate`` resized
        by repetition if given (half the output's even height and width: a
        DFC gate); ``None`` where that route does not apply."""
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
        """The traceable route: a GEMM for small 1x1 channels_last maps, else conv2d."""
        if self._pointwise and x.dim() == 4 and x.shape[-2] * x.shape[-1] <= gemm_pixels \
                and x.is_contiguous(memory_format=torch.channels_last):
            out = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1),
                           self.bias).permute(0, 3, 1, 2)
        else:
            out = self._conv_forward(x, self.weight, self.bias)
        return out if self._act_fn is None else self._act_fn(out)

    def _onednn_reorder(self, weight):
        return onednn_ops()[1](weight.detach(), *self._geometry)

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
        # oneDNN's opaque weight can be neither copied nor pickled; no cache
        # needs to be: each is rebuilt on first use
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
    Loads (building once per machine) the compiled kernels for depthwise convs."""
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
