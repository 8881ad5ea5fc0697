"""The backbone: shapes, strides and channels, OpenMMLab conventions, options, bad input."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.deploy import switch_to_deploy
from helpers import ALL_INDICES, assert_close_to_scale, randomize_norms

CHANNELS = {1.0: [16, 24, 40, 112, 160, 960],
            1.3: [20, 32, 52, 144, 208, 1248],
            1.6: [24, 40, 64, 180, 256, 1536]}
STRIDES = [2, 4, 8, 16, 32, 32]


def conv_out(size, times):
    for _ in range(times):
        size = (size - 1) // 2 + 1  # 3x3 / 5x5 conv, stride 2, same padding
    return size


@pytest.mark.parametrize('width', [1.0, 1.3, 1.6])
@pytest.mark.parametrize('hw', [(33, 65), (227, 301), (64, 64)])
def test_shapes_strides_channels_all_indices(width, hw):
    model = GhostNetV2(widen_factor=width, out_indices=ALL_INDICES).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    assert model.out_channels == CHANNELS[width]
    assert model.out_strides == STRIDES
    for out, ch, stride in zip(outs, CHANNELS[width], STRIDES):
        times = stride.bit_length() - 1
        assert out.shape == (1, ch, conv_out(hw[0], times), conv_out(hw[1], times))


@pytest.mark.parametrize('out_indices', [
    c for r in (1, 2, 3) for c in itertools.combinations(range(6), r)])
def test_every_out_indices_choice(out_indices):
    model = GhostNetV2(out_indices=out_indices).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 97, 70))
    assert len(outs) == len(out_indices) == len(model.out_channels)
    for out, idx, ch in zip(outs, out_indices, model.out_channels):
        assert ch == CHANNELS[1.0][idx]
        assert out.shape[1] == ch
        assert out.shape[2] == conv_out(97, STRIDES[idx].bit_length() - 1)


@pytest.mark.parametrize('out_indices,num_blocks', [
    ((0,), 0), ((1,), 3), ((1, 2), 5), ((1, 2, 3), 7), ((2, 3, 4), 9), ((4, 5), 10)])
def test_layers_past_last_index_are_not_built(out_indices, num_blocks):
    model = GhostNetV2(out_indices=out_indices)
    assert len(model.blocks) == num_blocks
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert unused == []


def test_dfc_placement_matches_authors_and_v1_ablation():
    model = GhostNetV2(out_indices=(5,))
    with_dfc = [f'{i}.{j}' for i, stage in enumerate(model.blocks[:9])
                for j, block in enumerate(stage) if block.ghost1.short_conv is not None]
    assert '0.0' not in with_dfc and '1.0' not in with_dfc
    assert len(with_dfc) == 14 and all(b.ghost2.short_conv is None
                                       for s in model.blocks[:9] for b in s)
    v1 = GhostNetV2(out_indices=(5,), dfc_stages=())
    assert not any('short_conv' in k for k in v1.state_dict())
    partial = GhostNetV2(out_indices=(5,), dfc_stages=(3, 4))
    assert partial.blocks[4][0].ghost1.short_conv is None
    assert partial.blocks[5][0].ghost1.short_conv is not None


@pytest.mark.parametrize('down,up', [('max', 'bilinear'), ('avg', 'bilinear'),
                                      ('max', 'nearest')])
def test_dfc_options_change_the_computation_as_named(down, up):
    """Each option runs its own pooling / resize: the gated Ghost output equals
    one computed by hand with F.max_pool2d / F.interpolate(bilinear), and the
    backbone's outputs differ from the authors' avg / nearest with the same weights."""
    torch.manual_seed(0)
    authors = randomize_norms(GhostNetV2(dfc_kernel_size=3)).eval()
    model = GhostNetV2(dfc_downsample=down, dfc_upsample=up, dfc_kernel_size=3).eval()
    model.load_state_dict(authors.state_dict())
    ghost = model.blocks[3][0].ghost1
    dfc = ghost.short_conv
    assert dfc[2].kernel_size == (1, 3) and dfc[4].kernel_size == (3, 1)
    x = torch.randn(1, ghost.primary_conv[0].in_channels, 17, 33)  # odd sizes
    with torch.no_grad():
        x1 = ghost.primary_conv(x)
        ungated = torch.cat([x1, ghost.cheap_operation(x1)], 1)[:, :ghost.out_channels]
        pool = F.max_pool2d if down == 'max' else F.avg_pool2d
        gate = torch.sigmoid(torch.nn.Sequential(*dfc)(pool(x, 2, 2)))
        resized = F.interpolate(gate, size=(17, 33), mode=up,
                                align_corners=False if up == 'bilinear' else None)
        torch.testing.assert_close(ghost(x), ungated * resized, rtol=0, atol=1e-6)
        image = torch.randn(1, 3, 33, 65)
        outs, refs = model(image), authors(image)
    assert [o.shape for o in outs] == [r.shape for r in refs]
    assert outs[-1].shape[-2:] == (2, 3)
    assert all(not torch.allclose(o, r) for o, r in zip(outs[1:], refs[1:]))


def test_tiny_input_keeps_one_pixel_sides():
    model = GhostNetV2().eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 32, 20))
    assert outs[-1].shape == (1, 160, 1, 1)


def _bn_stats(module):
    return {n: (m.running_mean.clone(), m.running_var.clone())
            for n, m in module.named_modules() if isinstance(m, _BatchNorm)}


def _train_step(model):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.pow(2).mean() for o in outs).backward()
    opt.step()


@pytest.mark.parametrize('frozen', [0, 1, 2, 3, 4])
def test_frozen_stages(frozen):
    model = GhostNetV2(frozen_stages=frozen, out_indices=(1, 2, 3, 4, 5))
    model.train()
    params_before = {n: p.clone() for n, p in model.named_parameters()}
    stats_before = _bn_stats(model)
    _train_step(model)
    last_frozen_block = GhostNetV2.stage_ends[frozen][0]

    def is_frozen(name):
        if name.startswith(('conv_stem', 'bn1')):
            return True
        return name.startswith('blocks.') and int(name.split('.')[1]) <= last_frozen_block

    stats_after = _bn_stats(model)
    changed = {n: not torch.equal(p, params_before[n]) for n, p in model.named_parameters()}
    for name, p in model.named_parameters():
        assert p.requires_grad is not is_frozen(name), name
        if is_frozen(name):
            assert not changed[name], name
    assert any(changed[n] for n in changed if not is_frozen(n))
    for name, (mean, var) in stats_before.items():
        same = torch.equal(mean, stats_after[name][0]) and torch.equal(var, stats_after[name][1])
        assert same is is_frozen(name), name
    # train() again must not unfreeze anything.
    model.train()
    assert not model.bn1.training and not model.conv_stem.weight.requires_grad


def test_norm_eval_keeps_running_stats():
    model = GhostNetV2(norm_eval=True)
    model.train()
    before = _bn_stats(model)
    _train_step(model)
    after = _bn_stats(model)
    assert all(torch.equal(before[n][0], after[n][0]) for n in before)
    assert all(p.requires_grad for p in model.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    plain = GhostNetV2()
    plain.train()
    before = _bn_stats(plain)
    _train_step(plain)
    assert not torch.equal(before['bn1'][0], _bn_stats(plain)['bn1'][0])


def test_with_cp_recomputes_each_bottleneck_and_gives_the_same_gradients():
    """Checkpointing ran: every bottleneck's forward runs again during backward
    (twice per step instead of once); the gradients are those without it."""
    torch.manual_seed(0)
    ref = GhostNetV2(out_indices=(1, 2, 3, 4, 5))
    cp_model = GhostNetV2(out_indices=(1, 2, 3, 4, 5), with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 65, 49)
    grads, calls = [], []
    for model in (ref, cp_model):
        model.train()
        count = [0]
        blocks = [layer for stage in model.blocks for layer in stage]
        hooks = [b.register_forward_pre_hook(lambda *_: count.__setitem__(0, count[0] + 1))
                 for b in blocks]
        xi = x.clone().requires_grad_(True)
        outs = model(xi)
        sum((o * torch.linspace(0, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
        for hook in hooks:
            hook.remove()
        calls.append(count[0] / len(blocks))
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        grads[-1]['input'] = xi.grad.clone()
    assert calls == [1, 2]
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('norm_cfg', [dict(type='GN', num_groups=4),
                                      dict(type='BN', momentum=0.03, eps=1e-3)])
def test_norm_and_act_cfg(norm_cfg):
    model = GhostNetV2(norm_cfg=norm_cfg, act_cfg=dict(type='HSwish'),
                       out_indices=(2, 3))
    assert type(model.bn1).__name__ == ('GroupNorm' if norm_cfg['type'] == 'GN'
                                         else 'BatchNorm2d')
    assert type(model.act1).__name__ == 'Hardswish'
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [40, 112]


def test_syncbn_builds():
    model = GhostNetV2(norm_cfg=dict(type='SyncBN'), out_indices=(1,))
    assert type(model.bn1).__name__ == 'SyncBatchNorm'


@pytest.mark.parametrize('kwargs,message', [
    (dict(widen_factor=0), 'widen_factor must be a number > 0'),
    (dict(widen_factor=-1.3), 'widen_factor must be a number > 0'),
    (dict(widen_factor='1.0'), 'widen_factor must be a number > 0'),
    (dict(out_indices=(1, 6)), r'out_indices \[6\] out of range'),
    (dict(out_indices=(-1,)), r'out_indices \[-1\] out of range'),
    (dict(out_indices=()), 'out_indices must be a non-empty sequence'),
    (dict(out_indices=3), 'out_indices must be a non-empty sequence'),
    (dict(out_indices=(3, 1)), 'strictly increasing'),
    (dict(out_indices=(1, 1)), 'strictly increasing'),
    (dict(frozen_stages=-2), 'frozen_stages must be an int from -1'),
    (dict(frozen_stages=5), r'to 4 \(the last built stage'),
    (dict(frozen_stages=1.0), 'frozen_stages must be an int'),
    (dict(dfc_stages=(0, 1)), 'dfc_stages must be a sequence of stage indices'),
    (dict(dfc_stages=5), 'dfc_stages must be a sequence'),
    (dict(output_stride=4), 'output_stride must be 32 \\(no dilation\\), 16 or 8'),
    (dict(output_stride=True), 'output_stride must be 32'),
    (dict(dfc_kernel_size=4), 'DFC kernel_size must be a positive odd int'),
    (dict(dfc_kernel_size=0), 'DFC kernel_size must be a positive odd int'),
    (dict(dfc_downsample='stride'), "DFC downsample must be one of \\('avg', 'max'\\)"),
    (dict(dfc_upsample='bicubic'), "DFC upsample must be one of \\('nearest', 'bilinear'\\)"),
    (dict(in_channels=0), 'in_channels must be a positive int'),
    (dict(pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth')),
     'either init_cfg or the deprecated pretrained'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GhostNetV2(**kwargs)


@pytest.mark.parametrize('shape,message', [
    ((3, 64, 64), r'expects a 4D \(N, C, H, W\) tensor, got shape \(3, 64, 64\)'),
    ((1, 1, 3, 64, 64), 'expects a 4D'),
    ((1, 1, 64, 64), r'expects 3 input channels \(in_channels=3\), got 1'),
    ((1, 4, 64, 64), 'expects 3 input channels'),
])
def test_bad_input_is_named(shape, message):
    with pytest.raises(ValueError, match=message):
        GhostNetV2()(torch.randn(*shape))


def test_in_channels_option():
    model = GhostNetV2(in_channels=1, out_indices=(1,)).eval()
    assert model(torch.randn(1, 1, 64, 64))[0].shape == (1, 24, 16, 16)


@pytest.mark.parametrize('output_stride,strides', [(16, [2, 4, 8, 16, 16, 16]),
                                                   (8, [2, 4, 8, 8, 8, 8])])
def test_output_stride_dilates_last_stages(output_stride, strides):
    """Same parameters (the same weights load), stages before the first dilated one
    unchanged, later ones kept at 1/output_stride, deploy still exact."""
    base = randomize_norms(GhostNetV2(out_indices=ALL_INDICES)).eval()
    model = GhostNetV2(out_indices=ALL_INDICES, output_stride=output_stride).eval()
    model.load_state_dict(base.state_dict())  # strict: same keys and shapes
    assert model.out_strides == strides
    x = torch.randn(1, 3, 97, 130)
    with torch.no_grad():
        outs, refs = model(x), base(x)
    for out, ref, stride in zip(outs, refs, strides):
        assert out.shape[-2:] == (math.ceil(97 / stride), math.ceil(130 / stride))
        assert out.shape[1] == ref.shape[1]
        if ref.shape == out.shape and stride < output_stride:
            assert torch.equal(out, ref)
    dilated = [m for m in model.modules()
               if isinstance(m, torch.nn.Conv2d) and max(m.dilation) > 1]
    assert dilated and all(m.stride == (1, 1) for m in dilated)
    switch_to_deploy(model)
    with torch.no_grad():
        assert_close_to_scale(model(x), outs)
