"""DFC attention gates as a forward pass computes them, and a grid picture of them.

A :class:`~ghostnetv2_mm.models.DFCAttention` is a Sequential whose last layer
(the norm after the vertical conv) gives the attention before its sigmoid, at
half the resolution of the map it gates. A forward hook on that layer sees
exactly what the forward pass used; the gate is its sigmoid.
"""
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from ..models import DFCAttention

TITLE_HEIGHT = 30  # two text lines above each row of cells
GAP = 4


def short_name(module_name):
    """``backbone.blocks.3.0.ghost1.short_conv`` -> ``blocks.3.0`` (the
    bottleneck whose first Ghost module the gate belongs to)."""
    name = module_name[len('backbone.'):] if module_name.startswith('backbone.') \
        else module_name
    for suffix in ('.ghost1.short_conv', '.short_conv'):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def find_dfc_attentions(model):
    """``{short name: DFCAttention}`` in forward order of ``model``."""
    return OrderedDict((short_name(name), module) for name, module in model.named_modules()
                       if isinstance(module, DFCAttention))


class GateRecorder:
    """Within ``with GateRecorder(model, names) as rec:``, every forward pass
    records, per chosen DFC attention, ``rec.records[name]``: ``gate`` (C, h, w)
    of the first image of the batch, ``map_size`` (the gated map's H, W) and
    ``upsample`` (how the gate is resized onto it)."""

    def __init__(self, model, names=None):
        found = find_dfc_attentions(model)
        if not found:
            raise ValueError('the model has no DFCAttention (GhostNetV1 ablation or a '
                             'backbone without DFC plug-ins): no gate to show')
        unknown = [n for n in names or [] if n not in found]
        if unknown:
            raise ValueError(f'no DFC attention named {unknown}; this model has '
                             f'{list(found)}')
        self.modules = OrderedDict((n, m) for n, m in found.items()
                                   if not names or n in names)
        self.records = OrderedDict()
        self._handles = []

    def __enter__(self):
        for name, module in self.modules.items():
            self._handles.append(module[-1].register_forward_hook(self._gate_hook(name)))
            self._handles.append(module.register_forward_hook(self._size_hook(name)))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _gate_hook(self, name):
        def hook(module, args, output):
            self.records.setdefault(name, {})['gate'] = torch.sigmoid(output[0]).detach()
        return hook

    def _size_hook(self, name):
        def hook(module, args, output):
            target = args[1] if len(args) > 1 and args[1] is not None else args[0]
            self.records[name].update(map_size=tuple(target.shape[-2:]),
                                      upsample=module.upsample)
        return hook


def strongest_channels(gate, topk):
    """Indices of the ``topk`` channels with the highest mean gate."""
    return torch.argsort(gate.flatten(1).mean(1), descending=True)[:topk].tolist()


def grid_layout(rows, columns, cell_size):
    """Where :func:`gate_grid` puts things: every row is a title band of
    ``TITLE_HEIGHT`` pixels over cells of ``cell_size`` (h, w), all separated
    by ``GAP`` pixels."""
    cell_h, cell_w = cell_size
    return dict(rows=list(rows), columns=list(columns), cell_size=[cell_h, cell_w],
                title_height=TITLE_HEIGHT, gap=GAP,
                size=[len(rows) * (TITLE_HEIGHT + cell_h + GAP) + GAP,
                      len(columns) * (cell_w + GAP) + GAP])


def cell_origin(layout, row, column):
    """Top-left (y, x) of a cell in the grid."""
    cell_h, cell_w = layout['cell_size']
    gap = layout['gap']
    return (gap + row * (layout['title_height'] + cell_h + gap) + layout['title_height'],
            gap + column * (cell_w + gap))


def gate_overlay(gate_map, image, upsample, alpha):
    """A (h, w) gate resized to ``image`` as the network resizes it
    (``upsample``), min-max coloured and blended by mmengine's ``draw_featmap``."""
    from mmengine.visualization import Visualizer
    size = image.shape[:2]
    resized = F.interpolate(gate_map[None, None].float(), size=size, mode=upsample,
                            align_corners=False if upsample == 'bilinear' else None)[0]
    return Visualizer.draw_featmap(resized, image, channel_reduction='squeeze_mean',
                                   alpha=alpha)


def gate_grid(image, records, strides, topk=3, cell_height=120, alpha=0.5):
    """One row per recorded gate: the network input, the gate averaged over
    channels, and its ``topk`` strongest channels, each resized onto the
    input and overlaid; a title with the block name, the gated map's stride
    and size, the gate's size and the value range of each cell.

    Returns the RGB grid and its layout (:func:`grid_layout` plus the
    channels shown per row)."""
    import cv2
    height, width = image.shape[:2]
    cell = (cell_height, max(1, round(cell_height * width / height)))
    columns = ['input', 'mean'] + [f'top{i + 1}' for i in range(topk)]
    layout = grid_layout(records, columns, cell)
    layout['channels'] = {}
    grid = np.full((*layout['size'], 3), 255, np.uint8)
    base = cv2.resize(image, cell[::-1], interpolation=cv2.INTER_AREA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for row, (name, record) in enumerate(records.items()):
        gate = record['gate'].float().cpu()
        channels = strongest_channels(gate, topk)
        layout['channels'][name] = channels
        maps = [None, gate.mean(0)] + [gate[c] for c in channels]
        labels = ['input'] + [f'{"mean" if i == 0 else f"ch {channels[i - 1]}"} '
                              f'{m.min():.2f}-{m.max():.2f}'
                              for i, m in enumerate(maps[1:])]
        top, _ = cell_origin(layout, row, 0)
        map_h, map_w = record['map_size']
        title = (f'{name}  stride {strides[name]}  map {map_h}x{map_w}  '
                 f'gate {gate.shape[1]}x{gate.shape[2]} x {gate.shape[0]} ch')
        cv2.putText(grid, title, (GAP, top - TITLE_HEIGHT + 12), font, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
        for col, (gate_map, label) in enumerate(zip(maps, labels)):
            y, x = cell_origin(layout, row, col)
            picture = base if gate_map is None else \
                gate_overlay(gate_map, base, record['upsample'], alpha)
            grid[y:y + cell[0], x:x + cell[1]] = picture
            cv2.putText(grid, label, (x, y - 4), font, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    return grid, layout
