"""Ghost module: a few "primary" channels plus cheap depthwise "ghost" channels."""
import copy
import math

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from .dfc_attention import DFCAttention

# act(act(x)) == act(x): the deploy merge may apply these twice
IDEMPOTENT_ACTS = (nn.ReLU, nn.ReLU6)


def cat_channels(a, b):
    """``torch.cat([a, b], dim=1)``, about 3x faster for channels_last tensors.

    PyTorch's cat takes a slow strided path for channels_last inputs; viewed as
    NHWC they are contiguous and concatenating along the last dim is a plain
    copy. Same values, same (channels_last) result layout.
    """
    if a.is_contiguous(memory_format=torch.channels_last) and not a.is_contiguous():
        return torch.cat([a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)],
                         dim=3).permute(0, 3, 1, 2)
    return torch.cat([a, b], dim=1)


class GhostModule(nn.Module):
    """``cat(primary(x), cheap(primary(x)))[:, :out_channels]``, optionally DFC-gated.

    ``primary_conv`` is a ``kernel_size`` conv to ``ceil(out / ratio)``
    channels; ``cheap_operation`` derives the remaining channels from them with
    a ``dw_size`` depthwise conv. With ``dfc`` (a dict of
    :class:`DFCAttention` options) the output is multiplied by the DFC gate,
    which is GhostNetV2's "attn" mode; without it this is GhostNetV1's module.

    Args:
        in_channels / out_channels: channel counts.
        kernel_size, stride: of the primary conv.
        ratio: out_channels / primary channels (the authors use 2).
        dw_size: kernel of the cheap depthwise conv.
        use_act: apply ``act_cfg`` after both convs (False for the
            bottleneck's projecting second module).
        dfc: ``None`` or dict(dfc_kernel_size, downsample, upsample).
        dilation: of the cheap depthwise conv and the DFC branch's
            horizontal / vertical convs (1 in the authors' model).
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, ratio=2,
                 dw_size=3, stride=1, use_act=True, dfc=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), dilation=1):
        super().__init__()
        self.out_channels = out_channels
        init_channels = math.ceil(out_channels / ratio)
        new_channels = init_channels * (ratio - 1)
        # Slicing is only needed when ratio does not divide out_channels.
        self.needs_slice = init_channels + new_channels != out_channels

        def act():
            return build_activation_layer(act_cfg) if use_act else nn.Identity()

        self.primary_conv = nn.Sequential(
            nn.Conv2d(in_channels, init_channels, kernel_size, stride,
                      kernel_size // 2, bias=False),
            build_norm_layer(norm_cfg, init_channels)[1],
            act(),
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, new_channels, dw_size, 1, dw_size // 2 * dilation,
                      dilation, groups=init_channels, bias=False),
            build_norm_layer(norm_cfg, new_channels)[1],
            act(),
        )
        if dfc is not None:
            self.short_conv = DFCAttention(
                in_channels, out_channels, kernel_size, stride,
                norm_cfg=norm_cfg, dilation=dilation, **dfc)
        else:
            self.short_conv = None
        self.merged = None  # set by merge_for_deploy
        # deploy mode: the cheap op is one DeployConv2d that can write the
        # concatenated output itself (DeployConv2d.forward_concat)
        self.concat_in_cheap = False

    def forward(self, x):
        if self.merged is not None:
            out = self.merged(x)
            gate = None
        else:
            x1 = self.primary_conv(x)
            out = gate = None
            if self.concat_in_cheap:  # deploy mode: one kernel writes the output
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
        if self.short_conv is not None:
            out = (self.short_conv(x, out) if gate is None
                   else self.short_conv.apply_gate(gate, out))
        return out

    def merge_for_deploy(self):
        """Replace ``primary -> cheap -> concat`` by two convs that write the
        concatenated output directly (in place; norms must be folded first).

        The 1x1 primary conv also emits a copy of each primary channel a
        cheap channel is derived from; one depthwise conv then passes the
        primary channels through (centre tap 1, bias 0) and applies the cheap
        kernels to the copies. Same values without the concat, which costs a
        full extra memory pass in channels_last and, in onnxruntime, a layout
        reorder per half. The primary conv does twice the multiply-adds, so
        it pays for narrow modules only; which ones depends on the runtime
        (``ghostnetv2_mm.deploy.MERGE_MAX_IN_CHANNELS``). Only for idempotent
        activations (ReLU, ReLU6) or none: the pass-through half gets the
        activation twice. Returns whether it merged.
        """
        primary, cheap = self.primary_conv[0], self.cheap_operation[0]
        if primary.bias is None or cheap.bias is None:
            raise RuntimeError('GhostModule.merge_for_deploy needs the norms folded '
                               'into the convs first (switch_to_deploy does that)')
        acts = [m for m in self.primary_conv[1:] if not isinstance(m, nn.Identity)]
        if getattr(primary, 'activation', None) is not None:
            acts.insert(0, primary.activation)  # a deploy conv applying its own
        if acts and not all(type(m) in IDEMPOTENT_ACTS for m in acts):
            return False
        like = dict(device=primary.weight.device, dtype=primary.weight.dtype)
        conv = nn.Conv2d(primary.in_channels, self.out_channels, primary.kernel_size,
                         primary.stride, primary.padding, primary.dilation, **like)
        dw = nn.Conv2d(self.out_channels, self.out_channels, cheap.kernel_size, 1,
                       cheap.padding, cheap.dilation, groups=self.out_channels, **like)
        merged = merged_ghost_params(primary.weight, primary.bias, cheap.weight,
                                     cheap.bias, self.out_channels)
        with torch.no_grad():
            for param, value in zip((conv.weight, conv.bias, dw.weight, dw.bias), merged):
                param.copy_(value)
        self.merged = nn.Sequential(conv, *acts, dw, *copy.deepcopy(acts))
        self.primary_conv = self.cheap_operation = None
        return True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Load a folded but unmerged module's keys (deploy checkpoints written
        before the merge existed) into the merged convs, so a deploy-built
        model reads them instead of leaving the merged convs at their
        initial values under non-strict loading."""
        old = [prefix + k for k in ('primary_conv.0.weight', 'primary_conv.0.bias',
                                    'cheap_operation.0.weight', 'cheap_operation.0.bias')]
        if self.merged is not None and all(k in state_dict for k in old):
            convs = [name for name, m in self.merged.named_children()
                     if isinstance(m, nn.Conv2d)]
            merged = merged_ghost_params(*(state_dict.pop(k) for k in old),
                                         self.out_channels)
            names = [f'{prefix}merged.{c}.{p}' for c in convs for p in ('weight', 'bias')]
            state_dict.update(zip(names, merged))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def merged_ghost_params(primary_w, primary_b, cheap_w, cheap_b, out_channels):
    """Weights and biases (conv, depthwise) of a concat-free Ghost module, from
    its folded primary and cheap convs (see ``GhostModule.merge_for_deploy``)."""
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
