"""Bar 5 of the deploy issue: the paper's MACs, and the DFC ops counted apart."""
import pytest
import torch

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.analysis import ClassificationEquivalent, count_complexity


@pytest.mark.parametrize('width,paper_macs', [(1.0, 167.0e6), (1.3, 269.3e6),
                                              (1.6, 398.6e6)])
def test_classification_macs_match_paper(width, paper_macs):
    model = ClassificationEquivalent(GhostNetV2(widen_factor=width, out_indices=(5,)))
    stats = count_complexity(model, (torch.randn(1, 3, 224, 224),))
    assert abs(stats['macs'] - paper_macs) / paper_macs < 0.005
    # pooling, sigmoid, resize and product of the 14 DFC gates, counted apart
    assert set(stats['dfc_by_operator']) == {'avg_pool2d', 'sigmoid',
                                             'upsample_nearest2d', 'mul'}
    assert stats['dfc_ops'] > 0
    assert stats['total_ops'] > stats['macs'] + stats['dfc_ops']


def test_dfc_ops_vanish_for_ghostnetv1():
    v1 = ClassificationEquivalent(GhostNetV2(out_indices=(5,), dfc_stages=()))
    stats = count_complexity(v1, (torch.randn(1, 3, 224, 224),))
    assert stats['dfc_ops'] == 0


def test_dfc_resize_and_product_scale_with_gated_features():
    """Each gate resizes to, and multiplies, its Ghost module's full output."""
    model = GhostNetV2(out_indices=(1,))  # blocks.0-2: one DFC gate, in blocks.2.0
    stats = count_complexity(model, (torch.randn(1, 3, 64, 64),))
    gated = 72 * 16 * 16  # blocks.2.0.ghost1 output: 72 channels at stride 4
    assert stats['dfc_by_operator']['upsample_nearest2d'] == gated
    assert stats['dfc_by_operator']['mul'] == gated
    assert stats['dfc_by_operator']['sigmoid'] == 72 * 8 * 8


def test_classification_equivalent_needs_final_conv():
    with pytest.raises(ValueError, match='out index 5'):
        ClassificationEquivalent(GhostNetV2())
