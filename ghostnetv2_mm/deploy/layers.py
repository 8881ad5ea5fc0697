"""Inference versions of the Ghost layers, swapped in by ``switch_to_deploy``.

Each is built from its folded training layer (norms already folded into the
convs) and computes the same values, with what only inference allows: the
gate products, SE scales and shortcut sums written into fresh tensors in
place when no autograd runs, the DFC gate multiplied by broadcasting instead
of resizing, Ghost modules that write their concatenation in one pass, and a
one-node ``Resize`` per gate in exported graphs.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.layers.dfc_attention import POOLS, resize_like
from .conv import DeployConv2d, InferenceOnly, use_deploy_convs

# act(act(x)) == act(x): a merged Ghost module applies these twice
IDEMPOTENT_ACTS = (nn.ReLU, nn.ReLU6)


def cat_channels(a, b):
    """``torch.cat([a, b], dim=1)``, about 3x faster for channels_last tensors:
    viewed as NHWC they are contiguous and concatenating the last dim is a
    plain copy, while ``cat`` takes a slow strided path."""
    if a.is_contiguous(memory_format=torch.channels_last) and not a.is_contiguous():
        return torch.cat([a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)],
                         dim=3).permute(0, 3, 1, 2)
    return torch.cat([a, b], dim=1)


class _ExportResizeLike(torch.autograd.Function):
    """:func:`resize_like` as one ONNX ``Resize`` whose ``sizes`` input is
    ``Shape(target)`` (the gate has the target's N and C). The stock
    ``F.interpolate(size=t.shape[-2:])`` export needs ten shape nodes per gate."""

    @staticmethod
    def forward(ctx, gate, target, mode):
        return resize_like(gate, target, mode)

    @staticmethod
    def symbolic(g, gate, target, mode):
        empty = g.op('Constant', value_t=torch.tensor([], dtype=torch.float32))
        sizes = g.op('Shape', target)
        if mode == 'nearest':
            return g.op('Resize', gate, empty, empty, sizes, mode_s='nearest',
                        coordinate_transformation_mode_s='asymmetric',
                        nearest_mode_s='floor')
        return g.op('Resize', gate, empty, empty, sizes, mode_s='linear',
                    coordinate_transformation_mode_s='pytorch_half_pixel')


def _in_place_ok(module):
    return module.inplace and not torch.is_grad_enabled()


class DeployDFCAttention(InferenceOnly, nn.Sequential):
    """:class:`~ghostnetv2_mm.models.layers.DFCAttention` with its norms folded
    and the sigmoid fused into its last conv (``short_conv.0/2/4``).

    ``inplace``: multiply the gate into the (fresh) target in place when no
    autograd runs. Set it False if something keeps references to the gated
    maps (forward hooks), which would otherwise be overwritten.
    """

    inplace = True

    def __init__(self, dfc):
        super().__init__(OrderedDict(dfc.named_children()))
        self.downsample, self.upsample = dfc.downsample, dfc.upsample
        use_deploy_convs(self)
        self.fused_sigmoid = isinstance(self[-1], DeployConv2d) and \
            self[-1].fuse_activation(nn.Sigmoid())

    def gate(self, x):
        kernel = (min(2, x.shape[-2]), min(2, x.shape[-1]))
        gate = super().forward(POOLS[self.downsample](x, kernel, kernel))
        return gate if self.fused_sigmoid else torch.sigmoid(gate)

    def forward(self, x, target=None):
        """``target * resize(gate(x))``; as a plug-in (no ``target``) ``x`` is
        gated out of place, since the caller may still hold it."""
        if target is None:
            return self.apply_gate(self.gate(x), x, in_place=False)
        return self.apply_gate(self.gate(x), target)

    def can_fuse_gate(self, gate, height, width):
        """Whether ``gate`` may be applied to a ``height x width`` target as an
        exact nearest 2x repetition while the target is being written."""
        return (_in_place_ok(self) and self.upsample == 'nearest'
                and 2 * gate.shape[-2] == height and 2 * gate.shape[-1] == width
                and gate.is_contiguous(memory_format=torch.channels_last))

    def apply_gate(self, gate, target, in_place=True):
        """``target * resize(gate)``: in place without autograd, by
        broadcasting where the resize is an exact 2x repetition."""
        in_place = in_place and _in_place_ok(self)
        if in_place and self.upsample == 'nearest' and _doubled_gate_fits(gate, target):
            n, c, h, w = gate.shape
            target.permute(0, 2, 3, 1).view(n, h, 2, w, 2, c).mul_(
                gate.permute(0, 2, 3, 1).view(n, h, 1, w, 1, c))
            return target
        if torch.onnx.is_in_onnx_export():
            gate = _ExportResizeLike.apply(gate, target, self.upsample)
        else:
            gate = resize_like(gate, target, self.upsample)
        return target.mul_(gate) if in_place else target * gate


def _doubled_gate_fits(gate, target):
    """A gate of exactly half ``target``'s height and width, both channels_last,
    outside tracing: nearest 2x is then pure repetition, and viewed as NHWC the
    target ``(N, h, 2, w, 2, C)`` takes the gate ``(N, h, 1, w, 1, C)``."""
    return (target.shape[-2] == 2 * gate.shape[-2] and target.shape[-1] == 2 * gate.shape[-1]
            and gate.shape[:2] == target.shape[:2]
            and target.is_contiguous(memory_format=torch.channels_last)
            and gate.is_contiguous(memory_format=torch.channels_last)
            and not torch.jit.is_tracing() and not torch.compiler.is_compiling())


class DeployGhostModule(InferenceOnly, nn.Module):
    """:class:`~ghostnetv2_mm.models.layers.GhostModule` for inference.

    Three ways to write ``[x1, cheap(x1)]``, chosen once when built:

    * merged (``merge()``): the primary conv also emits a copy of each primary
      channel a cheap channel is derived from, and one depthwise conv passes
      the primaries through (centre tap 1) while applying the cheap kernels to
      the copies: no concat at all, for twice the primary conv's arithmetic,
      which pays for narrow modules only;
    * the compiled kernel writes the primaries and the cheap channels side by
      side in one pass (and multiplies in an exact 2x DFC gate as it writes);
    * otherwise a channels_last-friendly concat.
    """

    def __init__(self, module):
        super().__init__()
        self.out_channels = module.out_channels
        self.primary_conv = module.primary_conv
        self.cheap_operation = module.cheap_operation
        self.short_conv = module.short_conv
        self.merged = None
        self.needs_slice = (module.primary_conv[0].out_channels
                            + module.cheap_operation[0].out_channels != self.out_channels)
        use_deploy_convs(self)
        cheap = self.cheap_operation
        # the compiled kernel can write the output when the cheap op is one conv
        self.concat_in_cheap = len(cheap) == 1 and isinstance(cheap[0], DeployConv2d)

    def forward(self, x):
        gate = None
        if self.merged is not None:
            out = self.merged(x)
        else:
            x1 = self.primary_conv(x)
            out = None
            if self.concat_in_cheap:
                cheap = self.cheap_operation[0]
                if self.short_conv is not None and not self.needs_slice:
                    gate = self.short_conv.gate(x)
                    if self.short_conv.can_fuse_gate(gate, *x1.shape[-2:]):
                        out = cheap.forward_concat(x1, gate)
                        if out is not None:
                            return out  # gated as it was written
                out = cheap.forward_concat(x1)
            if out is None:
                out = cat_channels(x1, self.cheap_operation(x1))
            if self.needs_slice:
                out = out[:, :self.out_channels]
        if self.short_conv is None:
            return out
        if gate is None:
            return self.short_conv(x, out)
        return self.short_conv.apply_gate(gate, out)

    def merge(self):
        """Make this module concat-free (see the class docstring); only for
        ReLU, ReLU6 or no activation, since the pass-through half gets the
        activation twice. Returns whether it merged (now or before)."""
        if self.merged is not None:
            return True
        primary, cheap = self.primary_conv[0], self.cheap_operation[0]
        acts = list(self.primary_conv[1:])
        if primary.activation is not None:
            acts.insert(0, primary.activation)
        if not all(type(m) in IDEMPOTENT_ACTS for m in acts):
            return False
        like = dict(device=primary.weight.device, dtype=primary.weight.dtype)
        conv = nn.Conv2d(primary.in_channels, self.out_channels, primary.kernel_size,
                         primary.stride, primary.padding, primary.dilation, **like)
        dw = nn.Conv2d(self.out_channels, self.out_channels, cheap.kernel_size, 1,
                       cheap.padding, cheap.dilation, groups=self.out_channels, **like)
        values = merged_ghost_params(primary.weight, primary.bias, cheap.weight,
                                     cheap.bias, self.out_channels)
        with torch.no_grad():
            for param, value in zip((conv.weight, conv.bias, dw.weight, dw.bias), values):
                param.copy_(value)
        self.merged = use_deploy_convs(
            nn.Sequential(conv, *acts, dw, *[type(m)() for m in acts]))
        self.primary_conv = self.cheap_operation = None
        self.concat_in_cheap = False
        return True


def merged_ghost_params(primary_w, primary_b, cheap_w, cheap_b, out_channels):
    """Weights and biases (conv, depthwise) of a concat-free Ghost module from
    its folded primary and cheap convs (see :meth:`DeployGhostModule.merge`)."""
    init = primary_w.shape[0]
    new = out_channels - init
    # cheap channel j is computed from primary channel j // (ratio - 1)
    source = torch.arange(new, device=primary_w.device) // (cheap_w.shape[0] // init)
    passthrough = primary_w.new_zeros(init, 1, *cheap_w.shape[-2:])
    passthrough[:, :, cheap_w.shape[-2] // 2, cheap_w.shape[-1] // 2] = 1
    return (torch.cat([primary_w, primary_w[source]]),
            torch.cat([primary_b, primary_b[source]]),
            torch.cat([passthrough, cheap_w[:new]]),
            torch.cat([primary_b.new_zeros(init), cheap_b[:new]]))


class DeployGhostBottleneck(InferenceOnly, nn.Module):
    """:class:`~ghostnetv2_mm.models.layers.GhostBottleneck` whose shortcut is
    added into the (fresh) ghost2 output in place when no autograd runs."""

    inplace = True

    def __init__(self, block):
        super().__init__()
        self.ghost1, self.conv_dw = block.ghost1, block.conv_dw
        self.se, self.ghost2, self.shortcut = block.se, block.ghost2, block.shortcut
        use_deploy_convs(self)

    def forward(self, x):
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.conv_dw(out)
        if self.se is not None:
            out = self.se(out)
        out = self.ghost2(out)
        return out.add_(self.shortcut(x)) if _in_place_ok(self) else out + self.shortcut(x)


class DeploySqueezeExcite(InferenceOnly, nn.Module):
    """:class:`~ghostnetv2_mm.models.layers.SqueezeExcite` that scales its
    (fresh) input in place when no autograd runs."""

    inplace = True

    def __init__(self, se):
        super().__init__()
        self.conv_reduce, self.act1, self.conv_expand = se.conv_reduce, se.act1, se.conv_expand
        use_deploy_convs(self)
        if self.conv_reduce.fuse_activation(self.act1):
            self.act1 = nn.Identity()

    def forward(self, x):
        scale = self.conv_expand(self.act1(self.conv_reduce(F.adaptive_avg_pool2d(x, 1))))
        if _in_place_ok(self):
            return x.mul_(F.hardsigmoid(scale, inplace=True))
        return x * F.hardsigmoid(scale)
