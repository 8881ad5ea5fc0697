"""The registries this package registers into: mmengine's root ones.

mmdet, mmseg, mmpretrain and mmyolo each build from registries that are
children of mmengine's, and a child that does not know a type asks its
parent, so one registration here serves every toolbox (and needs none of
them installed).
"""
from mmengine.registry import DATASETS, HOOKS, MODELS, TRANSFORMS

__all__ = ['DATASETS', 'HOOKS', 'MODELS', 'TRANSFORMS']
