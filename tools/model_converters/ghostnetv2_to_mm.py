#!/usr/bin/env python
"""Convert the authors' (or timm's) GhostNetV2 ImageNet weights for this backbone.

The output is an mmengine-style checkpoint ``{'state_dict': ..., 'meta': ...}``
holding only backbone weights (classifier head and profiler buffers dropped),
checked key by key against a freshly built GhostNetV2 of the detected width.
Use it as ``init_cfg=dict(type='Pretrained', checkpoint=OUT)``.

    python tools/model_converters/ghostnetv2_to_mm.py ck_ghostnetv2_10.pth.tar \
        checkpoints/ghostnetv2_1.0_imagenet_mm.pth
"""
import argparse
import os
import sys

import torch

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.checkpoint import (CheckpointError, clean_state_dict, load_file,
                                      match_to_model, unwrap_state_dict)

RELEASED_WIDTHS = (1.0, 1.3, 1.6)


def detect_width(state_dict):
    """The released width whose stem has as many channels as this checkpoint's."""
    stem = state_dict.get('conv_stem.weight')
    if stem is None:
        raise CheckpointError('no conv_stem.weight: not a GhostNetV2 state dict')
    for width in RELEASED_WIDTHS:
        if GhostNetV2(widen_factor=width, out_indices=(0,)).conv_stem.weight.shape \
                == stem.shape:
            return width
    raise CheckpointError(f'stem has {stem.shape[0]} channels, matching no released '
                          f'width {RELEASED_WIDTHS}; pass --widen-factor')


def convert(src, widen_factor=None, dfc_stages=(1, 2, 3, 4)):
    state_dict = clean_state_dict(unwrap_state_dict(load_file(src), src))
    width = widen_factor or detect_width(state_dict)
    model = GhostNetV2(widen_factor=width, out_indices=(0, 1, 2, 3, 4, 5),
                       dfc_stages=dfc_stages)
    state_dict = match_to_model(state_dict, model)
    meta = dict(source=os.path.basename(src), widen_factor=width,
                dfc_stages=list(dfc_stages), converter='ghostnetv2_mm')
    return dict(state_dict=state_dict, meta=meta)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help="the authors' .pth/.pth.tar or a timm state dict")
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument('--widen-factor', type=float, default=None,
                        help='width (default: detected from the stem)')
    parser.add_argument('--v1', action='store_true',
                        help='the checkpoint is GhostNetV1 (no DFC attention)')
    args = parser.parse_args(argv)
    try:
        out = convert(args.src, args.widen_factor, () if args.v1 else (1, 2, 3, 4))
    except CheckpointError as err:
        sys.exit(f'error: {err}')
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(out, args.dst)
    print(f"wrote {args.dst}: {len(out['state_dict'])} tensors, "
          f"width {out['meta']['widen_factor']}")


if __name__ == '__main__':
    main()
