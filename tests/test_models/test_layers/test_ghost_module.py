"""Ghost module pieces: channel concat, odd channel counts, DFC gating."""
import pytest
import torch

from ghostnetv2_mm.models.layers import DFCAttention, GhostModule
from ghostnetv2_mm.models.layers.ghost_module import cat_channels


@pytest.mark.parametrize('fmt', [torch.contiguous_format, torch.channels_last])
def test_cat_channels_equals_torch_cat(fmt):
    a = torch.randn(2, 6, 7, 5).contiguous(memory_format=fmt)
    b = torch.randn(2, 3, 7, 5).contiguous(memory_format=fmt)
    out = cat_channels(a, b)
    assert torch.equal(out, torch.cat([a, b], dim=1))
    assert out.is_contiguous(memory_format=fmt)


def test_odd_out_channels_are_sliced():
    module = GhostModule(8, 7).eval()
    assert module.needs_slice
    assert module(torch.randn(1, 8, 9, 9)).shape == (1, 7, 9, 9)
    assert not GhostModule(8, 8).needs_slice


def test_dfc_gate_is_between_zero_and_one_and_matches_target_size():
    gate = DFCAttention(8, 6).eval()
    x = torch.randn(1, 8, 11, 7)
    target = torch.ones(1, 6, 11, 7)
    with torch.no_grad():
        out = gate(x, target)
    assert out.shape == target.shape
    assert (out > 0).all() and (out < 1).all()


def test_attn_ghost_module_applies_gate():
    plain = GhostModule(8, 16).eval()
    gated = GhostModule(8, 16, dfc=dict(dfc_kernel_size=5)).eval()
    gated.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        ratio = gated(x) / plain(x).clamp_min(1e-6)
    nonzero = plain(x) > 1e-3
    assert (ratio[nonzero] < 1).all()  # sigmoid gate shrinks every activation


def _folded(module):
    """An eval-mode Ghost module with trained-like norms, folded as deploy does."""
    from ghostnetv2_mm.deploy import drop_identities, fold_batchnorms
    from helpers import randomize_norms
    return drop_identities(fold_batchnorms(randomize_norms(module).eval()))


@pytest.mark.parametrize('in_ch,out_ch,ratio,use_act,dilation', [
    (8, 16, 2, True, 1),    # ghost1 with ReLU
    (16, 8, 2, False, 1),   # projecting ghost2, no activation
    (8, 7, 2, True, 1),     # odd width: the concat was sliced
    (6, 12, 3, True, 1),    # two cheap channels per primary channel
    (8, 16, 2, True, 2),    # dilated cheap conv (output_stride < 32)
])
def test_merge_for_deploy_gives_the_concat_values_without_a_concat(
        in_ch, out_ch, ratio, use_act, dilation):
    module = GhostModule(in_ch, out_ch, ratio=ratio, use_act=use_act,
                         dilation=dilation, dfc=dict(dfc_kernel_size=5))
    folded = _folded(module)
    x = torch.randn(2, in_ch, 13, 10)
    with torch.no_grad():
        ref = folded(x)
        assert folded.merge_for_deploy()
        out = folded(x)
    assert folded.primary_conv is None and folded.cheap_operation is None
    conv, dw = [m for m in folded.merged if isinstance(m, torch.nn.Conv2d)]
    assert conv.out_channels == dw.groups == out_ch  # writes the full width at once
    assert out.shape == ref.shape
    assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_merge_for_deploy_keeps_the_concat_for_non_idempotent_activations():
    module = _folded(GhostModule(8, 16, act_cfg=dict(type='HSwish')))
    assert not module.merge_for_deploy()  # hswish(hswish(x)) != hswish(x)
    assert module.merged is None and module.primary_conv is not None


def test_merge_for_deploy_needs_folded_norms():
    with pytest.raises(RuntimeError, match='norms folded'):
        GhostModule(8, 16).eval().merge_for_deploy()


def test_merge_for_deploy_keeps_the_modules_dtype_and_device():
    """The merged convs are built where the folded ones live (e.g. a model moved
    to CUDA or to float64 before switch_to_deploy)."""
    module = _folded(GhostModule(8, 16)).double()
    x = torch.randn(1, 8, 9, 11, dtype=torch.float64)
    with torch.no_grad():
        ref = module(x)
        module.merge_for_deploy()
        out = module(x)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert torch.allclose(out, ref, rtol=0, atol=1e-12 * ref.abs().max().item())
