"""DFC attention and the gates the paper compares it with (CBAM, coordinate
attention) as mmcv plug-ins: their formulas, their registration, one DFC class
for every network, and DFC inside mmdet's and mmseg's ResNet training a step."""
import ast

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_plugin_layer
from mmengine.registry import MODELS

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.models import CBAM, CoordinateAttention, DFCAttention
from helpers import REPO, randomize_norms

pytestmark = pytest.mark.usefixtures('one_thread')


def test_cbam_is_channel_then_spatial_gate():
    torch.manual_seed(0)
    cbam = randomize_norms(CBAM(32, ratio=4)).eval()
    x = torch.randn(2, 32, 9, 7)
    with torch.no_grad():
        mlp = cbam.mlp
        channel = torch.sigmoid(mlp(x.mean((2, 3), keepdim=True))
                                + mlp(x.amax((2, 3), keepdim=True)))
        y = x * channel
        maps = torch.cat([y.mean(1, keepdim=True), y.max(1, keepdim=True).values], 1)
        expected = y * torch.sigmoid(cbam.spatial_norm(F.conv2d(
            maps, cbam.spatial_conv.weight, padding=3)))
        torch.testing.assert_close(cbam(x), expected)
    assert mlp[0].out_channels == 8 and cbam.spatial_conv.kernel_size == (7, 7)
    assert CBAM(8, ratio=16).mlp[0].out_channels == 1  # at least one hidden channel


def test_coordinate_attention_is_a_row_gate_times_a_column_gate():
    torch.manual_seed(0)
    ca = randomize_norms(CoordinateAttention(64, ratio=32)).eval()
    assert ca.conv.out_channels == 8  # max(8, 64 // 32)
    x = torch.randn(2, 64, 6, 10)
    with torch.no_grad():
        def shared(v):  # the shared 1x1 conv, norm and hard swish, per position
            return F.hardswish(ca.norm(ca.conv(v)))
        # rows and columns go through the shared conv together, so its norm
        # sees them as one map; in eval mode that is the same as separately
        rows = torch.sigmoid(ca.conv_h(shared(x.mean(3, keepdim=True))))   # N, C, H, 1
        cols = torch.sigmoid(ca.conv_w(shared(x.mean(2, keepdim=True))))   # N, C, 1, W
        torch.testing.assert_close(ca(x), x * rows * cols)


@pytest.mark.parametrize('cls, name', [(DFCAttention, 'dfc_attention'), (CBAM, 'cbam'),
                                       (CoordinateAttention, 'coordinate_attention')])
def test_registered_as_mmcv_plugins(cls, name):
    assert MODELS.get(cls.__name__) is cls
    layer_name, layer = build_plugin_layer(dict(type=cls.__name__), in_channels=16,
                                           postfix='_1')
    assert layer_name == name + '_1' and type(layer) is cls
    x = torch.randn(2, 16, 8, 8)
    assert layer(x).shape == x.shape  # a plug-in gates its own input


@pytest.mark.parametrize('cls, kwargs, match', [
    (CBAM, dict(ratio=0), 'ratio must be a positive int'),
    (CBAM, dict(kernel_size=6), 'kernel_size must be a positive odd int'),
    (CoordinateAttention, dict(ratio=2.5), 'ratio must be a positive int'),
])
def test_bad_options_are_named(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(16, **kwargs)


def test_dfc_code_exists_once_and_serves_every_network():
    """One training DFC class in the package; GhostNetV2's gates, the
    MobileNetV2 gates and ResNet plug-ins are all instances of it."""
    defined = []
    for path in (REPO / 'ghostnetv2_mm').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and 'dfc' in node.name.lower():
                defined.append((str(path.relative_to(REPO)), node.name))
    # the other one is the inference-only version the deploy package swaps in
    assert sorted(defined) == [('ghostnetv2_mm/deploy/layers.py', 'DeployDFCAttention'),
                               ('ghostnetv2_mm/models/layers/dfc_attention.py',
                                'DFCAttention')]
    from ghostnetv2_mm.models.backbones.attention_mobilenetv2 import AttentionMobileNetV2
    from mmdet.models.backbones import ResNet
    gates = {
        'ghostnetv2': GhostNetV2(out_indices=(2,)),
        'mobilenetv2': AttentionMobileNetV2(attention='dfc', out_indices=(2,)),
        'resnet': ResNet(50, plugins=[dict(cfg=dict(type='DFCAttention'),
                                           stages=(False, False, False, True),
                                           position='after_conv2')]),
    }
    for name, net in gates.items():
        found = {type(m) for m in net.modules() if 'DFC' in type(m).__name__}
        assert found == {DFCAttention}, name


def resnet_with_dfc(toolbox, norm_cfg):
    registry = __import__(f'{toolbox}.models', fromlist=['ResNet'])
    return registry.ResNet(
        depth=50, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True,
        plugins=[dict(cfg=dict(type='DFCAttention', norm_cfg=norm_cfg),
                      stages=(False, True, True, True), position='after_conv2')])


@pytest.mark.parametrize('toolbox', ['mmdet', 'mmseg'])
def test_dfc_plugin_in_resnet_trains_a_step(toolbox):
    torch.manual_seed(0)
    model = resnet_with_dfc(toolbox, dict(type='GN', num_groups=32))
    plugins = {name: m for name, m in model.named_modules() if isinstance(m, DFCAttention)}
    # after conv2 of every bottleneck of stages 2-4 (4 + 6 + 3), on their
    # planes: 128 / 256 / 512 channels
    assert len(plugins) == 13 and not any(n.startswith('layer1') for n in plugins)
    assert {m[0].in_channels for m in plugins.values()} == {128, 256, 512}
    block = model.layer2[0]
    assert block.after_conv2_plugin_names == ['dfc_attention']
    seen = []
    block.dfc_attention.register_forward_hook(lambda m, i, o: seen.append((i[0], o)))
    block.conv3.register_forward_pre_hook(lambda m, i: seen.append(i[0]))

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trained = {k: p.detach().clone() for k, p in model.named_parameters()
               if '.dfc_attention.' in k}
    outs = model(torch.randn(2, 3, 128, 128))  # the last gates pool 4x4 maps to 2x2
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    loss = sum((o ** 2).mean() for o in outs)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    # the plug-in gates conv2's output, and conv3 reads the gated map
    (gate_in, gate_out), conv3_in = seen[0], seen[1]
    assert conv3_in is gate_out and gate_in.shape == gate_out.shape == (2, 128, 16, 16)
    gates = {k: p for k, p in model.named_parameters() if k in trained}
    assert all(p.grad is not None and 0 < p.grad.abs().sum() < float('inf')
               for p in gates.values())
    # (a norm's weight of 1.0 may not move by a gradient below float rounding)
    assert all(not torch.equal(p, trained[k]) for k, p in gates.items() if p.dim() == 4)


def test_bn_gates_keep_their_initial_statistics_under_norm_eval():
    """Why the RetinaNet-R50 + DFC config gives its gates GroupNorm: with the
    stock norm_eval=True the ResNet puts every BN, the gates' too, in eval mode."""
    model = resnet_with_dfc('mmdet', dict(type='BN'))
    model.train()
    gate = model.layer3[0].dfc_attention
    assert not gate[1].training
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(gate[1].running_mean, torch.zeros_like(gate[1].running_mean))
