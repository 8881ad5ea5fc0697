#!/usr/bin/env python
"""Plot the loss, learning rate and mAP / mIoU curves of one or more runs.

    python tools/analysis/plot_curves.py WORK_DIR [WORK_DIR ...] --out curves.png
        [--labels GhostNetV2 MobileNetV2] [--losses loss loss_cls] [--metrics mIoU]

Reads each work dir's newest ``*/vis_data/scalars.json`` (what mmengine logs);
runs are overlaid, one colour each, to compare backbones or recipes.
"""
import argparse
import os
import os.path as osp

from ghostnetv2_mm.visualization.curves import load_run, plot_curves


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dirs of mmengine runs')
    parser.add_argument('--out', required=True, help='output .png')
    parser.add_argument('--labels', nargs='+', help='legend names, one per work dir')
    parser.add_argument('--losses', nargs='+',
                        help='training scalars to plot, one panel each (default: loss)')
    parser.add_argument('--metrics', nargs='+',
                        help='evaluation scalars (default: bbox_mAP / segm_mAP / mIoU / '
                             'top-1 accuracy, whichever were logged)')
    parser.add_argument('--no-lr', dest='lr', action='store_false',
                        help='leave out the learning-rate panel')
    parser.add_argument('--size', nargs=2, type=int, default=None, metavar=('W', 'H'),
                        help='picture size in pixels (default: 400 x 360 per panel)')
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'--labels: {len(args.labels)} names for {len(args.work_dirs)} '
                     f'work dirs')
    if not args.out.lower().endswith('.png'):
        parser.error(f'--out must be a .png file, got {args.out}')
    return args


def main(argv=None):
    args = parse_args(argv)
    runs = [load_run(d, label) for d, label in
            zip(args.work_dirs, args.labels or [None] * len(args.work_dirs))]
    fig, panels = plot_curves(runs, args.losses, args.metrics, args.size, with_lr=args.lr)
    size = [round(v) for v in fig.get_size_inches() * fig.dpi]
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=fig.dpi)
    print(f'wrote {args.out} ({size[0]}x{size[1]} px): {", ".join(panels)} for '
          f'{", ".join(r["label"] for r in runs)}')
    return dict(figure=fig, panels=panels, runs=runs, size=size)


if __name__ == '__main__':
    main()
