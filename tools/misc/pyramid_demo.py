#!/usr/bin/env python
"""Run GhostNetV2 on a real COCO image and print its feature pyramid."""
import argparse
import glob
import os
import time

import mmcv
import torch

from ghostnetv2_mm import GhostNetV2

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_IMAGES = os.path.join(REPO, '..', 'shared', 'data', 'coco128', 'val2017')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', nargs='?', help='image path (default: first coco128 val image)')
    parser.add_argument('--widen-factor', type=float, default=1.0)
    parser.add_argument('--checkpoint', help='authors / timm / converted weights')
    args = parser.parse_args()
    image = args.image or sorted(glob.glob(os.path.join(DEFAULT_IMAGES, '*.jpg')))[0]
    img = mmcv.imread(image, channel_order='rgb').astype('float32')
    mean, std = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    x = ((torch.from_numpy(img) - mean) / std).permute(2, 0, 1)[None]
    init_cfg = dict(type='Pretrained', checkpoint=args.checkpoint) if args.checkpoint else None
    model = GhostNetV2(widen_factor=args.widen_factor, out_indices=(0, 1, 2, 3, 4, 5),
                       init_cfg=init_cfg)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        start = time.perf_counter()
        outs = model(x)
        elapsed = time.perf_counter() - start
    print(f'{os.path.basename(image)}: input {tuple(x.shape)}, '
          f'GhostNetV2-{args.widen_factor} forward {elapsed * 1000:.1f} ms')
    print(f'{"index":>5} {"stride":>6} {"channels":>8}  shape')
    for idx, (out, stride) in enumerate(zip(outs, model.out_strides)):
        print(f'{idx:>5} {stride:>6} {out.shape[1]:>8}  {tuple(out.shape)}')


if __name__ == '__main__':
    main()
