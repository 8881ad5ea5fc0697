from .backbones import GhostNetV2  # noqa: F401  (registers the backbone)
from .layers import DFCAttention, GhostBottleneck, GhostModule, SqueezeExcite

__all__ = ['GhostNetV2', 'DFCAttention', 'GhostBottleneck', 'GhostModule',
           'SqueezeExcite']
