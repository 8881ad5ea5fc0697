"""One import registers the backbone for mmdet and for mmseg."""
import pytest
from mmengine.registry import DefaultScope

import ghostnetv2_mm  # noqa: F401


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_through_each_toolbox_registry(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='GhostNetV2', widen_factor=1.3,
                                    out_indices=(2, 3, 4)))
    assert type(model).__name__ == 'GhostNetV2'
    assert model.out_channels == [52, 144, 208]


def test_scoped_type_names_resolve():
    from mmdet.registry import MODELS
    assert MODELS.get('mmseg.GhostNetV2') is MODELS.get('mmdet.GhostNetV2')
