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
