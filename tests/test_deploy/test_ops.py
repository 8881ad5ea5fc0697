"""The compiled CPU kernels (ghostnetv2_mm.deploy.ops): exact against F.conv2d,
clear errors, per-CPU build cache, and a warned fallback when unbuildable."""
import warnings

import pytest
import torch
import torch.nn.functional as F

from ghostnetv2_mm.deploy import ops

ACTS = {
    'none': ((ops.ACT_NONE, 0., 0.), lambda t: t),
    'relu': ((ops.ACT_CLAMP, 0., float('inf')), torch.relu),
    'relu6': ((ops.ACT_CLAMP, 0., 6.), lambda t: t.clamp(0, 6)),
    'sigmoid': ((ops.ACT_SIGMOID, 0., 0.), torch.sigmoid),
}


@pytest.fixture(scope='module')
def kernels():
    if not ops.kernels_enabled():
        pytest.skip(f'compiled kernels switched off ({ops.SWITCH}=0)')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a failed build must fail here, not pass quietly
        module = ops.load_kernels()
    assert module is not None
    return module


def _case(channels, kernel, stride, padding, dilation, hw=(11, 14), batch=2):
    x = torch.randn(batch, channels, *hw).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(channels, 1, *kernel)
    bias = torch.randn(channels)
    ref = F.conv2d(x.contiguous(), weight, bias, stride, padding, dilation, channels)
    return x, weight, bias, ref


def _run(x, weight, bias, stride, padding, dilation, act='none', keep_input=False):
    return ops.depthwise_conv_nhwc(x, ops.pack_depthwise_weight(weight), bias, stride,
                                   padding, dilation, *ACTS[act][0], keep_input=keep_input)


# channel counts cover the 16-wide blocks, the overlapping last block, the
# 4-wide blocks and single channels; geometries cover GhostNetV2's convs
# (3x3, strided 3x3/5x5, the DFC's 1x5 / 5x1) and dilation, and padding
# narrower than the kernel's reach
@pytest.mark.parametrize('channels', [1, 3, 4, 12, 16, 20, 40, 72])
@pytest.mark.parametrize('kernel,stride,padding,dilation', [
    ((3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((5, 5), (2, 2), (2, 2), (1, 1)),
    ((1, 5), (1, 1), (0, 2), (1, 1)),
    ((5, 1), (1, 1), (2, 0), (1, 1)),
    ((3, 3), (1, 2), (2, 0), (2, 1)),
])
def test_depthwise_matches_conv2d(kernels, channels, kernel, stride, padding, dilation):
    x, weight, bias, ref = _case(channels, kernel, stride, padding, dilation)
    out = _run(x, weight, bias, stride, padding, dilation)
    assert out.shape == ref.shape
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('act', sorted(ACTS))
@pytest.mark.parametrize('channels', [3, 24, 40])
def test_depthwise_fuses_the_activation(kernels, act, channels):
    x, weight, bias, ref = _case(channels, (3, 3), (1, 1), (1, 1), (1, 1))
    out = _run(x * 4, weight, bias, (1, 1), (1, 1), (1, 1), act=act)
    ref = ACTS[act][1](F.conv2d(x.contiguous() * 4, weight, bias, 1, 1, 1, channels))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('channels', [2, 20, 48])
def test_keep_input_writes_the_ghost_concat(kernels, channels):
    x, weight, bias, ref = _case(channels, (3, 3), (1, 1), (1, 1), (1, 1), hw=(7, 9))
    out = _run(x, weight, bias, (1, 1), (1, 1), (1, 1), act='relu', keep_input=True)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out[:, :channels], x)
    torch.testing.assert_close(out[:, channels:], ref.relu(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('keep_input,channels', [(True, 10), (True, 24), (False, 19)])
def test_gate_multiplies_by_its_nearest_2x_resize(kernels, keep_input, channels):
    x, weight, bias, ref = _case(channels, (3, 3), (1, 1), (1, 1), (1, 1), hw=(8, 6))
    if keep_input:
        ref = torch.cat([x, ref], 1)
    gate = torch.rand(2, ref.shape[1], 4, 3).contiguous(memory_format=torch.channels_last)
    out = ops.depthwise_conv_nhwc(x, ops.pack_depthwise_weight(weight), bias, (1, 1),
                                  (1, 1), (1, 1), keep_input=keep_input, gate=gate)
    resized = torch.nn.functional.interpolate(gate, size=(8, 6), mode='nearest')
    torch.testing.assert_close(out, ref * resized, rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match='half its'):
        ops.depthwise_conv_nhwc(x, ops.pack_depthwise_weight(weight), bias, (1, 1),
                                (1, 1), (1, 1), keep_input=keep_input,
                                gate=gate[:, :, :3].contiguous(memory_format=torch.channels_last))


def test_depthwise_errors_name_the_problem(kernels):
    x, weight, bias, _ = _case(8, (3, 3), (1, 1), (1, 1), (1, 1))
    with pytest.raises(RuntimeError, match='channels_last float32'):
        _run(x.contiguous(), weight, bias, (1, 1), (1, 1), (1, 1))
    with pytest.raises(RuntimeError, match='channels_last float32'):
        _run(x.double(), weight, bias, (1, 1), (1, 1), (1, 1))
    with pytest.raises(RuntimeError, match=r'\(KH, KW, C\)'):
        ops.depthwise_conv_nhwc(x, weight[:4, 0].permute(1, 2, 0).contiguous(), bias,
                                (1, 1), (1, 1), (1, 1))
    with pytest.raises(RuntimeError, match='keeps the size'):
        _run(x, weight, bias, (2, 2), (1, 1), (1, 1), keep_input=True)
    with pytest.raises(RuntimeError, match='smaller than the kernel'):
        _run(x[:, :, :2, :2].contiguous(memory_format=torch.channels_last),
             weight, bias, (1, 1), (0, 0), (1, 1))


def test_build_directory_is_keyed_on_the_cpu(monkeypatch):
    here = ops.build_directory()
    monkeypatch.setattr(ops, '_cpu_signature', lambda: 'a different instruction set')
    assert ops.build_directory() != here  # a cached build never runs on another CPU


def test_unbuildable_kernels_warn_once_and_deploy_falls_back(monkeypatch):
    def no_compiler():
        raise OSError('g++: command not found')
    monkeypatch.setattr(ops, '_loaded', {})
    monkeypatch.setattr(ops, '_build', no_compiler)
    with pytest.warns(RuntimeWarning, match='g\\+\\+: command not found.*oneDNN'):
        assert ops.load_kernels() is None
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert ops.load_kernels() is None  # tried once: no second warning
    with pytest.raises(RuntimeError, match='not available'):
        ops.depthwise_conv_nhwc(torch.zeros(1, 1, 3, 3), torch.zeros(3, 3, 1),
                                torch.zeros(1), (1, 1), (1, 1), (1, 1))


def test_switched_off_kernels_are_not_built(monkeypatch):
    def must_not_build():
        raise AssertionError('built although switched off')
    monkeypatch.setattr(ops, '_loaded', {})
    monkeypatch.setattr(ops, '_build', must_not_build)
    monkeypatch.setenv(ops.SWITCH, '0')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert ops.load_kernels() is None
