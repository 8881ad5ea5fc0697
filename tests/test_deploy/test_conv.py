"""DeployConv2d: every CPU route exact and actually taken, caches rebuilt when the
weight changes, autograd and tracing on the plain conv, and a warned fallback
when torch lacks the private oneDNN ops."""
import copy
import pickle
import warnings
from collections import Counter
from types import SimpleNamespace

import pytest
import torch

import ghostnetv2_mm.deploy.conv as conv_module
from ghostnetv2_mm.deploy import DeployConv2d
from ghostnetv2_mm.deploy import ops
from ghostnetv2_mm.deploy.conv import onednn_ops, use_deploy_convs
from helpers import channels_last

HAS_ONEDNN = torch.backends.mkldnn.is_available()


def deploy_conv(*args, act=None, **kwargs):
    conv = torch.nn.Conv2d(*args, **kwargs)
    torch.nn.init.normal_(conv.bias)
    deploy = DeployConv2d.from_conv(conv)
    if act is not None:
        assert deploy.fuse_activation(act)
    return deploy


def reference(conv, x):
    out = torch.nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding,
                                     conv.dilation, conv.groups)
    return out if conv.activation is None else conv.activation(out)


class Routes:
    """Counts the calls of the fast routes while it is installed."""

    def __init__(self, monkeypatch):
        self.calls = Counter()
        fused, reorder = onednn_ops() or (None, None)
        if fused is not None:
            monkeypatch.setattr(conv_module, 'onednn_ops',
                                lambda: (self.spy('onednn', fused), reorder))
        monkeypatch.setattr(torch, 'addmm', self.spy('gemm', torch.addmm))
        if conv_module._kernels is not None:
            kernel = conv_module._kernels.depthwise_conv_nhwc
            monkeypatch.setattr(conv_module, '_kernels', SimpleNamespace(
                depthwise_conv_nhwc=self.spy('kernel', kernel)))

    def spy(self, name, fn):
        def counted(*args, **kwargs):
            self.calls[name] += 1
            return fn(*args, **kwargs)
        return counted


@pytest.fixture
def kernels():
    """The compiled kernels, as deploy mode loads them (a failed build fails)."""
    if not ops.kernels_enabled():
        pytest.skip(f'compiled kernels switched off ({ops.SWITCH}=0)')
    use_deploy_convs(torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, groups=4)))
    assert conv_module._kernels is not None, 'the compiled kernels could not be built'
    return conv_module._kernels


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
@pytest.mark.parametrize('act', [None, torch.nn.ReLU(), torch.nn.ReLU6(), torch.nn.Sigmoid()])
def test_routes_are_exact_and_taken(monkeypatch, kernels, act):
    routes = Routes(monkeypatch)
    pointwise = deploy_conv(24, 40, 1, act=act)
    depthwise = deploy_conv(40, 40, (1, 5), padding=(0, 2), groups=40, act=act)
    with torch.no_grad():
        for conv, x, route in ((pointwise, channels_last(2, 24, 9, 13), 'gemm'),
                               (pointwise, channels_last(1, 24, 48, 40), 'onednn'),
                               (depthwise, channels_last(2, 40, 9, 13), 'kernel'),
                               (depthwise, channels_last(1, 40, 81, 80), 'onednn')):
            ref = reference(conv, x.contiguous())
            before = routes.calls[route]
            out = conv(x)
            assert routes.calls[route] == before + 1, route
            assert out.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
            calls = sum(routes.calls.values())
            assert torch.equal(conv(x.contiguous()), ref)  # NCHW: the plain conv
            assert sum(routes.calls.values()) == calls


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
def test_without_kernels_depthwise_convs_run_onednn(monkeypatch):
    monkeypatch.setattr(conv_module, '_kernels', None)  # e.g. no compiler here
    routes = Routes(monkeypatch)
    depthwise = deploy_conv(16, 16, 3, padding=1, groups=16, act=torch.nn.ReLU())
    x = channels_last(1, 16, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(depthwise(x), reference(depthwise, x), rtol=1e-5,
                                   atol=1e-5)
        assert depthwise.forward_concat(x) is None  # the Ghost module concatenates
    assert routes.calls == {'onednn': 1}


def test_missing_private_onednn_ops_warn_once_and_fall_back(monkeypatch):
    """A torch release without ``torch.ops.mkldnn._convolution_pointwise``: one
    warning naming what is missing, then the public conv, exact."""
    monkeypatch.setattr(torch.ops, 'mkldnn', SimpleNamespace())  # the ops are gone
    onednn_ops.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match='_convolution_pointwise.*plain F.conv2d'):
            conv = deploy_conv(24, 40, 3, padding=1, act=torch.nn.ReLU())
        x = channels_last(1, 24, 48, 40)  # a oneDNN-route shape
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # no second warning
            again = deploy_conv(8, 8, 1)
            with torch.no_grad():
                assert torch.equal(conv(x), reference(conv, x))
        assert not conv._onednn and not again._onednn
    finally:
        monkeypatch.undo()
        onednn_ops.cache_clear()
    assert onednn_ops() is not None or not HAS_ONEDNN


def test_forward_concat_is_the_ghost_output(monkeypatch, kernels):
    routes = Routes(monkeypatch)
    cheap = deploy_conv(20, 20, 3, padding=1, groups=20, act=torch.nn.ReLU())
    x = channels_last(2, 20, 12, 9)
    with torch.no_grad():
        out = cheap.forward_concat(x)
        assert routes.calls == {'kernel': 1}
        torch.testing.assert_close(out, torch.cat([x, reference(cheap, x)], 1),
                                   rtol=1e-5, atol=1e-5)
    x.requires_grad_(True)  # with autograd (or a strided conv): not this route
    assert cheap.forward_concat(x) is None
    strided = deploy_conv(20, 20, 3, stride=2, padding=1, groups=20)
    with torch.no_grad():
        assert strided.forward_concat(x.detach()) is None


@pytest.mark.skipif(not HAS_ONEDNN, reason='this torch has no oneDNN')
def test_a_changed_weight_is_repacked_and_copies_rebuild_their_caches():
    conv = deploy_conv(16, 16, 3, padding=1, groups=16, act=torch.nn.ReLU())
    x = channels_last(1, 16, 12, 12)
    with torch.no_grad():
        conv(x)  # packs the weight
        conv.load_state_dict({'weight': torch.randn(16, 1, 3, 3), 'bias': conv.bias * 2})
        torch.testing.assert_close(conv(x), reference(conv, x), rtol=1e-5, atol=1e-5)
        conv.weight.mul_(-1)  # an in-place edit
        torch.testing.assert_close(conv(x), reference(conv, x), rtol=1e-5, atol=1e-5)
        for clone in (copy.deepcopy(conv), pickle.loads(pickle.dumps(conv))):
            assert clone._packed is None  # oneDNN's opaque copy is rebuilt, not copied
            torch.testing.assert_close(clone(x), conv(x), rtol=0, atol=0)


def test_autograd_and_tracing_take_the_plain_conv():
    conv = deploy_conv(8, 8, 3, padding=1, groups=8, act=torch.nn.ReLU())
    x = channels_last(1, 8, 10, 10).requires_grad_(True)
    out = conv(x)
    out.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    assert torch.equal(out.detach(), reference(conv, x.detach()))
    traced = torch.jit.trace(conv, x.detach())
    names = {n.kind() for n in traced.graph.nodes()}
    assert 'aten::_convolution' in names and 'aten::relu_' in names


def test_unfusable_activations_are_refused():
    conv = deploy_conv(4, 4, 1)
    assert not conv.fuse_activation(torch.nn.Hardswish())
    assert conv.fuse_activation(torch.nn.ReLU())
    assert not conv.fuse_activation(torch.nn.ReLU())  # one activation per conv
