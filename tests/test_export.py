"""ONNX export: dynamic H/W, onnxruntime parity, folded norms, plain Resize gates."""
import copy

import numpy as np
import onnx
import pytest
import torch

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.export import export_onnx, exportable, onnx_session

ALL = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope='module')
def exported(official_checkpoint, tmp_path_factory):
    model = GhostNetV2(out_indices=ALL, init_cfg=dict(
        type='Pretrained', checkpoint=str(official_checkpoint)))
    model.init_weights()
    model.eval()
    path = str(tmp_path_factory.mktemp('onnx') / 'ghostnetv2.onnx')
    names = export_onnx(exportable(copy.deepcopy(model)), torch.randn(1, 3, 128, 160), path)
    return model, path, names


@pytest.mark.parametrize('shape', [(1, 3, 320, 320), (2, 3, 227, 301)])
def test_onnxruntime_matches_pytorch(exported, shape):
    model, path, names = exported
    x = torch.randn(*shape)
    with torch.no_grad():
        refs = model(x)
    outs = onnx_session(path).run(names, {'input': x.numpy()})
    assert len(outs) == len(refs) == 6
    for out, ref in zip(outs, refs):
        ref = ref.numpy()
        assert out.shape == ref.shape
        assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()


def test_graph_has_no_batchnorm_and_plain_resize_gates(exported):
    _, path, _ = exported
    graph = onnx.load(path).graph
    ops = [node.op_type for node in graph.node]
    assert 'BatchNormalization' not in ops
    resizes = [n for n in graph.node if n.op_type == 'Resize']
    assert len(resizes) == 14  # one per DFC gate
    for node in resizes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs['mode'] == b'nearest'
        assert node.input[3], 'Resize must take explicit output sizes'
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_dilated_backbone_exports(official_checkpoint, tmp_path):
    """output_stride=8 (dilated stride-16/32 stages) exports and matches at an odd size."""
    model = GhostNetV2(output_stride=8, init_cfg=dict(
        type='Pretrained', checkpoint=str(official_checkpoint)))
    model.init_weights()
    model.eval()
    path = str(tmp_path / 'os8.onnx')
    names = export_onnx(exportable(copy.deepcopy(model)), torch.randn(1, 3, 64, 64), path)
    x = torch.randn(1, 3, 97, 130)
    with torch.no_grad():
        refs = model(x)
    outs = onnx_session(path).run(names, {'input': x.numpy()})
    assert [o.shape[-2:] for o in outs] == [(25, 33), (13, 17), (13, 17), (13, 17)]
    for out, ref in zip(outs, refs):
        ref = ref.numpy()
        assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()
