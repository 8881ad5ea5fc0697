"""DFC (decoupled fully connected) attention: GhostNetV2's long-range gate."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

DOWNSAMPLE_MODES = ('avg', 'max')
UPSAMPLE_MODES = ('nearest', 'bilinear')


def check_dfc_options(kernel_size, downsample, upsample):
    """Raise a ValueError naming the bad DFC option and the valid choices."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) \
            or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f'DFC kernel_size must be a positive odd int (the authors use 5), '
            f'got {kernel_size!r}')
    if downsample not in DOWNSAMPLE_MODES:
        raise ValueError(f'DFC downsample must be one of {DOWNSAMPLE_MODES}, '
                         f'got {downsample!r}')
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f'DFC upsample must be one of {UPSAMPLE_MODES}, '
                         f'got {upsample!r}')


def resize_like(gate, target, mode):
    """``gate`` resized to ``target``'s height and width (same N and C)."""
    return F.interpolate(gate, size=target.shape[-2:], mode=mode,
                         align_corners=False if mode == 'bilinear' else None)


class _ExportResizeLike(torch.autograd.Function):
    """:func:`resize_like` for ONNX export: one ``Resize`` node whose ``sizes``
    input is ``Shape(target)``. ``F.interpolate(size=t.shape[-2:])`` exports
    as ten shape-plumbing nodes per gate (Shape, Gather, Unsqueeze, Concat,
    Slice, Cast); the gate already has the target's N and C, so its whole
    shape is the size. Attributes are those the stock exporter writes."""

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


def _gate_doubled_in_place(target, gate):
    """``target.mul_(nearest_resize(gate))`` for a gate of exactly half
    ``target``'s even height and width, both channels_last, without making the
    resized gate: viewed as NHWC, ``target`` is ``(N, h, 2, w, 2, C)`` and the
    gate broadcasts as ``(N, h, 1, w, 1, C)`` (nearest 2x is pure repetition,
    so the values are exactly those of resize-then-multiply). ``None`` when the
    shapes or layouts do not allow it, or while tracing."""
    n, c, height, width = target.shape
    h, w = gate.shape[-2:]
    if (height != 2 * h or width != 2 * w or gate.shape[:2] != target.shape[:2]
            or not target.is_contiguous(memory_format=torch.channels_last)
            or not gate.is_contiguous(memory_format=torch.channels_last)
            or torch.jit.is_tracing() or torch.compiler.is_compiling()):
        return None
    target.permute(0, 2, 3, 1).view(n, h, 2, w, 2, c).mul_(
        gate.permute(0, 2, 3, 1).view(n, h, 1, w, 1, c))
    return target


class DFCAttention(nn.Sequential):
    """Gate a Ghost module's output with attention from a half-resolution branch.

    The branch is the authors' ``short_conv``: a (strided) ``k x k`` conv + norm
    that matches the Ghost module's primary conv, then a horizontal ``1 x K``
    and a vertical ``K x 1`` depthwise conv, each with a norm, and the
    sigmoid (a layer, so deploy mode can fuse it into the last conv). Being an
    ``nn.Sequential`` keeps the authors' parameter names (``short_conv.0`` ...
    ``short_conv.5``), so released checkpoints load unchanged.

    Args:
        in_channels / out_channels: of the Ghost module it gates.
        kernel_size / stride: of that Ghost module's primary conv.
        dfc_kernel_size: length K of the decoupled horizontal/vertical convs.
        downsample: ``'avg'`` (authors) or ``'max'`` 2x2 pooling of the input.
        upsample: ``'nearest'`` (authors) or ``'bilinear'`` resize of the gate
            to the gated feature's exact height and width.
        dilation: of the horizontal / vertical convs, for stages run at a
            smaller output stride (keeps their reach in input pixels).
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1,
                 dfc_kernel_size=5, downsample='avg', upsample='nearest',
                 norm_cfg=dict(type='BN'), dilation=1):
        check_dfc_options(dfc_kernel_size, downsample, upsample)
        pad = dfc_kernel_size // 2 * dilation
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                      kernel_size // 2, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (1, dfc_kernel_size), 1,
                      (0, pad), (1, dilation), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (dfc_kernel_size, 1), 1,
                      (pad, 0), (dilation, 1), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Sigmoid(),  # no parameters: the authors' names 0-5 are unchanged
        )
        self.downsample = downsample
        self.upsample = upsample
        # Export the resize as one Resize sized by Shape(target); False gives
        # the stock F.interpolate export (the authors' graph, for comparison).
        self.compact_export = True
        # Deploy mode: gate the (fresh) target in place when no autograd runs,
        # saving a full-size allocation per gate.
        self.inplace = False

    def gate(self, x):
        """The gate at the branch's (half) resolution: ``sigmoid(branch(pool(x)))``."""
        # 2x2 pooling as the authors do (floor mode); a 1-pixel side is kept
        # as it is instead of collapsing to zero size.
        kernel = (min(2, x.shape[-2]), min(2, x.shape[-1]))
        if self.downsample == 'avg':
            x = F.avg_pool2d(x, kernel, kernel)
        else:
            x = F.max_pool2d(x, kernel, kernel)
        for layer in self:
            x = layer(x)
        return x

    def forward(self, x, target):
        """Return ``target * resize(gate(x))``, the authors' operation order."""
        return self.apply_gate(self.gate(x), target)

    def can_fuse_gate(self, gate, height, width):
        """Whether ``gate`` (from :meth:`gate`) may be applied to a
        ``height x width`` target as an exact nearest 2x repetition while the
        target is being written (deploy mode's Ghost concat kernel does that)."""
        return (self.inplace and self.upsample == 'nearest' and not torch.is_grad_enabled()
                and 2 * gate.shape[-2] == height and 2 * gate.shape[-1] == width
                and gate.is_contiguous(memory_format=torch.channels_last))

    def apply_gate(self, gate, target):
        """``target * resize(gate)``, in place in deploy mode."""
        if self.inplace and not torch.is_grad_enabled() and self.upsample == 'nearest':
            gated = _gate_doubled_in_place(target, gate)
            if gated is not None:
                return gated
        if self.compact_export and torch.onnx.is_in_onnx_export():
            gate = _ExportResizeLike.apply(gate, target, self.upsample)
        else:
            gate = resize_like(gate, target, self.upsample)
        if self.inplace and not torch.is_grad_enabled():
            return target.mul_(gate)
        return target * gate
