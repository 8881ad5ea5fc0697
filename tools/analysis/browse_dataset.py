#!/usr/bin/env python
"""Draw samples of a config's dataset as its pipeline feeds them to the model.

    python tools/analysis/browse_dataset.py CONFIG --out-dir DIR [--split train]
        [--num 8] [--shuffle] [--seed 0] [--cfg-options data_root=DIR]

Each sample goes through the split's whole pipeline (augmentation included),
and is drawn with its ground truth (boxes and labels, or class colours and a
legend) by the config's visualizer into DIR/NNNN_IMAGE.png.
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction

import ghostnetv2_mm  # noqa: F401  (registers GhostNetV2 and friends)
from ghostnetv2_mm.engine.config import config_scope, load_config
from ghostnetv2_mm.visualization.dataset_samples import (SPLITS,
                                                         build_dataset_and_visualizer,
                                                         draw_sample, sample_name)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmdet or mmseg config')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--split', choices=SPLITS, default='train',
                        help='which dataloader (default: train, with augmentation)')
    parser.add_argument('--num', type=int, default=8, help='samples to draw')
    parser.add_argument('--shuffle', action='store_true',
                        help='random samples instead of the first ones')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the sampling and the augmentation')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='segmentation: weight of the class colours (0-1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.runner import set_random_seed
    cfg = load_config(args.config, args.cfg_options)
    dataset, visualizer = build_dataset_and_visualizer(cfg, args.split)
    if args.num > len(dataset):
        raise ValueError(f'--num {args.num}: the {args.split} dataset has only '
                         f'{len(dataset)} samples')
    set_random_seed(args.seed)
    indices = np.random.permutation(len(dataset))[:args.num].tolist() if args.shuffle \
        else list(range(args.num))
    os.makedirs(args.out_dir, exist_ok=True)
    import mmcv
    samples = []
    for index in indices:
        item = dataset[index]
        image, picture = draw_sample(item, visualizer, config_scope(cfg), args.opacity)
        out_file = osp.join(args.out_dir, sample_name(index, item) + '.png')
        mmcv.imwrite(picture[..., ::-1], out_file)
        samples.append(dict(index=index, file=out_file, image=image, picture=picture,
                            data_sample=item['data_samples']))
    print(f'wrote {len(samples)} {args.split} samples after the pipeline to {args.out_dir}')
    return dict(samples=samples, metainfo=dataset.metainfo)


if __name__ == '__main__':
    main()
