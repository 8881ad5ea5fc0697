"""GhostNetV2 for MMDetection 3.x and MMSegmentation 1.x.

``import ghostnetv2_mm`` (or ``custom_imports=dict(imports=['ghostnetv2_mm'])``
in a config) registers ``type='GhostNetV2'`` in both toolboxes.
"""
from . import datasets  # noqa: F401  (registers SegFolderDataset in mmseg)
from . import engine  # noqa: F401  (registers DeployModeHook)
from .models import GhostNetV2
from .version import __version__

__all__ = ['GhostNetV2', '__version__']
