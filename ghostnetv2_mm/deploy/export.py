"""ONNX export of a backbone, or of the network part of a detector / segmentor.

Post-processing (box decoding, NMS, argmax) stays in Python: only the tensor
network (backbone, neck, head outputs) is exported, with dynamic batch,
height and width. Deployed first by default: no BatchNormalization node, the
Ghost modules concat-free up to onnxruntime's crossover, and each DFC gate's
resize one ``Resize`` to the gated map's runtime shape.
"""
import warnings

import torch
import torch.nn as nn

from .switch import MERGE_MAX_IN_CHANNELS, switch_to_deploy


def flatten_outputs(outputs):
    """Nested tuples / lists of tensors as one flat list."""
    if torch.is_tensor(outputs):
        return [outputs]
    return [t for item in outputs for t in flatten_outputs(item)]


class NetworkPart(nn.Module):
    """A detector's / segmentor's ``_forward`` (no post-processing) as a flat
    tuple of tensors: what an exported graph can return."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return tuple(flatten_outputs(self.model._forward(inputs)))


def exportable(model, deploy=True, for_graph=True):
    """The module to export or time: a bare backbone, or a model's network part;
    switched to deploy mode if ``deploy``, with the concat-free Ghost modules
    of graph runtimes (``for_graph``) or of PyTorch."""
    model.eval()
    if deploy:
        switch_to_deploy(model, MERGE_MAX_IN_CHANNELS['graph' if for_graph else 'torch'])
    if hasattr(model, 'backbone') and hasattr(model, '_forward'):
        return NetworkPart(model).eval()
    return model


def export_onnx(module, example, path, opset_version=17):
    """Export ``module(example)`` to ``path`` with dynamic N/H/W; returns output names."""
    with torch.no_grad():
        outputs = flatten_outputs(module(example))
    names = [f'out{i}' for i in range(len(outputs))]
    dynamic_axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
    for name, out in zip(names, outputs):
        dynamic_axes[name] = {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'} \
            if out.dim() == 4 else {0: 'batch'}
    with warnings.catch_warnings():
        # the forward's shape checks are evaluated once while tracing, as intended
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
