from .cbam import CBAM
from .coordinate_attention import CoordinateAttention
from .dfc_attention import DFCAttention
from .ghost_bottleneck import GhostBottleneck
from .ghost_module import GhostModule
from .squeeze_excite import SqueezeExcite

__all__ = ['CBAM', 'CoordinateAttention', 'DFCAttention', 'GhostBottleneck',
           'GhostModule', 'SqueezeExcite']
