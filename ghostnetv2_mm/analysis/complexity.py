"""Parameter and operation counts that include GhostNetV2's DFC operations.

mmengine's ``FlopAnalyzer`` counts convolutions, linear layers, norms and
resizes, but skips pooling, sigmoid and elementwise products, which are most
of what the DFC attention adds besides its convs. Handles for those ops are
added here, and the DFC share is reported on its own line so both the
paper-comparable number (conv + linear multiply-accumulates) and the full
cost are visible.
"""
from collections import Counter

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import elementwise_flop_counter

from ..models.layers import DFCAttention

# Elementwise ops the DFC gate performs: pooling, sigmoid, resize, product.
DFC_OPS = ('avg_pool2d', 'max_pool2d', 'sigmoid', 'upsample_nearest2d',
           'upsample_bilinear2d', 'mul')
MAC_OPS = ('conv', 'linear')
EXTRA_HANDLES = {
    # one add (or compare) per input element of a 2x2 pooling
    'aten::avg_pool2d': elementwise_flop_counter(1, 0),
    'aten::max_pool2d': elementwise_flop_counter(1, 0),
    # one op per output element
    'aten::sigmoid': elementwise_flop_counter(0, 1),
    'aten::hardsigmoid': elementwise_flop_counter(0, 1),
    'aten::mul': elementwise_flop_counter(0, 1),
    'aten::add': elementwise_flop_counter(0, 1),
    'aten::relu': elementwise_flop_counter(0, 1),
    'aten::relu_': elementwise_flop_counter(0, 1),
}


class ClassificationEquivalent(nn.Module):
    """Backbone through ``blocks.9`` plus the authors' classifier head
    (global pool, 1x1 conv to 1280, ReLU, linear to 1000 classes): the network
    whose conv + linear MACs the paper reports (167M for width 1.0 at 224)."""

    def __init__(self, backbone, num_classes=1000, head_channels=1280):
        super().__init__()
        if backbone.out_indices[-1] != 5:
            raise ValueError('ClassificationEquivalent needs a backbone built '
                             'through out index 5 (the final 1x1 conv)')
        self.backbone = backbone
        self.conv_head = nn.Conv2d(backbone.out_channels[-1], head_channels, 1)
        self.classifier = nn.Linear(head_channels, num_classes)

    def forward(self, x):
        x = self.backbone(x)[-1]
        x = torch.relu(self.conv_head(x.mean((2, 3), keepdim=True)))
        return self.classifier(x.flatten(1))


def count_complexity(model, inputs):
    """Return a dict: params, macs (conv + linear), dfc_ops, total_ops, by_operator."""
    model.eval()
    analyzer = FlopAnalyzer(model, inputs)
    for op, handle in EXTRA_HANDLES.items():
        analyzer.set_op_handle(op, handle)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_operator = Counter(analyzer.by_operator())
    # GhostNetV2's gates (``short_conv``, deployed or not) and DFC plug-ins
    gates = {name for name, module in model.named_modules()
             if name.endswith('short_conv') or isinstance(module, DFCAttention)}
    dfc = Counter()
    for name, ops in analyzer.by_module_and_operator().items():
        if name in gates:
            dfc.update({op: n for op, n in ops.items() if op in DFC_OPS})
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        macs=sum(by_operator[op] for op in MAC_OPS),
        dfc_ops=sum(dfc.values()),
        dfc_by_operator=dict(dfc),
        total_ops=sum(by_operator.values()),
        by_operator=dict(by_operator),
    )
