#!/usr/bin/env python
"""Detect or segment your own images and videos with a config and checkpoint.

    python demo/image_demo.py INPUT [INPUT ...] CONFIG CHECKPOINT [--out-dir DIR]
        [--device cpu|cuda] [--score-thr 0.3] [--opacity 0.5] [--max-size N] [--deploy]

INPUT: image files, folders (their images and videos) or quoted globs
('photos/**/*.jpg'), and videos OpenCV can read. The toolbox (mmdet or mmseg)
is the config's ``default_scope``. Writes, per input NAME:
    DIR/vis/NAME.png     boxes and labels, or colour-blended masks and a legend
    DIR/preds/NAME.json  the raw predictions (every box with its score, or the
                         pixels of each class; the label map as preds/NAME.png)
and for a video DIR/vis/NAME.mp4 and DIR/preds/NAME.json (one entry per frame).
"""
import argparse
import sys

from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import ghostnetv2_mm  # noqa: F401  (registers GhostNetV2 and friends)
from ghostnetv2_mm.engine.config import config_scope, load_config
from ghostnetv2_mm.visualization.inference import (DEFAULT_SCORE_THR, Predictor,
                                                   resolve_device, run_inference)
from ghostnetv2_mm.visualization.media import collect_sources, open_video


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='image / video files, folders or quoted globs')
    parser.add_argument('config', help='mmdet or mmseg config')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda or cuda:N (default: cuda when available)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help=f'detection: draw boxes scoring above this '
                             f'(default {DEFAULT_SCORE_THR}); the JSON keeps every box')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='segmentation: weight of the class colours (0-1)')
    parser.add_argument('--max-size', type=int, default=None,
                        help='draw the pictures at most this many pixels on their longer '
                             'side (predictions stay in input pixels)')
    parser.add_argument('--deploy', action='store_true',
                        help='run the deploy-mode (norm-folded) model')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not 0 <= args.opacity <= 1:
        raise ValueError(f'--opacity must be within 0-1, got {args.opacity}')
    if args.max_size is not None and args.max_size < 16:
        raise ValueError(f'--max-size must be at least 16 pixels, got {args.max_size}')
    # every input problem is reported before the model is loaded
    sources, skipped = collect_sources(args.inputs)
    if skipped:
        print(f'skipped {len(skipped)} files that are neither images nor videos: '
              f'{", ".join(skipped[:5])}{" ..." if len(skipped) > 5 else ""}')
    scope = config_scope(load_config(args.config, args.cfg_options))
    if scope == 'mmseg' and args.score_thr is not None:
        raise ValueError('--score-thr applies to detection; this is a segmentation '
                         'config (use --opacity to change the drawing)')
    resolve_device(args.device)
    # opening each video checks that OpenCV can read it, and counts its frames
    total = sum(1 if s.kind == 'image' else max(0, open_video(s.path).frame_cnt)
                for s in sources)
    predictor = Predictor(args.config, args.checkpoint, args.device, args.deploy,
                          args.cfg_options)
    score_thr = DEFAULT_SCORE_THR if args.score_thr is None else args.score_thr
    progress = ProgressBar(total, file=sys.stdout)
    stats = run_inference(predictor, sources, args.out_dir, score_thr, args.opacity,
                          progress, args.max_size)
    count = stats['images'] + stats['frames']
    drawn = (f'{stats["drawn"]} boxes scoring above {score_thr}'
             if predictor.scope == 'mmdet' else f'{stats["drawn"]} class regions')
    videos = sum(s.kind == 'video' for s in sources)
    print(f'\n{stats["images"]} images'
          + (f' and {stats["frames"]} frames of {videos} videos' if videos else '')
          + f' in {stats["seconds"]:.1f} s, {count / max(stats["seconds"], 1e-9):.2f} '
            f'images/s on {predictor.device}'
          + (' (deploy mode)' if args.deploy else '')
          + f'; {drawn}; pictures in {args.out_dir}/vis, predictions in '
            f'{args.out_dir}/preds')
    return stats


if __name__ == '__main__':
    main()
