"""The deploy versions of the Ghost layers: the concat-free merge, the Ghost
concat and the DFC gate written by the compiled kernel, exact sizes and not."""
import copy
from collections import Counter
from types import SimpleNamespace

import pytest
import torch

import ghostnetv2_mm.deploy.conv as conv_module
from ghostnetv2_mm.deploy import ops, switch_to_deploy
from ghostnetv2_mm.deploy.layers import DeployGhostModule
from ghostnetv2_mm.models.layers import GhostModule
from helpers import channels_last, randomize_norms


def deployed_module(module):
    """A trained-like Ghost module, deployed without merging."""
    holder = torch.nn.Sequential(randomize_norms(module).eval())
    switch_to_deploy(holder, merge_max_in_channels=0)
    assert isinstance(holder[0], DeployGhostModule) and holder[0].merged is None
    return holder[0]


@pytest.mark.parametrize('in_ch,out_ch,ratio,use_act,dilation', [
    (8, 16, 2, True, 1),    # ghost1 with ReLU
    (16, 8, 2, False, 1),   # projecting ghost2, no activation
    (8, 7, 2, True, 1),     # odd width: the concat was sliced
    (6, 12, 3, True, 1),    # two cheap channels per primary channel
    (8, 16, 2, True, 2),    # dilated cheap conv (output_stride < 32)
])
def test_merge_gives_the_concat_values_without_a_concat(in_ch, out_ch, ratio, use_act,
                                                        dilation):
    module = deployed_module(GhostModule(in_ch, out_ch, ratio=ratio, use_act=use_act,
                                         dilation=dilation, dfc=dict(dfc_kernel_size=5)))
    x = torch.randn(2, in_ch, 13, 10)
    with torch.no_grad():
        ref = module(x)
        assert module.merge()
        out = module(x)
    assert module.primary_conv is None and module.cheap_operation is None
    conv, dw = [m for m in module.merged if isinstance(m, torch.nn.Conv2d)]
    assert conv.out_channels == dw.groups == out_ch  # writes the full width at once
    assert out.shape == ref.shape
    assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_merge_keeps_the_concat_for_non_idempotent_activations():
    module = deployed_module(GhostModule(8, 16, act_cfg=dict(type='HSwish')))
    assert not module.merge()  # hswish(hswish(x)) != hswish(x)
    assert module.merged is None and module.primary_conv is not None


def test_merge_keeps_the_modules_dtype_and_device():
    """The merged convs are built where the folded ones live (a model moved to
    float64 or to CUDA before the switch)."""
    module = deployed_module(GhostModule(8, 16).double())
    x = torch.randn(1, 8, 9, 11, dtype=torch.float64)
    with torch.no_grad():
        ref = module(x)
        module.merge()
        out = module(x)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert torch.allclose(out, ref, rtol=0, atol=1e-12 * ref.abs().max().item())


@pytest.fixture
def kernels():
    if not ops.kernels_enabled():
        pytest.skip(f'compiled kernels switched off ({ops.SWITCH}=0)')
    return ops.load_kernels()


def test_deployed_ghost_modules_write_their_concat_and_gate_in_the_kernel(
        official_model, kernels, monkeypatch):
    deployed = switch_to_deploy(copy.deepcopy(official_model))
    modules = [m for m in deployed.modules() if isinstance(m, DeployGhostModule)]
    # every unmerged Ghost module: its cheap op is one deploy conv
    assert sum(m.concat_in_cheap for m in modules) == sum(m.merged is None
                                                          for m in modules) == 27
    calls = Counter()
    kernel = kernels.depthwise_conv_nhwc

    def counted(*args):
        calls['kernel'] += 1
        calls['gate'] += args[-1] is not None
        return kernel(*args)
    monkeypatch.setattr(conv_module, '_kernels', SimpleNamespace(depthwise_conv_nhwc=counted))
    interpolate = torch.nn.functional.interpolate

    def resize(*args, **kwargs):
        calls['resize'] += 1
        return interpolate(*args, **kwargs)
    monkeypatch.setattr(torch.nn.functional, 'interpolate', resize)
    with torch.no_grad():
        out = deployed(channels_last(1, 3, 128, 128))
    assert calls['kernel'] >= 27  # the 27 Ghost concats, plus small depthwise convs
    assert calls['gate'] == 12  # the unmerged gated modules' gates, as written
    assert calls['resize'] == 0  # every other gate: an exact 2x, by broadcasting
    with torch.no_grad():
        deployed(channels_last(1, 3, 100, 100))  # odd gate sizes need the resize
        ref = official_model(torch.randn(1, 3, 128, 128))
    assert calls['resize'] > 0
    assert [o.shape for o in out] == [r.shape for r in ref]
