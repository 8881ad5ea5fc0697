"""The inference runtime: re-parameterised layers, fast CPU convs, compiled
kernels, ``torch.compile`` and ONNX export. Nothing in ``ghostnetv2_mm.models``
imports it; :func:`switch_to_deploy` swaps its modules in."""
from .compile import compile_for_inference
from .conv import DeployConv2d
from .export import NetworkPart, export_onnx, exportable, onnx_session
from .switch import MERGE_MAX_IN_CHANNELS, DeployedGhostNetV2, switch_to_deploy

__all__ = ['DeployConv2d', 'DeployedGhostNetV2', 'MERGE_MAX_IN_CHANNELS', 'NetworkPart',
           'compile_for_inference', 'export_onnx', 'exportable', 'onnx_session',
           'switch_to_deploy']
