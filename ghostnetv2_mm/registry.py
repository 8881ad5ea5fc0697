"""The one place that puts this package's modules into mmdet's and mmseg's registries.

mmdet and mmseg each keep their own ``MODELS`` registry (children of
mmengine's). Registering in both lets ``backbone=dict(type='GhostNetV2')``
build from either toolbox's configs after a single ``import ghostnetv2_mm``.
"""
from mmdet.registry import MODELS as MMDET_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS


def register_backbone(cls):
    """Class decorator: register ``cls`` under its name in mmdet and mmseg."""
    MMDET_MODELS.register_module(module=cls)
    MMSEG_MODELS.register_module(module=cls)
    return cls
