"""mIoU of saved label maps (``tools/analysis/miou.py``).

Every ``*.png`` prediction is scored against the ground truth of the same stem,
both read as mmseg's ``LoadAnnotations`` reads them, by mmseg's ``IoUMetric``
through mmengine's ``Evaluator``: the numbers ``tools/test.py`` reports.
"""
import os
import os.path as osp

import numpy as np
import torch
from mmengine.evaluator import Evaluator


def list_pngs(folder, what):
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{what} folder {folder} does not exist')
    return {osp.splitext(name)[0]: osp.join(folder, name)
            for name in sorted(os.listdir(folder)) if name.lower().endswith('.png')}


def pair_files(pred_dir, gt_dir):
    """(stem, prediction, ground truth) for every prediction, and the
    ground-truth stems that have no prediction."""
    preds, gts = list_pngs(pred_dir, 'prediction'), list_pngs(gt_dir, 'ground-truth')
    if not preds:
        raise FileNotFoundError(f'no .png prediction in {pred_dir}')
    orphans = sorted(set(preds) - set(gts))
    if orphans:
        raise FileNotFoundError(
            f'{len(orphans)} prediction(s) have no ground truth of the same name in '
            f'{gt_dir}: {orphans[:5]}{" ..." if len(orphans) > 5 else ""}')
    return [(s, preds[s], gts[s]) for s in sorted(preds)], sorted(set(gts) - set(preds))


def load_label_map(path, reduce_zero_label):
    """A label PNG as mmseg's LoadAnnotations reads it (zero label reduced if asked)."""
    from mmseg.datasets.transforms import LoadAnnotations
    results = dict(seg_map_path=path, reduce_zero_label=reduce_zero_label, seg_fields=[])
    return LoadAnnotations()(results)['gt_seg_map']


def score_label_maps(pred_dir, gt_dir, class_names, ignore_index=255,
                     reduce_zero_label=False):
    """Score the predictions. Returns ``aAcc``, ``mIoU``, ``mAcc`` (percent, 2
    decimals as mmseg reports them), ``per_class`` (name -> IoU and Acc,
    NaN where a class is absent from both), ``num_images`` and
    ``missing_predictions`` (ground-truth stems not scored). mmseg's per-class
    table goes to the current MMLogger.

    Predictions are reduced like the ground truth: ``tools/test.py --out``
    writes class c as c + 1 for a reduce-zero-label data set (as ADE20K's).
    """
    from mmseg.evaluation import IoUMetric
    pairs, missing = pair_files(pred_dir, gt_dir)
    samples = []
    for stem, pred_path, gt_path in pairs:
        pred = load_label_map(pred_path, reduce_zero_label)
        gt = load_label_map(gt_path, reduce_zero_label)
        if pred.shape != gt.shape:
            raise ValueError(f'{stem}: prediction is {pred.shape[1]}x{pred.shape[0]} but '
                             f'ground truth is {gt.shape[1]}x{gt.shape[0]} (predictions '
                             f'must be at the original image size)')
        samples.append(dict(pred_sem_seg=dict(data=torch.from_numpy(pred).long()),
                            gt_sem_seg=dict(data=torch.from_numpy(gt).long())))
    metric = IoUMetric(ignore_index=ignore_index, iou_metrics=['mIoU'])
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=tuple(class_names))
    evaluator.process(samples)
    totals = [sum(r[i] for r in metric.results) for i in range(4)]
    summary = evaluator.evaluate(len(samples))
    per_class = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])
    out = {key: round(float(summary[key]), 2) for key in ('aAcc', 'mIoU', 'mAcc')}
    out['per_class'] = {
        name: {key: round(float(np.round(per_class[key][i] * 100, 2)), 2)
               for key in ('IoU', 'Acc')}
        for i, name in enumerate(class_names)}
    out.update(num_images=len(pairs), missing_predictions=missing)
    return out
