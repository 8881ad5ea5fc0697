#!/usr/bin/env python
"""Show what GhostNetV2's DFC attention gates on an image.

    # the backbone alone (ImageNet / converted weights optional)
    python tools/analysis/dfc_attention.py IMAGE --backbone widen_factor=1.0 \
        --weights ck_ghostnetv2_10.pth.tar --out-dir DIR
    # the backbone of a trained detector or segmentor, on its test pipeline
    python tools/analysis/dfc_attention.py IMAGE --config CFG --checkpoint CKPT --out-dir DIR

Writes DIR/NAME_dfc.png, one row per gate (all 14 of GhostNetV2 unless
``--blocks``): the network input, the gate averaged over channels and its
``--topk`` strongest channels (highest mean), resized to the input as the
network resizes them and overlaid (colours min-max per cell, the range in
each label); and DIR/NAME_dfc.npz: the gate tensors (C, h, w) by block name,
the network input picture (``image``) and the layout (``meta``, JSON).
"""
import argparse
import json
import os
import os.path as osp
import warnings

import numpy as np
import torch
from mmengine.config import DictAction

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.checkpoint import load_pretrained
from ghostnetv2_mm.datasets import decode_image
from ghostnetv2_mm.visualization.dfc_gates import GateRecorder, gate_grid

# torchvision's / timm's ImageNet statistics (RGB, 0-255): the authors' inputs
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('image', help='image file')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--config', help='mmdet / mmseg config with a GhostNetV2 backbone')
    src.add_argument('--backbone', nargs='*', action=DictAction,
                     help='GhostNetV2 arguments as key=value (may be empty)')
    parser.add_argument('--checkpoint', help='trained checkpoint for --config')
    parser.add_argument('--weights', help="authors' / timm / converted backbone weights")
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--blocks', nargs='+', metavar='NAME',
                        help='gates to show, e.g. blocks.3.0 blocks.8.3 (default: all)')
    parser.add_argument('--topk', type=int, default=3, help='strongest channels shown')
    parser.add_argument('--scale', type=int, default=512,
                        help='--backbone: resize the longer image side to this')
    parser.add_argument('--cell-height', type=int, default=120, help='pixels per cell')
    parser.add_argument('--alpha', type=float, default=0.5, help='heat map weight')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda '
                                                       'when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    if args.checkpoint and not args.config:
        parser.error('--checkpoint goes with --config (use --weights with --backbone)')
    if args.weights and args.backbone is None:
        parser.error('--weights goes with --backbone (use --checkpoint with --config)')
    if args.topk < 0 or args.cell_height < 8 or args.scale < 8:
        parser.error('--topk must be >= 0, --cell-height and --scale >= 8')
    return args


def backbone_gates(args, rgb):
    """Gates of a bare GhostNetV2 on the image resized to ``--scale``, with
    ImageNet normalisation; returns (records, the resized input picture)."""
    import mmcv
    from ghostnetv2_mm.visualization.inference import resolve_device
    model = GhostNetV2(**dict(args.backbone or {}))
    if args.weights:
        load_pretrained(model, args.weights)
    else:
        warnings.warn('no --weights: GhostNetV2 has random weights, the gates show '
                      'the untrained architecture')
    device = resolve_device(args.device)
    model = model.to(device).eval()
    image = mmcv.imrescale(rgb, (args.scale, args.scale))
    x = (torch.from_numpy(image).float() - torch.tensor(IMAGENET_MEAN)) \
        / torch.tensor(IMAGENET_STD)
    with GateRecorder(model, args.blocks) as recorder, torch.no_grad():
        model(x.permute(2, 0, 1)[None].to(device))
    return recorder.records, image


def config_gates(args, rgb):
    """Gates of a detector's / segmentor's backbone in its own test pipeline and
    forward pass; returns (records, the network input picture, zero-padded as
    the data preprocessor pads it)."""
    from ghostnetv2_mm.visualization.inference import Predictor
    if not args.checkpoint:
        warnings.warn('no --checkpoint: the model has random weights, the gates show '
                      'the untrained architecture')
    predictor = Predictor(args.config, args.checkpoint, args.device,
                          cfg_options=args.cfg_options)
    inputs = {}

    def keep_input(module, args_):  # returns None: the input stays as it is
        inputs.setdefault('x', args_[0])

    hook = predictor.model.backbone.register_forward_pre_hook(keep_input)
    try:
        with GateRecorder(predictor.model, args.blocks) as recorder:
            predictor.predict(rgb)
    finally:
        hook.remove()
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    shown = predictor.inferencer.pipeline(bgr)['inputs'].permute(1, 2, 0).numpy()[..., ::-1]
    height, width = inputs['x'].shape[-2:]
    image = np.zeros((height, width, 3), np.uint8)
    image[:min(height, shown.shape[0]), :min(width, shown.shape[1])] = \
        shown[:height, :width]
    return recorder.records, image


def main(argv=None):
    args = parse_args(argv)
    rgb = decode_image(args.image, channel_order='rgb')
    records, image = config_gates(args, rgb) if args.config else backbone_gates(args, rgb)
    strides = {name: round(image.shape[0] / r['map_size'][0]) for name, r in records.items()}
    grid, layout = gate_grid(image, records, strides, args.topk, args.cell_height,
                             args.alpha)
    stem = osp.join(args.out_dir, osp.splitext(osp.basename(args.image))[0] + '_dfc')
    os.makedirs(args.out_dir, exist_ok=True)
    import mmcv
    mmcv.imwrite(grid[..., ::-1], stem + '.png')
    meta = dict(layout, strides=strides,
                map_sizes={n: list(r['map_size']) for n, r in records.items()},
                source=args.config or 'GhostNetV2', image_file=args.image)
    np.savez_compressed(stem + '.npz', image=image, meta=json.dumps(meta),
                        **{name: r['gate'].float().cpu().numpy()
                           for name, r in records.items()})
    print(f'wrote {stem}.png ({grid.shape[1]}x{grid.shape[0]} px: {len(records)} rows x '
          f'{len(layout["columns"])} columns of {layout["cell_size"][1]}x'
          f'{layout["cell_size"][0]} cells) and {stem}.npz ({len(records)} gates)')
    return dict(png=stem + '.png', npz=stem + '.npz', layout=layout, records=records)


if __name__ == '__main__':
    main()
