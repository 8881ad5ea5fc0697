"""MobileNetV2 with a choice of attention in its inverted residuals: None is
mmdet's MobileNetV2 exactly; each gate sits after the depthwise conv, keeps the
other parameters' names and trains."""
import copy

import pytest
import torch
from mmdet.models.backbones import MobileNetV2
from mmdet.models.layers import InvertedResidual, SELayer
from mmengine.registry import DefaultScope

from ghostnetv2_mm.models import CBAM, CoordinateAttention, DFCAttention
from ghostnetv2_mm.models.backbones.attention_mobilenetv2 import (
    AttentionInvertedResidual, AttentionMobileNetV2)
from helpers import randomize_norms

YOLO = dict(out_indices=(2, 4, 6), act_cfg=dict(type='LeakyReLU', negative_slope=0.1))
KINDS = {'dfc': DFCAttention, 'se': SELayer, 'cbam': CBAM, 'ca': CoordinateAttention}
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_built_by_name_through_each_toolbox(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='AttentionMobileNetV2', attention='dfc', **YOLO))
    assert type(model) is AttentionMobileNetV2
    assert model.out_channels == [32, 96, 320]


@pytest.mark.parametrize('widen_factor', [1.0, 0.5])
def test_no_attention_is_mmdets_mobilenetv2(widen_factor):
    torch.manual_seed(0)
    stock = MobileNetV2(widen_factor=widen_factor, out_indices=(1, 2, 4, 7))
    ours = AttentionMobileNetV2(widen_factor=widen_factor, out_indices=(1, 2, 4, 7))
    randomize_norms(stock)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, v.shape) for k, v in stock.state_dict().items()]
    assert all(type(b) is InvertedResidual for b in ours.modules()
               if isinstance(b, InvertedResidual))
    ours.load_state_dict(stock.state_dict())
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        for mode in (False, True):  # eval (running stats) and train (batch stats)
            stock.train(mode), ours.train(mode)
            for a, b in zip(stock(x), ours(x)):
                assert torch.equal(a, b)
    assert ours.out_channels == [o.shape[1] for o in ours(x)]


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_gate_after_the_depthwise_conv_and_nothing_else_renamed(kind):
    torch.manual_seed(0)
    stock = MobileNetV2(**YOLO)
    model = AttentionMobileNetV2(attention=kind, **YOLO)
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert blocks and all(type(b) is AttentionInvertedResidual for b in blocks)
    assert all(type(b.attention) is KINDS[kind] for b in blocks)
    # every stock parameter keeps its name and shape; the rest are the gates'
    stock_keys = {k: v.shape for k, v in stock.state_dict().items()}
    keys = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: keys[k] for k in stock_keys} == stock_keys
    assert all('.attention.' in k for k in set(keys) - set(stock_keys))
    # a MobileNetV2 checkpoint loads with only the gates missing
    result = model.load_state_dict(stock.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all('.attention.' in k for k in result.missing_keys)

    # the gate gets the depthwise conv's output (DFC: and the block's input) and
    # the linear projection gets the gate's output
    block = model.layer3[0]  # stride 2, 24 -> 32 channels, 144 expanded
    seen = {}
    block.depthwise_conv.register_forward_hook(lambda m, i, o: seen.update(dw=o))
    block.attention.register_forward_hook(lambda m, i, o: seen.update(args=i, out=o))
    block.linear_conv.register_forward_hook(lambda m, i, o: seen.update(linear=i[0]))
    x = torch.randn(2, 24, 32, 32)
    model.eval()
    with torch.no_grad():
        y = block(x)
    assert y.shape == (2, 32, 16, 16)
    if kind == 'dfc':
        assert seen['args'][0] is x and seen['args'][1] is seen['dw']
        assert block.attention[0].in_channels == 24 and block.attention[0].out_channels == 144
    else:
        assert len(seen['args']) == 1 and seen['args'][0] is seen['dw']
    assert seen['linear'] is seen['out']
    assert not torch.equal(seen['out'], seen['dw'])


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_each_gate_trains(kind):
    torch.manual_seed(0)
    model = AttentionMobileNetV2(attention=kind, **YOLO)
    model.train()  # mmdet's MobileNetV2.train returns None
    outs = model(torch.randn(2, 3, 128, 128))  # the last gates pool 4x4 maps to 2x2
    assert [o.shape[1:] for o in outs] == [(32, 16, 16), (96, 8, 8), (320, 4, 4)]
    sum((o ** 2).mean() for o in outs).backward()
    gates = [p for n, p in model.named_parameters() if '.attention.' in n]
    assert gates and all(p.grad is not None and p.grad.abs().sum() > 0 for p in gates)


def test_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = AttentionMobileNetV2(attention='dfc', **YOLO)
    ckpt = AttentionMobileNetV2(attention='dfc', with_cp=True, **YOLO)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for net in (plain, ckpt):
        net.train()
        sum((o ** 2).mean() for o in net(x)).backward()
        # conv2 (the 1280-channel conv) runs but feeds no output here
        grads.append(torch.cat([p.grad.flatten() for n, p in net.named_parameters()
                                if not n.startswith('conv2.')]))
    torch.testing.assert_close(grads[0], grads[1])


def test_attention_cfg_reaches_the_gate_and_the_norm_follows_the_backbone():
    model = AttentionMobileNetV2(attention='dfc', attention_cfg=dict(dfc_kernel_size=7),
                                 norm_cfg=dict(type='SyncBN'), **YOLO)
    gate = model.layer2[0].attention
    assert gate[2].kernel_size == (1, 7) and isinstance(gate[1], torch.nn.SyncBatchNorm)
    model = AttentionMobileNetV2(attention='se', attention_cfg=dict(ratio=8), **YOLO)
    assert model.layer2[0].attention.conv1.conv.out_channels == 96 // 8
    model = AttentionMobileNetV2(attention='ca', **YOLO,
                                 attention_cfg=dict(norm_cfg=dict(type='GN', num_groups=2)))
    assert isinstance(model.layer2[0].attention.norm, torch.nn.GroupNorm)


def test_frozen_stages_freeze_their_gates():
    model = AttentionMobileNetV2(attention='cbam', frozen_stages=2, **YOLO)
    model.train()
    assert all(not p.requires_grad for p in model.layer2.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(attention='eca'), ValueError, r"one of \('dfc', 'se', 'cbam', 'ca'\) or None"),
    (dict(attention='dfc', attention_cfg=5), TypeError, 'attention_cfg must be a dict'),
    (dict(attention_cfg=dict(ratio=8)), ValueError, 'attention is None'),
    (dict(attention='dfc', attention_cfg=dict(downsample='median')), ValueError,
     'DFC downsample must be one of'),
    (dict(attention='cbam', attention_cfg=dict(kernel_size=4)), ValueError,
     'positive odd int'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        AttentionMobileNetV2(**kwargs)


def test_dfc_gates_deploy_and_are_counted():
    """switch_to_deploy folds the DFC plug-ins' norms (same outputs), and the
    complexity counter reports their elementwise operations."""
    from ghostnetv2_mm.analysis import count_complexity
    from ghostnetv2_mm.deploy import switch_to_deploy
    torch.manual_seed(0)
    model = randomize_norms(AttentionMobileNetV2(attention='dfc', **YOLO))
    model.eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        expected = model(x)
        stats = count_complexity(model, (x,))
        deployed = switch_to_deploy(copy.deepcopy(model))
        for out, ref in zip(deployed(x), expected):
            torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())
    assert not any(isinstance(m, DFCAttention) for m in deployed.modules())
    # 17 gates: a 2x2 average pool, a sigmoid, a nearest resize and a product each
    assert set(stats['dfc_by_operator']) == {'avg_pool2d', 'sigmoid', 'upsample_nearest2d',
                                             'mul'}
    assert stats['dfc_ops'] > 0
