#!/usr/bin/env python
"""mIoU, mAcc, aAcc and a per-class IoU table from two folders of label PNGs.

    python tools/analysis/miou.py PRED_DIR GT_DIR --classes classes.txt \
        [--ignore-index 255] [--reduce-zero-label] [--out metrics.json]

Every ``*.png`` in PRED_DIR is scored against the ground truth of the same stem
in GT_DIR (a prediction without ground truth is an error; ground truth without a
prediction is reported and skipped). Both are single-channel label maps of the
same size, read and (with ``--reduce-zero-label``) reduced exactly as mmseg's
``LoadAnnotations`` does: label 0 becomes ``ignore-index`` and k becomes k - 1.
The predictions are reduced too, because that is the space ``tools/test.py
--out`` writes them in for a reduce-zero-label data set (class c saved as c + 1,
as for ADE20K). The scores come from mmseg's ``IoUMetric`` itself, so they are
the numbers ``tools/test.py`` reports on the same predictions.
"""
import argparse
import json
import os
import os.path as osp

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.evaluation import IoUMetric

from ghostnetv2_mm.datasets import read_class_names


def list_pngs(folder, what):
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{what} folder {folder} does not exist')
    return {osp.splitext(name)[0]: osp.join(folder, name)
            for name in sorted(os.listdir(folder)) if name.lower().endswith('.png')}


def pair_files(pred_dir, gt_dir):
    """(stem, prediction path, ground-truth path) for every prediction, and the
    ground-truth stems that have no prediction."""
    preds = list_pngs(pred_dir, 'prediction')
    gts = list_pngs(gt_dir, 'ground-truth')
    if not preds:
        raise FileNotFoundError(f'no .png prediction in {pred_dir}')
    orphans = sorted(set(preds) - set(gts))
    if orphans:
        raise FileNotFoundError(
            f'{len(orphans)} prediction(s) have no ground truth of the same name in '
            f'{gt_dir}: {orphans[:5]}{" ..." if len(orphans) > 5 else ""}')
    pairs = [(stem, preds[stem], gts[stem]) for stem in sorted(preds)]
    return pairs, sorted(set(gts) - set(preds))


def load_label_map(path, reduce_zero_label):
    """A label PNG as mmseg's LoadAnnotations reads it (uint8, zero label reduced)."""
    results = dict(seg_map_path=path, reduce_zero_label=reduce_zero_label,
                   seg_fields=[])
    return LoadAnnotations()(results)['gt_seg_map']


def evaluate(pred_dir, gt_dir, class_names, ignore_index=255,
             reduce_zero_label=False, logger=None):
    """Score the predictions; returns a dict with ``aAcc``, ``mIoU``, ``mAcc``
    (percent, rounded to 2 decimals as mmseg reports them), ``per_class``
    (name -> dict(IoU, Acc), percent, NaN where the class is absent from both),
    ``num_images`` and ``missing_predictions`` (ground-truth stems not scored)."""
    pairs, missing = pair_files(pred_dir, gt_dir)
    num_classes = len(class_names)
    results = []
    for stem, pred_path, gt_path in pairs:
        pred = load_label_map(pred_path, reduce_zero_label)
        gt = load_label_map(gt_path, reduce_zero_label)
        if pred.shape != gt.shape:
            raise ValueError(f'{stem}: prediction is {pred.shape[1]}x{pred.shape[0]} '
                             f'but ground truth is {gt.shape[1]}x{gt.shape[0]} '
                             f'(predictions must be at the original image size)')
        results.append(IoUMetric.intersect_and_union(
            torch.from_numpy(pred).long(), torch.from_numpy(gt).long(),
            num_classes, ignore_index))

    metric = IoUMetric(ignore_index=ignore_index, iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=tuple(class_names))
    if logger is None:
        logger = MMLogger.get_instance('miou', log_level='INFO')
    # mmseg's own summary (and its per-class table, printed through the logger).
    summary = metric.compute_metrics(results)
    totals = [sum(r[i] for r in results) for i in range(4)]
    per_class = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])
    # mmseg rounds float32 values to 2 decimals; give them as clean Python floats.
    out = {key: round(float(summary[key]), 2) for key in ('aAcc', 'mIoU', 'mAcc')}
    out['per_class'] = {
        name: {key: round(float(np.round(per_class[key][i] * 100, 2)), 2)
               for key in ('IoU', 'Acc')}
        for i, name in enumerate(class_names)}
    out['num_images'] = len(pairs)
    out['missing_predictions'] = missing
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mIoU / mAcc / aAcc and per-class IoU of predicted label PNGs '
                    'against ground-truth label PNGs (mmseg IoUMetric).')
    parser.add_argument('pred_dir', help='folder of predicted label PNGs')
    parser.add_argument('gt_dir', help='folder of ground-truth label PNGs')
    parser.add_argument('--classes', required=True,
                        help='text file of class names, one per line, in label '
                             'order (after reducing the zero label if set)')
    parser.add_argument('--ignore-index', type=int, default=255,
                        help='label ignored in the ground truth (default 255)')
    parser.add_argument('--reduce-zero-label', action='store_true',
                        help='label 0 is "unlabeled": ignore it and shift k to k-1 '
                             '(ADE20K / coco128_seg); applied to both folders')
    parser.add_argument('--out', help='also write the metrics to this .json file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logger = MMLogger.get_instance('miou', log_level='INFO')
    metrics = evaluate(args.pred_dir, args.gt_dir, read_class_names(args.classes),
                       args.ignore_index, args.reduce_zero_label, logger)
    if metrics['missing_predictions']:
        print(f"note: {len(metrics['missing_predictions'])} ground-truth map(s) "
              f"have no prediction and were not scored")
    print(f"images: {metrics['num_images']}  aAcc: {metrics['aAcc']:.2f}  "
          f"mIoU: {metrics['mIoU']:.2f}  mAcc: {metrics['mAcc']:.2f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
