"""The authors' function, parameters and names (their reference vectors)."""
import re

import pytest
import torch
import torch.nn.functional as F

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.analysis import ClassificationEquivalent
from ghostnetv2_mm.checkpoint import load_file
from helpers import ALL_INDICES


def official_manifest(reference_dir):
    """{width: {key: shape}} from the authors' key manifest."""
    manifest, width = {}, None
    for line in (reference_dir / 'ghostnetv2_official_keys.txt').read_text().splitlines():
        header = re.match(r'# width ([\d.]+)', line)
        if header:
            width = float(header.group(1))
            manifest[width] = {}
        elif line.strip():
            key, shape = line.split(' ', 1)
            manifest[width][key] = tuple(int(s) for s in re.findall(r'\d+', shape))
    return manifest


def test_stage_outputs_match_authors(official_model, expected_outputs):
    with torch.no_grad():
        outs = official_model(expected_outputs['input'])
    names = ['stem', 'blocks.2', 'blocks.4', 'blocks.6', 'blocks.8', 'blocks.9']
    assert len(outs) == len(names)
    for name, out in zip(names, outs):
        ref = expected_outputs[name]
        assert out.shape == ref.shape, name
        assert (out - ref).abs().max().item() <= 1e-5, name


def test_every_block_and_logits_match_authors(official_model, expected_outputs,
                                              official_checkpoint):
    """Run block by block, then the authors' head from the checkpoint."""
    m = official_model
    with torch.no_grad():
        x = m.act1(m.bn1(m.conv_stem(expected_outputs['input'])))
        assert (x - expected_outputs['stem']).abs().max() <= 1e-5
        for i, block in enumerate(m.blocks):
            x = block(x)
            assert (x - expected_outputs[f'blocks.{i}']).abs().max() <= 1e-5, i
        sd = load_file(official_checkpoint)
        pooled = F.adaptive_avg_pool2d(x, 1)
        hidden = F.relu(F.conv2d(pooled, sd['conv_head.weight'], sd['conv_head.bias']))
        logits = F.linear(hidden.flatten(1), sd['classifier.weight'], sd['classifier.bias'])
    assert (logits - expected_outputs['logits']).abs().max() <= 1e-5


@pytest.mark.parametrize('width,params,ends', [
    (1.0, 3_645_828, [16, 24, 40, 112, 160, 960]),
    (1.3, 6_080_684, [20, 32, 52, 144, 208, 1248]),
    (1.6, 9_144_338, [24, 40, 64, 180, 256, 1536]),
])
def test_parameters_channels_and_names_match_manifest(reference_dir, width, params, ends):
    model = GhostNetV2(widen_factor=width, out_indices=ALL_INDICES)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model.out_channels == ends
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: s for k, s in official_manifest(reference_dir)[width].items()
              if not k.startswith(('conv_head.', 'classifier.'))}
    assert ours == theirs


def test_backbone_plus_authors_head_has_the_manifests_total(reference_dir):
    """The manifest's parameter totals (classifier included) are those of our
    backbone with the authors' head attached (ClassificationEquivalent)."""
    text = (reference_dir / 'ghostnetv2_official_keys.txt').read_text()
    totals = {float(w): int(n.replace(',', '')) for w, n in
              re.findall(r'# width ([\d.]+): ([\d,]+) parameters', text)}
    assert sorted(totals) == [1.0, 1.3, 1.6]
    for width, total in totals.items():
        model = ClassificationEquivalent(GhostNetV2(widen_factor=width, out_indices=(5,)))
        assert sum(p.numel() for p in model.parameters()) == total, width
