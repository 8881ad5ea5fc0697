"""Deploy mode: folded norms give the eval-mode outputs; channels_last; compile."""
import copy
import pickle
from collections import Counter
from types import SimpleNamespace

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from ghostnetv2_mm import GhostNetV2, ops
from ghostnetv2_mm.deploy import (HAS_ONEDNN, DeployConv2d, compile_for_inference,
                                  switch_model_to_deploy, use_deploy_convs)
from ghostnetv2_mm.models.layers import GhostModule
from helpers import assert_close_to_scale, randomize_norms

ALL = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope='module')
def official_model(official_checkpoint):
    model = GhostNetV2(out_indices=ALL, init_cfg=dict(
        type='Pretrained', checkpoint=str(official_checkpoint)))
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('hw', [(33, 65), (227, 301), (64, 64)])
def test_deploy_matches_eval_model(official_model, hw):
    x = torch.randn(2, 3, *hw)
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    with torch.no_grad():
        assert_close_to_scale(deployed(x), official_model(x))
    assert not any(isinstance(m, _BatchNorm) for m in deployed.modules())
    assert not any(isinstance(child, torch.nn.Identity)
                   for m in deployed.modules() if isinstance(m, torch.nn.Sequential)
                   for child in m)
    names = dict(deployed.named_modules())
    assert 'blocks.3.0.ghost1.short_conv.0' in names  # DFC convs kept, norms folded
    assert names['blocks.3.0.ghost1.short_conv.0'].bias is not None
    assert 'blocks.3.0.ghost1.short_conv.1' not in names


@pytest.mark.parametrize('width', [1.3, 1.6])
def test_deploy_other_widths(width):
    model = randomize_norms(GhostNetV2(widen_factor=width, out_indices=ALL)).eval()
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        ref = model(x)
        assert_close_to_scale(copy.deepcopy(model).switch_to_deploy()(x), ref)


def test_deploy_checkpoint_reloads_into_deploy_built_model(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    rebuilt = GhostNetV2(out_indices=ALL, deploy=True)
    rebuilt.load_state_dict(deployed.state_dict(), strict=True)
    x = torch.randn(1, 3, 75, 51)
    with torch.no_grad():
        for a, b in zip(rebuilt(x), deployed(x)):
            assert torch.equal(a, b)


def test_deploy_checkpoint_from_before_the_ghost_merge_still_loads(official_model):
    """Deploy checkpoints written before the concat-free merge hold the folded
    primary / cheap convs; they load (strictly) into the merged structure."""
    from ghostnetv2_mm.deploy import drop_identities, fold_batchnorms
    old_format = drop_identities(fold_batchnorms(copy.deepcopy(official_model))).state_dict()
    assert 'blocks.0.0.ghost1.primary_conv.0.bias' in old_format
    rebuilt = GhostNetV2(out_indices=ALL, deploy=True)
    assert rebuilt.blocks[0][0].ghost1.merged is not None
    rebuilt.load_state_dict(old_format, strict=True)
    x = torch.randn(1, 3, 75, 51)
    with torch.no_grad():
        assert_close_to_scale(rebuilt(x), official_model(x))


def test_inplace_gates_and_sums_change_nothing_but_memory(official_model):
    """Deploy applies DFC gates, SE scales and shortcut sums in place when no
    autograd runs: bit-equal to the out-of-place ops; with autograd on they stay out of
    place, so gradients to the input still work."""
    from ghostnetv2_mm.models.layers import DFCAttention, GhostBottleneck, SqueezeExcite
    kinds = (DFCAttention, GhostBottleneck, SqueezeExcite)
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    flagged = [m for m in deployed.modules() if isinstance(m, kinds)]
    assert len(flagged) == 14 + 16 + 7 and all(m.inplace for m in flagged)
    plain = copy.deepcopy(deployed)
    for m in plain.modules():
        if isinstance(m, kinds):
            m.inplace = False
    x = torch.randn(1, 3, 97, 66).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for a, b in zip(deployed(x), plain(x)):
            assert torch.equal(a, b)
    x.requires_grad_(True)
    deployed(x)[-1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_training_after_deploy_is_refused(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    assert deployed.switch_to_deploy() is deployed  # idempotent
    with pytest.raises(RuntimeError, match='deploy mode .* cannot be trained'):
        deployed.train()


def test_unfoldable_norm_is_named():
    model = GhostNetV2(norm_cfg=dict(type='GN', num_groups=4), out_indices=(1,))
    with pytest.raises(ValueError, match=r"\['GroupNorm'\] cannot be folded"):
        model.switch_to_deploy()


def test_channels_last_matches(official_model):
    x = torch.randn(1, 3, 227, 301)
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    cl = copy.deepcopy(deployed).to(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = official_model(x)
        assert_close_to_scale(cl(x.contiguous(memory_format=torch.channels_last)), ref)
        assert_close_to_scale(cl(x), ref)


@pytest.mark.parametrize('deploy,channels_last', [(False, False), (True, False),
                                                   (True, True)])
def test_dynamo_sees_no_graph_breaks(deploy, channels_last):
    model = randomize_norms(GhostNetV2(out_indices=ALL)).eval()
    x = torch.randn(1, 3, 96, 128)
    if deploy:
        model.switch_to_deploy()
    if channels_last:  # the deploy model's GEMM path for 1x1 convs is traced
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    for grad in (True, False):  # deploy's in-place ops run without autograd
        torch._dynamo.reset()
        with torch.set_grad_enabled(grad):
            explanation = torch._dynamo.explain(model)(x)
        assert explanation.graph_break_count == 0, explanation.break_reasons
        assert explanation.graph_count == 1


def test_compile_for_inference_matches(official_model):
    """What the README and the benchmark use: deploy + channels_last +
    torch.compile with freezing, at an odd, non-square size."""
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    deployed = deployed.to(memory_format=torch.channels_last)
    torch._dynamo.reset()
    compiled = compile_for_inference(deployed)
    x = torch.randn(1, 3, 161, 97)
    with torch.no_grad():
        ref = official_model(x)
    out = compiled(x.contiguous(memory_format=torch.channels_last))
    assert_close_to_scale(out, ref)
    assert out[0].grad_fn is None  # run under no_grad, as a frozen graph must


def test_deploy_convs_fuse_the_activations_after_them(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    convs = [m for m in deployed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(isinstance(m, DeployConv2d) for m in convs)
    fused = Counter(type(m.activation).__name__ for m in convs if m.activation is not None)
    # stem, blocks.9, and both halves of every first Ghost module (4 of them
    # merged: conv + depthwise); the sigmoid of every DFC gate
    assert fused == {'ReLU': 1 + 1 + 2 * 16, 'Sigmoid': 14}
    for seq in (m for m in deployed.modules() if isinstance(m, torch.nn.Sequential)):
        layers = list(seq)
        assert not any(isinstance(a, torch.nn.Conv2d) and type(b) in (
            torch.nn.ReLU, torch.nn.Sigmoid) for a, b in zip(layers, layers[1:]))
    merged = [name for name, m in deployed.named_modules() if name.endswith('.merged')]
    # concat-free where PyTorch gains (<= 24 inputs): the high-resolution modules
    assert merged == ['blocks.0.0.ghost1.merged', 'blocks.0.0.ghost2.merged'] + [
        f'blocks.{i}.0.ghost1.merged' for i in (1, 2, 3)]


def _deploy_conv(*args, act=None, **kwargs):
    conv = torch.nn.Conv2d(*args, **kwargs)
    torch.nn.init.normal_(conv.bias)
    deploy = DeployConv2d.from_conv(conv)
    if act is not None:
        assert deploy.fuse_activation(act)
    return deploy


def _reference(conv, x):
    out = torch.nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride,
                                     conv.padding, conv.dilation, conv.groups)
    return out if conv.activation is None else conv.activation(out)


class _Routes:
    """Counts the calls of the fast routes during a block."""

    def __init__(self, monkeypatch):
        import ghostnetv2_mm.deploy as deploy
        self.calls = Counter()
        monkeypatch.setattr(deploy, '_onednn_conv',
                            self._spy('_onednn_conv', deploy._onednn_conv))
        monkeypatch.setattr(torch, 'addmm', self._spy('gemm', torch.addmm))
        if deploy._kernels is not None:
            kernel = deploy._kernels.depthwise_conv_nhwc
            monkeypatch.setattr(deploy, '_kernels', SimpleNamespace(
                depthwise_conv_nhwc=self._spy('kernel', kernel)))

    def _spy(self, name, fn):
        def spy(*args, **kwargs):
            self.calls[name] += 1
            return fn(*args, **kwargs)
        return spy


def _channels_last(*shape):
    return torch.randn(*shape).contiguous(memory_format=torch.channels_last)


@pytest.fixture
def kernels():
    """The compiled kernels, as deploy mode loads them (a failed build fails)."""
    import ghostnetv2_mm.deploy as deploy
    if not ops.kernels_enabled():
        pytest.skip(f'compiled kernels switched off ({ops.SWITCH}=0)')
    use_deploy_convs(torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, groups=4)))
    assert deploy._kernels is not None, 'the compiled kernels could not be built'
    return deploy._kernels


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
@pytest.mark.parametrize('act', [None, torch.nn.ReLU(), torch.nn.ReLU6(), torch.nn.Sigmoid()])
def test_deploy_conv_routes_are_exact(monkeypatch, kernels, act):
    routes = _Routes(monkeypatch)
    pointwise = _deploy_conv(24, 40, 1, act=act)
    depthwise = _deploy_conv(40, 40, (1, 5), padding=(0, 2), groups=40, act=act)
    small, big = _channels_last(2, 24, 9, 13), _channels_last(1, 24, 48, 40)
    with torch.no_grad():
        for conv, x, route in ((pointwise, small, 'gemm'), (pointwise, big, '_onednn_conv'),
                               (depthwise, _channels_last(2, 40, 9, 13), 'kernel'),
                               (depthwise, _channels_last(1, 40, 81, 80), '_onednn_conv')):
            ref = _reference(conv, x.contiguous())
            before = routes.calls[route]
            out = conv(x)
            assert routes.calls[route] == before + 1, route
            assert out.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
            nchw = x.contiguous()  # other layouts: the plain conv, bit-equal
            calls = sum(routes.calls.values())
            assert torch.equal(conv(nchw), ref)
            assert sum(routes.calls.values()) == calls


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
def test_deploy_conv_without_kernels_runs_onednn(monkeypatch):
    import ghostnetv2_mm.deploy as deploy
    monkeypatch.setattr(deploy, '_kernels', None)  # e.g. no compiler on this machine
    routes = _Routes(monkeypatch)
    depthwise = _deploy_conv(16, 16, 3, padding=1, groups=16, act=torch.nn.ReLU())
    x = _channels_last(1, 16, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(depthwise(x), _reference(depthwise, x),
                                   rtol=1e-5, atol=1e-5)
        assert depthwise.forward_concat(x) is None  # the Ghost module concatenates
    assert routes.calls == {'_onednn_conv': 1}


def test_deploy_conv_forward_concat_is_the_ghost_output(monkeypatch, kernels):
    routes = _Routes(monkeypatch)
    cheap = _deploy_conv(20, 20, 3, padding=1, groups=20, act=torch.nn.ReLU())
    x = _channels_last(2, 20, 12, 9)
    with torch.no_grad():
        out = cheap.forward_concat(x)
        assert routes.calls == {'kernel': 1}
        torch.testing.assert_close(out, torch.cat([x, _reference(cheap, x)], 1),
                                   rtol=1e-5, atol=1e-5)
        x.requires_grad_(True)  # with autograd (or a strided conv): not this route
    assert cheap.forward_concat(x) is None
    strided = _deploy_conv(20, 20, 3, stride=2, padding=1, groups=20)
    with torch.no_grad():
        assert strided.forward_concat(x.detach()) is None


def test_deployed_ghost_modules_write_their_concat_in_the_kernel(official_model, kernels,
                                                                 monkeypatch):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    cheap = [m for m in deployed.modules() if isinstance(m, GhostModule)]
    # every unmerged Ghost module: its cheap op is one deploy conv
    assert sum(m.concat_in_cheap for m in cheap) == sum(m.merged is None for m in cheap) == 27
    routes = _Routes(monkeypatch)
    interpolations = Counter()
    original = torch.nn.functional.interpolate

    def spy(*args, **kwargs):
        interpolations['resize'] += 1
        return original(*args, **kwargs)
    monkeypatch.setattr(torch.nn.functional, 'interpolate', spy)
    gated = Counter()
    kernel = ops.load_kernels().depthwise_conv_nhwc

    def count_gates(*args):
        gated['gate'] += args[-1] is not None
        return kernel(*args)
    import ghostnetv2_mm.deploy as deploy
    monkeypatch.setattr(deploy, '_kernels', SimpleNamespace(
        depthwise_conv_nhwc=routes._spy('kernel', count_gates)))
    with torch.no_grad():
        deployed(_channels_last(1, 3, 128, 128))
    # 27 Ghost concats in the kernel, plus the small depthwise convs
    assert routes.calls['kernel'] >= 27
    # the DFC gates of the 12 unmerged gated modules are applied as written
    assert gated['gate'] == 12
    # every DFC gate at this size is an exact 2x: multiplied by broadcasting
    assert interpolations['resize'] == 0
    with torch.no_grad():
        deployed(_channels_last(1, 3, 100, 100))  # odd gate sizes: the resize
    assert interpolations['resize'] > 0


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
def test_deploy_conv_repacks_a_changed_weight_and_copies(monkeypatch):
    conv = _deploy_conv(16, 16, 3, padding=1, groups=16, act=torch.nn.ReLU())
    x = torch.randn(1, 16, 12, 12).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        conv(x)  # packs the weight
        conv.load_state_dict({'weight': torch.randn(16, 1, 3, 3), 'bias': conv.bias * 2})
        torch.testing.assert_close(conv(x), _reference(conv, x), rtol=1e-5, atol=1e-5)
        conv.weight.mul_(-1)  # an in-place edit
        torch.testing.assert_close(conv(x), _reference(conv, x), rtol=1e-5, atol=1e-5)
        for clone in (copy.deepcopy(conv), pickle.loads(pickle.dumps(conv))):
            assert clone._packed is None  # oneDNN's opaque copy is rebuilt, not copied
            torch.testing.assert_close(clone(x), conv(x), rtol=0, atol=0)


def test_deploy_conv_keeps_autograd_and_tracing_on_the_plain_conv():
    conv = _deploy_conv(8, 8, 3, padding=1, groups=8, act=torch.nn.ReLU())
    x = torch.randn(1, 8, 10, 10).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = conv(x)
    out.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    assert torch.equal(out.detach(), _reference(conv, x.detach()))
    traced = torch.jit.trace(conv, x.detach())
    names = {n.kind() for n in traced.graph.nodes()}
    assert 'aten::_convolution' in names and 'aten::relu_' in names


def test_switch_model_to_deploy_folds_neck_and_head():
    """A whole YOLOv3 (BN in neck and head): same raw head outputs after the switch."""
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
        switch_model_to_deploy(model)
        out = model._forward(x)[0]
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert_close_to_scale(out, ref)
