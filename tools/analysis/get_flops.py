#!/usr/bin/env python
"""Parameters and operations of a GhostNetV2 backbone or of a config's network.

MACs count convs and linear layers, the paper's convention; the DFC gates'
elementwise operations (pooling, sigmoid, resize, product), which mmengine's
counter skips, are counted and shown on their own line.

    python tools/analysis/get_flops.py --backbone widen_factor=1.3 --shape 320 320
    python tools/analysis/get_flops.py --config configs/retinanet_ghostnetv2_coco.py
"""
import argparse
import copy

import torch
from mmengine.config import DictAction

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.analysis import ClassificationEquivalent, count_complexity
from ghostnetv2_mm.apis import init_model
from ghostnetv2_mm.deploy import exportable


def complexity_lines(model, shape):
    stats = count_complexity(exportable(copy.deepcopy(model), deploy=False),
                             (torch.randn(1, 3, *shape),))
    per_op = ', '.join(f'{k} {v / 1e6:.2f}M' for k, v in stats['dfc_by_operator'].items())
    return [f'params            {stats["params"] / 1e6:8.3f} M',
            f'MACs conv+linear  {stats["macs"] / 1e9:8.3f} G  @ {shape[0]}x{shape[1]}',
            f'DFC elementwise   {stats["dfc_ops"] / 1e6:8.3f} M  ({per_op or "none"})',
            f'all counted ops   {stats["total_ops"] / 1e9:8.3f} G  (MACs + norms, '
            f'activations, adds, pooling, DFC)']


def paper_line(backbone):
    """MACs of the authors' ImageNet classifier at 224x224 (the paper's column)."""
    full = GhostNetV2(widen_factor=backbone.widen_factor, out_indices=(5,),
                      dfc_stages=backbone.dfc_stages)
    stats = count_complexity(ClassificationEquivalent(full), (torch.randn(1, 3, 224, 224),))
    return (f'paper-comparable  {stats["macs"] / 1e6:8.1f} M  MACs of the classification '
            f'network at 224x224 (paper: 167M for 1.0x)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--config', help='mmdet / mmseg config: count its network part')
    source.add_argument('--backbone', nargs='*', action=DictAction,
                        help='GhostNetV2 arguments as key=value (default: the default '
                             'backbone)')
    parser.add_argument('--shape', nargs=2, type=int, default=[320, 320],
                        metavar=('H', 'W'), help='input size (default 320 320)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.config:
        model = init_model(args.config)
        lines = complexity_lines(model, args.shape)
    else:
        model = GhostNetV2(**dict(args.backbone or {})).eval()
        lines = complexity_lines(model, args.shape) + [paper_line(model)]
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
