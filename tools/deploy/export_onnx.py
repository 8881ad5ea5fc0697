#!/usr/bin/env python
"""Export a GhostNetV2 backbone, or a detector's / segmentor's network, to ONNX.

The model is switched to deploy mode first (norms folded, the narrower Ghost
modules concat-free, one Resize per DFC gate; ``--no-deploy`` exports the
original structure), exported with dynamic batch, height and width, then
checked in onnxruntime against PyTorch at each ``--verify`` size.
For detectors and segmentors the graph returns the raw head outputs
(post-processing stays in Python).

    # backbone, ImageNet / converted weights optional
    python tools/deploy/export_onnx.py --backbone widen_factor=1.0 \
        --weights ck_ghostnetv2_10.pth.tar --out ghostnetv2.onnx
    # a trained detector or segmentor
    python tools/deploy/export_onnx.py --config CONFIG --checkpoint CKPT --out model.onnx
"""
import argparse
import copy
import sys

import numpy as np
import onnx
import torch
from mmengine.config import DictAction

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.apis import init_model
from ghostnetv2_mm.checkpoint import load_pretrained, use_safe_checkpoint_loader
from ghostnetv2_mm.deploy import export_onnx, exportable, onnx_session
from ghostnetv2_mm.deploy.export import flatten_outputs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--config', help='mmdet / mmseg config')
    src.add_argument('--backbone', nargs='*', action=DictAction,
                     help='GhostNetV2 arguments as key=value (may be empty)')
    parser.add_argument('--checkpoint', help='trained checkpoint for --config')
    parser.add_argument('--weights', help="authors' / timm / converted backbone weights")
    parser.add_argument('--out', required=True, help='output .onnx path')
    parser.add_argument('--shape', nargs=2, type=int, default=[320, 320],
                        metavar=('H', 'W'), help='example input size for tracing')
    parser.add_argument('--verify', nargs=2, type=int, action='append',
                        metavar=('H', 'W'),
                        help='check sizes (default 320x320 and 227x301, or 224x352 '
                             'when the config pads inputs to a multiple of 32)')
    parser.add_argument('--no-deploy', dest='deploy', action='store_false',
                        help='export the unfused model')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--tolerance', type=float, default=1e-4)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sizes = args.verify or [(320, 320), (227, 301)]
    if args.config:
        use_safe_checkpoint_loader()
        model = init_model(args.config, args.checkpoint)
        cfg = model.cfg
        divisor = cfg.model.get('data_preprocessor', {}).get('size_divisor') or \
            cfg.model.get('data_preprocessor', {}).get('pad_size_divisor', 1)
        if not args.verify and divisor > 1:
            # e.g. YOLOv3's neck concatenates upsampled maps: sizes must divide.
            sizes = [(320, 320), (224, 352)]
    else:
        model = GhostNetV2(**dict(args.backbone or {}))
        if args.weights:
            load_pretrained(model, args.weights)
    model.eval()
    reference = exportable(copy.deepcopy(model), deploy=False)
    module = exportable(model, deploy=args.deploy)
    names = export_onnx(module, torch.randn(1, 3, *args.shape), args.out, args.opset)
    graph = onnx.load(args.out).graph
    ops = [node.op_type for node in graph.node]
    print(f'wrote {args.out}: {len(ops)} nodes, outputs {names}, '
          f'BatchNormalization nodes: {ops.count("BatchNormalization")}, '
          f'Resize nodes: {ops.count("Resize")}')
    session = onnx_session(args.out)
    worst = 0.0
    for h, w in sizes:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            refs = [r.numpy() for r in flatten_outputs(reference(x))]
        outs = session.run(names, {'input': x.numpy()})
        diff = max(float(np.abs(o - r).max() / max(np.abs(r).max(), 1e-12))
                   for o, r in zip(outs, refs))
        worst = max(worst, diff)
        print(f'onnxruntime vs PyTorch at 1x3x{h}x{w}: max diff / output scale {diff:.2e}')
    if worst > args.tolerance:
        sys.exit(f'error: onnxruntime differs from PyTorch by {worst:.2e} > {args.tolerance}')


if __name__ == '__main__':
    main()
