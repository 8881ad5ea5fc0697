"""GhostNetV2 for OpenMMLab toolboxes (MMDetection 3.x, MMSegmentation 1.x, ...).

``import ghostnetv2_mm`` (or ``custom_imports=dict(imports=['ghostnetv2_mm'])``
in a config) registers ``GhostNetV2``, ``DFCAttention``, the deploy-mode
builder and hooks, and (with mmseg) ``SegFolderDataset`` in mmengine's root
registries, where every toolbox's registry finds them.
"""
from . import datasets, deploy, engine  # noqa: F401  (registration)
from .models import DFCAttention, GhostNetV2
from .version import __version__

__all__ = ['DFCAttention', 'GhostNetV2', '__version__']
