"""ONNX export: dynamic H/W, onnxruntime parity, folded norms, plain Resize gates."""
import copy

import numpy as np
import onnx
import pytest
import torch

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.deploy import export_onnx, exportable, onnx_session
from helpers import randomize_norms


@pytest.fixture(scope='module')
def exported(official_model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('onnx') / 'ghostnetv2.onnx')
    names = export_onnx(exportable(copy.deepcopy(official_model)),
                        torch.randn(1, 3, 128, 160), path)
    return official_model, path, names


@pytest.mark.parametrize('shape', [(1, 3, 320, 320), (2, 3, 227, 301)])
def test_onnxruntime_matches_pytorch(exported, shape):
    model, path, names = exported
    outs = _assert_onnxruntime_matches(model, path, names, torch.randn(*shape))
    assert len(outs) == 6


def test_graph_has_no_batchnorm_merged_ghosts_and_plain_resize_gates(exported):
    _, path, _ = exported
    graph = onnx.load(path).graph
    ops = [node.op_type for node in graph.node]
    assert 'BatchNormalization' not in ops
    # Ghost modules with <= 120 input channels are exported concat-free; the
    # 15 wider ones (11 projecting ghost2, 4 stage-4 ghost1) keep their concat
    assert ops.count('Concat') == 15
    # each gate's size is Shape(gated tensor) itself: no Gather/Unsqueeze plumbing
    assert not {'Gather', 'Unsqueeze', 'Cast'} & set(ops)
    producer = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    resizes = [n for n in graph.node if n.op_type == 'Resize']
    assert len(resizes) == 14  # one per DFC gate
    for node in resizes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs['mode'] == b'nearest'
        assert attrs['coordinate_transformation_mode'] == b'asymmetric'
        assert attrs['nearest_mode'] == b'floor'
        shape = producer[node.input[3]]
        assert shape.op_type == 'Shape', 'Resize must take explicit output sizes'
        # ... of the very tensor the resized gate multiplies
        (mul,) = consumers[node.output[0]]
        assert mul.op_type == 'Mul' and shape.input[0] in mul.input
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_training_model_exports_the_authors_graph(official_model, tmp_path):
    """The benchmark's reference: the model exported as it is (no deploy), with
    the stock F.interpolate resize, as the authors' code exports."""
    model = copy.deepcopy(official_model)
    path = str(tmp_path / 'authors.onnx')
    names = export_onnx(exportable(copy.deepcopy(model), deploy=False),
                        torch.randn(1, 3, 64, 96), path)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count('Concat') > 14 and 'Gather' in ops  # stock size plumbing, Ghost concats
    _assert_onnxruntime_matches(model, path, names, torch.randn(1, 3, 75, 101))


def test_bilinear_gate_exports(tmp_path):
    model = randomize_norms(GhostNetV2(dfc_upsample='bilinear')).eval()
    path = str(tmp_path / 'bilinear.onnx')
    names = export_onnx(exportable(copy.deepcopy(model)), torch.randn(1, 3, 64, 64), path)
    _assert_onnxruntime_matches(model, path, names, torch.randn(1, 3, 99, 70))


def _assert_onnxruntime_matches(model, path, names, x):
    with torch.no_grad():
        refs = model(x)
    outs = onnx_session(path).run(names, {'input': x.numpy()})
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        ref = ref.numpy()
        assert out.shape == ref.shape
        assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()
    return outs


def test_dilated_backbone_exports(official_model, tmp_path):
    """output_stride=8 (dilated stride-16/32 stages) exports and matches at an odd size."""
    model = GhostNetV2(output_stride=8)
    model.load_state_dict(official_model.state_dict(), strict=False)
    model.eval()
    path = str(tmp_path / 'os8.onnx')
    names = export_onnx(exportable(copy.deepcopy(model)), torch.randn(1, 3, 64, 64), path)
    outs = _assert_onnxruntime_matches(model, path, names, torch.randn(1, 3, 97, 130))
    assert [o.shape[-2:] for o in outs] == [(25, 33), (13, 17), (13, 17), (13, 17)]
