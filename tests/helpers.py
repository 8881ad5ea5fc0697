"""Small helpers shared by several test modules (tests/ is on sys.path via conftest)."""
import torch
from torch.nn.modules.batchnorm import _BatchNorm


def randomize_norms(model, seed=0):
    """Non-trivial BN statistics and affine parameters, as trained models have."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def assert_close_to_scale(outs, refs, tol=1e-4):
    """Every output within ``tol`` of its reference, relative to the reference's scale."""
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        scale = ref.abs().max().item()
        assert (out - ref).abs().max().item() <= tol * max(scale, 1e-6)
