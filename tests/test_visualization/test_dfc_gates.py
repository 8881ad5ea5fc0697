"""The DFC gates recorded from a forward pass are the gates DFCAttention computes,
and the grid puts each where its layout says."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.visualization import Visualizer

from ghostnetv2_mm import DFCAttention, GhostNetV2
from ghostnetv2_mm.visualization.dfc_gates import (GateRecorder, cell_origin,
                                                   find_dfc_attentions, gate_grid)
from helpers import randomize_norms

GHOSTNETV2_GATES = ['blocks.2.0', 'blocks.3.0', 'blocks.4.0', 'blocks.5.0'] + \
    [f'blocks.6.{i}' for i in range(5)] + ['blocks.7.0'] + [f'blocks.8.{i}' for i in range(4)]


def gates_by_dfc_attention(model, x):
    """Each DFC attention's own ``gate`` of the input it receives in a forward pass."""
    expected, handles = {}, []

    def hook(name):
        def record(module, args):  # returns None: the inputs stay as they are
            expected[name] = module.gate(args[0])[0]
        return record

    for name, module in find_dfc_attentions(model).items():
        handles.append(module.register_forward_pre_hook(hook(name)))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return expected


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return randomize_norms(GhostNetV2()).eval()


def test_recorder_gives_the_gates_of_the_forward_pass(backbone):
    x = torch.randn(1, 3, 96, 130)
    with GateRecorder(backbone) as recorder, torch.no_grad():
        outs = backbone(x)
    assert list(recorder.records) == GHOSTNETV2_GATES
    expected = gates_by_dfc_attention(backbone, x)
    for name, record in recorder.records.items():
        torch.testing.assert_close(record['gate'], expected[name], rtol=0, atol=1e-6)
        assert record['gate'].std() > 0.01  # a real map, not a constant
        assert record['upsample'] == 'nearest'
    # the gated map of blocks.3.0 is its input (stride 4); its gate has half that size
    assert recorder.records['blocks.3.0']['map_size'] == (24, 33)
    assert recorder.records['blocks.3.0']['gate'].shape == (72, 12, 16)
    assert recorder.records['blocks.8.3']['map_size'] == tuple(outs[-1].shape[-2:])
    # the hooks are gone afterwards
    with torch.no_grad():
        backbone(x)
    assert all(not m[-1]._forward_hooks for m in find_dfc_attentions(backbone).values())


def test_chosen_and_unknown_gates(backbone):
    with GateRecorder(backbone, ['blocks.8.3', 'blocks.2.0']) as recorder, torch.no_grad():
        backbone(torch.randn(1, 3, 64, 64))
    assert list(recorder.records) == ['blocks.2.0', 'blocks.8.3']  # forward order
    with pytest.raises(ValueError, match=r"no DFC attention named \['blocks.1.0'\]"):
        GateRecorder(backbone, ['blocks.1.0'])
    with pytest.raises(ValueError, match='has no DFCAttention'):
        GateRecorder(GhostNetV2(dfc_stages=()))


def test_plug_in_gates_its_own_input():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), DFCAttention(8)).eval()
    x = torch.randn(1, 3, 20, 30)
    with GateRecorder(model) as recorder, torch.no_grad():
        model(x)
    (name, record), = recorder.records.items()
    assert name == '1' and record['map_size'] == (20, 30)
    torch.testing.assert_close(record['gate'], model[1].gate(model[0](x))[0])


def test_grid_layout_and_cells():
    gen = torch.Generator().manual_seed(0)
    image = np.random.default_rng(0).integers(0, 255, (60, 90, 3), np.uint8)
    records = {name: dict(gate=torch.rand(6, h, w, generator=gen), map_size=(2 * h, 2 * w),
                          upsample='nearest')
               for name, h, w in (('a', 15, 22), ('b', 4, 6))}
    grid, layout = gate_grid(image, records, {'a': 2, 'b': 8}, topk=2, cell_height=40)
    cell_h, cell_w, gap, title = 40, 60, layout['gap'], layout['title_height']
    assert layout['cell_size'] == [cell_h, cell_w]
    assert grid.shape == (2 * (title + cell_h + gap) + gap, 4 * (cell_w + gap) + gap, 3)
    assert layout['columns'] == ['input', 'mean', 'top1', 'top2']
    for row, (name, record) in enumerate(records.items()):
        gate = record['gate']
        top = torch.argsort(gate.mean((1, 2)), descending=True)[:2].tolist()
        assert layout['channels'][name] == top
        cells = [grid[y:y + cell_h, x:x + cell_w] for y, x in
                 (cell_origin(layout, row, col) for col in range(4))]
        assert cell_origin(layout, row, 1) == (gap + row * (title + cell_h + gap) + title,
                                               gap + cell_w + gap)
        base = cells[0]
        assert abs(base.mean() - image.mean()) < 3  # the input, resized
        for cell, gate_map in zip(cells[1:], [gate.mean(0)] + [gate[c] for c in top]):
            # nearest resize of the (h, w) gate onto the cell: each gate pixel a block
            rows = torch.arange(cell_h) * gate.shape[1] // cell_h
            cols = torch.arange(cell_w) * gate.shape[2] // cell_w
            resized = gate_map[rows][:, cols][None]
            expected = Visualizer.draw_featmap(resized, base, channel_reduction='squeeze_mean')
            assert np.abs(cell.astype(int) - expected).max() <= 1
        y, _ = cell_origin(layout, row, 0)
        assert (grid[y - title:y] < 128).any()  # the title band has text
