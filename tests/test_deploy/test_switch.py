"""switch_to_deploy: module swap, outputs of the eval-mode model, the deployed
structure, refusals, channels_last, torch.compile and whole detectors."""
import copy

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.deploy import (DeployConv2d, compile_for_inference, switch_to_deploy)
from ghostnetv2_mm.deploy.layers import (DeployDFCAttention, DeployGhostBottleneck,
                                         DeployGhostModule, DeploySqueezeExcite)
from ghostnetv2_mm.models.layers import (DFCAttention, GhostBottleneck, GhostModule,
                                         SqueezeExcite)
from helpers import ALL_INDICES, assert_close_to_scale, channels_last, randomize_norms


@pytest.fixture(scope='module')
def deployed(official_model):
    return switch_to_deploy(copy.deepcopy(official_model))


@pytest.mark.parametrize('hw', [(33, 65), (227, 301), (64, 64)])
def test_deploy_matches_eval_model(official_model, deployed, hw):
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        assert_close_to_scale(deployed(x), official_model(x))


def test_training_layers_are_swapped_for_deploy_layers(deployed):
    kinds = {GhostModule: DeployGhostModule, DFCAttention: DeployDFCAttention,
             GhostBottleneck: DeployGhostBottleneck, SqueezeExcite: DeploySqueezeExcite}
    assert not any(type(m) in kinds for m in deployed.modules())
    counts = {k: sum(type(m) is k for m in deployed.modules()) for k in kinds.values()}
    assert counts == {DeployGhostModule: 32, DeployDFCAttention: 14,
                      DeployGhostBottleneck: 16, DeploySqueezeExcite: 7}
    assert not any(isinstance(m, _BatchNorm) for m in deployed.modules())
    assert not any(isinstance(child, torch.nn.Identity)
                   for m in deployed.modules() if isinstance(m, torch.nn.Sequential)
                   for child in m)
    convs = [m for m in deployed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(type(m) is DeployConv2d for m in convs)
    names = dict(deployed.named_modules())  # DFC convs kept, norms folded away
    assert names['blocks.3.0.ghost1.short_conv.0'].bias is not None
    assert 'blocks.3.0.ghost1.short_conv.1' not in names


def test_the_training_model_is_left_alone_by_a_deepcopy_switch(official_model):
    assert any(isinstance(m, _BatchNorm) for m in official_model.modules())
    assert not any(isinstance(m, DeployConv2d) for m in official_model.modules())


@pytest.mark.parametrize('width', [1.3, 1.6])
def test_deploy_other_widths(width):
    model = randomize_norms(GhostNetV2(widen_factor=width, out_indices=ALL_INDICES)).eval()
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        ref = model(x)
        assert_close_to_scale(switch_to_deploy(copy.deepcopy(model))(x), ref)


def test_deploy_convs_fuse_the_activations_after_them(deployed):
    from collections import Counter
    convs = [m for m in deployed.modules() if isinstance(m, DeployConv2d)]
    fused = Counter(type(m.activation).__name__ for m in convs if m.activation is not None)
    # stem, blocks.9, both halves of every first Ghost module (4 of them merged:
    # conv + depthwise), the 7 SE reductions; the sigmoid of every DFC gate
    assert fused == {'ReLU': 1 + 1 + 2 * 16 + 7, 'Sigmoid': 14}
    for seq in (m for m in deployed.modules() if isinstance(m, torch.nn.Sequential)):
        layers = list(seq)
        assert not any(isinstance(a, torch.nn.Conv2d) and type(b) in (
            torch.nn.ReLU, torch.nn.Sigmoid) for a, b in zip(layers, layers[1:]))
    merged = [name for name, m in deployed.named_modules() if name.endswith('.merged')]
    # concat-free where PyTorch gains (<= 24 inputs): the high-resolution modules
    assert merged == ['blocks.0.0.ghost1.merged', 'blocks.0.0.ghost2.merged'] + [
        f'blocks.{i}.0.ghost1.merged' for i in (1, 2, 3)]


def test_switch_is_idempotent_and_training_is_refused(deployed):
    before = {k: v.clone() for k, v in deployed.state_dict().items()}
    assert switch_to_deploy(deployed) is deployed
    after = deployed.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(RuntimeError, match='deploy mode .* cannot be trained'):
        deployed.train()
    assert deployed.eval() is deployed  # eval() still works


def test_deploy_checkpoint_reloads_into_a_deployed_ghostnetv2(deployed):
    """What tools/deploy/switch_to_deploy.py writes loads strictly into the
    registered DeployedGhostNetV2 (the type its config names)."""
    from mmengine.registry import MODELS
    rebuilt = MODELS.build(dict(type='DeployedGhostNetV2', out_indices=ALL_INDICES))
    rebuilt.load_state_dict(deployed.state_dict(), strict=True)
    x = torch.randn(1, 3, 75, 51)
    with torch.no_grad():
        for a, b in zip(rebuilt(x), deployed(x)):
            assert torch.equal(a, b)


def test_unfoldable_norm_is_named():
    model = GhostNetV2(norm_cfg=dict(type='GN', num_groups=4), out_indices=(1,))
    with pytest.raises(ValueError, match=r"\['GroupNorm'\] cannot be folded"):
        switch_to_deploy(model)


def test_channels_last_matches(official_model, deployed):
    x = torch.randn(1, 3, 227, 301)
    cl = copy.deepcopy(deployed).to(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = official_model(x)
        assert_close_to_scale(cl(x.contiguous(memory_format=torch.channels_last)), ref)
        assert_close_to_scale(cl(x), ref)


def test_in_place_ops_change_nothing_but_memory(deployed):
    """Without autograd the deploy layers gate, scale and add in place:
    bit-equal to their out-of-place versions (``inplace=False``); with
    autograd on they stay out of place, so gradients to the input work."""
    kinds = (DeployDFCAttention, DeployGhostBottleneck, DeploySqueezeExcite)
    plain = copy.deepcopy(deployed)
    for m in plain.modules():
        if isinstance(m, kinds):
            m.inplace = False
    x = channels_last(1, 3, 97, 66)
    with torch.no_grad():
        for a, b in zip(deployed(x), plain(x)):
            assert torch.equal(a, b)
    x.requires_grad_(True)
    deployed(x)[-1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.slow  # torch.compile's tracing: seconds per case
@pytest.mark.parametrize('deploy,to_channels_last', [(False, False), (True, False),
                                                      (True, True)])
def test_dynamo_sees_no_graph_breaks(deploy, to_channels_last):
    model = randomize_norms(GhostNetV2(out_indices=ALL_INDICES)).eval()
    x = torch.randn(1, 3, 96, 128)
    if deploy:
        switch_to_deploy(model)
    if to_channels_last:  # the deploy model's GEMM path for 1x1 convs is traced
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    for grad in (True, False):  # the in-place ops run without autograd
        torch._dynamo.reset()
        with torch.set_grad_enabled(grad):
            explanation = torch._dynamo.explain(model)(x)
        assert explanation.graph_break_count == 0, explanation.break_reasons
        assert explanation.graph_count == 1


@pytest.mark.slow  # inductor compiles the whole backbone
def test_compile_for_inference_matches(official_model, deployed):
    """Deploy + channels_last + torch.compile with freezing, at an odd size."""
    model = copy.deepcopy(deployed).to(memory_format=torch.channels_last)
    torch._dynamo.reset()
    compiled = compile_for_inference(model)
    x = torch.randn(1, 3, 161, 97)
    with torch.no_grad():
        ref = official_model(x)
    out = compiled(x.contiguous(memory_format=torch.channels_last))
    assert_close_to_scale(out, ref)
    assert out[0].grad_fn is None  # run under no_grad, as a frozen graph must


def test_whole_yolov3_is_folded_and_keeps_its_outputs():
    """A detector (BN in neck and head too): same raw head outputs after the switch."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(dict(
            type='YOLOV3',
            data_preprocessor=dict(type='DetDataPreprocessor'),
            backbone=dict(type='GhostNetV2', out_indices=(2, 3, 4)),
            neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[160, 112, 40],
                      out_channels=[96, 96, 96]),
            bbox_head=dict(type='YOLOV3Head', num_classes=80, in_channels=[96, 96, 96],
                           out_channels=[96, 96, 96])))
    randomize_norms(model).eval()
    x = torch.randn(1, 3, 160, 224)
    with torch.no_grad():
        ref = model._forward(x)[0]
        switch_to_deploy(model)
        out = model._forward(x)[0]
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert isinstance(model.backbone.blocks[3][0], DeployGhostBottleneck)
    assert_close_to_scale(out, ref)


def test_dfc_plug_in_outside_ghostnetv2_is_deployed_too():
    """A DFCAttention used as a plug-in (gating its own input) is swapped and
    stays exact; it gates out of place, since its caller may keep the input."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16),
                              DFCAttention(16))
    randomize_norms(net).eval()
    x = torch.randn(1, 3, 20, 30).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = net(x)
        switch_to_deploy(net)
        assert isinstance(net[-1], DeployDFCAttention)
        inner = net[0](x)
        kept = inner.clone()
        assert_close_to_scale([net[-1](inner)], [ref])
        assert torch.equal(inner, kept)
