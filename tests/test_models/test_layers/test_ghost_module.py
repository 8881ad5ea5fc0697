"""The Ghost module and DFC attention as training layers."""
import torch
import torch.nn.functional as F

from ghostnetv2_mm.models.layers import DFCAttention, GhostModule


def test_ghost_module_is_the_concat_of_primary_and_cheap_channels():
    module = GhostModule(8, 16).eval()
    x = torch.randn(1, 8, 9, 9)
    with torch.no_grad():
        x1 = module.primary_conv(x)
        assert torch.equal(module(x), torch.cat([x1, module.cheap_operation(x1)], 1))
    assert module.primary_conv[0].out_channels == module.cheap_operation[0].out_channels == 8


def test_odd_out_channels_are_sliced():
    module = GhostModule(8, 7).eval()
    assert module.primary_conv[0].out_channels == 4  # ceil(7 / 2), 4 + 4 cheap
    assert module(torch.randn(1, 8, 9, 9)).shape == (1, 7, 9, 9)


def test_dfc_gate_is_between_zero_and_one_and_matches_target_size():
    gate = DFCAttention(8, 6).eval()
    x = torch.randn(1, 8, 11, 7)
    target = torch.ones(1, 6, 11, 7)
    with torch.no_grad():
        out = gate(x, target)
    assert out.shape == target.shape
    assert (out > 0).all() and (out < 1).all()


def test_dfc_gate_is_the_papers_formula():
    """pool 2x -> conv + norm -> 1xK + norm -> Kx1 + norm -> sigmoid -> nearest
    resize to the target, times the target."""
    dfc = DFCAttention(8, 6, dfc_kernel_size=5).eval()
    x, target = torch.randn(2, 8, 13, 10), torch.randn(2, 6, 13, 10)
    with torch.no_grad():
        y = F.avg_pool2d(x, 2, 2)
        for layer in dfc:
            y = layer(y)
        expected = target * F.interpolate(torch.sigmoid(y), size=(13, 10), mode='nearest')
        assert torch.equal(dfc(x, target), expected)
    assert [m.kernel_size for m in dfc if isinstance(m, torch.nn.Conv2d)] == \
        [(1, 1), (1, 5), (5, 1)]


def test_dfc_plug_in_gates_its_own_input():
    dfc = DFCAttention(16).eval()  # out_channels defaults to in_channels
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        assert torch.equal(dfc(x), dfc(x, x))


def test_attn_ghost_module_applies_gate():
    plain = GhostModule(8, 16).eval()
    gated = GhostModule(8, 16, dfc=dict(dfc_kernel_size=5)).eval()
    gated.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        ratio = gated(x) / plain(x).clamp_min(1e-6)
    nonzero = plain(x) > 1e-3
    assert (ratio[nonzero] < 1).all()  # sigmoid gate shrinks every activation
