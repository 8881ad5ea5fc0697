"""ONNX export of the backbone, or of the network part of a detector / segmentor.

Post-processing (box decoding, NMS, argmax) stays in Python: only the tensor
network (backbone, neck, head outputs) is exported, with dynamic batch,
height and width. The model is switched to deploy mode first by default, so
the graph has no BatchNormalization left, the narrower Ghost modules are
concat-free (:func:`merge_ghost_modules`, onnxruntime's crossover) and each
DFC gate's resize is one ``Resize`` to the gated feature's runtime shape.
"""
import copy
import warnings

import torch
import torch.nn as nn

from .deploy import MERGE_MAX_IN_CHANNELS, merge_ghost_modules, switch_model_to_deploy


def _flatten(outputs):
    if torch.is_tensor(outputs):
        return [outputs]
    flat = []
    for item in outputs:
        flat.extend(_flatten(item))
    return flat


class NetworkPart(nn.Module):
    """A detector's / segmentor's ``_forward`` (no post-processing), as a flat
    tuple of tensors: what an exported graph can return."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return tuple(_flatten(self.model._forward(inputs)))


def exportable(model, deploy=True, for_graph=True):
    """Return the module to export (or to run): a bare backbone or a model's
    network part, switched to deploy mode if ``deploy``. ``for_graph`` also
    makes the Ghost modules concat-free up to onnxruntime's crossover; without
    it the model is deployed for PyTorch (eager or compiled)."""
    model.eval()
    is_network = hasattr(model, 'backbone') and hasattr(model, '_forward')
    if deploy:
        if is_network:
            switch_model_to_deploy(model)
        elif hasattr(model, 'switch_to_deploy'):
            model.switch_to_deploy()
        if for_graph:
            merge_ghost_modules(model, MERGE_MAX_IN_CHANNELS['graph'])
    return NetworkPart(model).eval() if is_network else model


def authors_graph(model):
    """A copy of ``model`` (unfused) that exports as the authors' code does: each
    DFC gate's resize through the stock ``F.interpolate`` export, its size
    computed by ten shape nodes, instead of one ``Shape -> Resize``. The
    reference our exports are compared with."""
    from .models.layers import DFCAttention
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        if isinstance(module, DFCAttention):
            module.compact_export = False
    return model


def export_onnx(module, example, path, opset_version=17):
    """Export ``module(example)`` to ``path`` with dynamic N/H/W; returns output names."""
    with torch.no_grad():
        outputs = _flatten(module(example))
    names = [f'out{i}' for i in range(len(outputs))]
    dynamic_axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
    for name, out in zip(names, outputs):
        axes = {0: 'batch'}
        if out.dim() == 4:
            axes.update({2: f'{name}_height', 3: f'{name}_width'})
        dynamic_axes[name] = axes
    with warnings.catch_warnings():
        # Shape checks in forward() are evaluated once while tracing; that is
        # intended (they guard Python callers), so the tracer's notes are noise.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(module, (example,), path, input_names=['input'],
                          output_names=names, dynamic_axes=dynamic_axes,
                          opset_version=opset_version, do_constant_folding=True,
                          dynamo=False)
    return names


def onnx_session(path, threads=2):
    """An onnxruntime CPU session with all graph optimisations and ``threads`` threads."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
