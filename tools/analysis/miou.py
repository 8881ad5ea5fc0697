#!/usr/bin/env python
"""mIoU, mAcc, aAcc and a per-class IoU table from two folders of label PNGs.

    python tools/analysis/miou.py PRED_DIR GT_DIR --classes classes.txt \
        [--ignore-index 255] [--reduce-zero-label] [--out metrics.json]

Every ``*.png`` in PRED_DIR is scored against the ground truth of the same stem
in GT_DIR (a prediction without ground truth is an error; ground truth without a
prediction is reported and skipped), by mmseg's IoUMetric: the numbers
tools/test.py reports. With ``--reduce-zero-label`` label 0 is ignored and k
becomes k - 1 in both folders, the space tools/test.py --out writes ADE20K-style
predictions in.
"""
import argparse
import json

from mmengine.logging import MMLogger

from ghostnetv2_mm.datasets import read_class_names
from ghostnetv2_mm.evaluation.label_maps import score_label_maps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mIoU / mAcc / aAcc and per-class IoU of predicted label PNGs '
                    'against ground-truth label PNGs (mmseg IoUMetric).')
    parser.add_argument('pred_dir', help='folder of predicted label PNGs')
    parser.add_argument('gt_dir', help='folder of ground-truth label PNGs')
    parser.add_argument('--classes', required=True,
                        help='text file of class names, one per line, in label order '
                             '(after reducing the zero label if set)')
    parser.add_argument('--ignore-index', type=int, default=255,
                        help='label ignored in the ground truth (default 255)')
    parser.add_argument('--reduce-zero-label', action='store_true',
                        help='label 0 is "unlabeled": ignore it and shift k to k-1 '
                             '(ADE20K, coco128_seg); applied to both folders')
    parser.add_argument('--out', help='also write the metrics to this .json file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    MMLogger.get_instance('miou', log_level='INFO')  # prints mmseg's per-class table
    metrics = score_label_maps(args.pred_dir, args.gt_dir, read_class_names(args.classes),
                               args.ignore_index, args.reduce_zero_label)
    if metrics['missing_predictions']:
        print(f"note: {len(metrics['missing_predictions'])} ground-truth map(s) have no "
              f"prediction and were not scored")
    print(f"images: {metrics['num_images']}  aAcc: {metrics['aAcc']:.2f}  "
          f"mIoU: {metrics['mIoU']:.2f}  mAcc: {metrics['mAcc']:.2f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
