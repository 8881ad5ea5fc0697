from .backbones import GhostNetV2, build_attention_mobilenetv2
from .layers import (CBAM, CoordinateAttention, DFCAttention, GhostBottleneck,
                     GhostModule, SqueezeExcite)

__all__ = ['GhostNetV2', 'build_attention_mobilenetv2', 'CBAM', 'CoordinateAttention',
           'DFCAttention', 'GhostBottleneck', 'GhostModule', 'SqueezeExcite']
