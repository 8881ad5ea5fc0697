#!/usr/bin/env python
"""COCO box mAP of saved detection results, without building a model.

    python tools/analysis/coco_map.py RESULTS [ANN_FILE] [--proposal-nums 100 300 1000]

RESULTS is either the ``--out`` pickle of tools/test.py (mmdet's
DumpDetResults) or a COCO results json (a list of ``{image_id, category_id,
bbox [x, y, w, h], score}``, e.g. the ``*.bbox.json`` that CocoMetric writes
with ``outfile_prefix``). ANN_FILE is the COCO annotation json the results
are scored against; it may be left out for a pickle whose samples carry their
own ground truth (``instances`` packed by the test pipeline, as in
configs/coco128/yolov3_ghostnetv2_8img_coco128.py).

Scoring is mmdet's own CocoMetric (pycocotools' COCOeval underneath) with the
settings tools/test.py uses, so both print the same numbers for the same
predictions. Printed: the 12 COCO summary numbers (AP at IoU .50:.95, .50,
.75, small/medium/large; AR at the three ``--proposal-nums`` and
small/medium/large) and the AP of every category. With mmdet's default
``--proposal-nums 100 300 1000`` the recall columns are AR@100/300/1000 as in
tools/test.py; ``--proposal-nums 1 10 100`` gives the official COCO AR@1/10/100.
Labels in a pickle are indices into the annotation file's categories in file
order (mmdet's CocoDataset), or into the 80 COCO classes without ANN_FILE.
"""
import argparse
import contextlib
import io
import json
import os.path as osp
from collections import defaultdict

import numpy as np
from mmengine.fileio import load
from mmengine.logging import MMLogger

from mmdet.datasets import CocoDataset
from mmdet.evaluation import CocoMetric

SUMMARY_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
RECALL_ITEMS = ('AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')
# CocoMetric names its recall items after its default proposal_nums (100, 300,
# 1000); they hold COCOeval.stats[6:12] whatever the actual numbers are.
METRIC_ITEMS = SUMMARY_ITEMS + RECALL_ITEMS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='COCO box mAP of saved detection results (no model needed)')
    parser.add_argument('results', help='tools/test.py --out .pkl, or a COCO results .json')
    parser.add_argument('ann_file', nargs='?',
                        help='COCO annotation json (optional for a .pkl that '
                             'carries ground truth)')
    parser.add_argument('--proposal-nums', type=int, nargs=3, default=[100, 300, 1000],
                        metavar='N', help='max detections per image for the three '
                                          'recall numbers (default: mmdet\'s 100 300 1000)')
    return parser.parse_args(argv)


def _categories(ann_file):
    """(category ids, names) in annotation-file order, as CocoDataset uses them."""
    if ann_file is None:
        classes = list(CocoDataset.METAINFO['classes'])
        return list(range(len(classes))), classes
    with open(ann_file) as f:
        categories = json.load(f)['categories']
    return [c['id'] for c in categories], [c['name'] for c in categories]


def _from_pickle(samples, need_gt):
    """CocoMetric's (gt, prediction) pairs from DumpDetResults samples."""
    pairs = []
    for sample in samples:
        pred = sample['pred_instances']
        result = dict(
            img_id=sample['img_id'],
            bboxes=np.asarray(pred['bboxes'], dtype=np.float32).reshape(-1, 4),
            scores=np.asarray(pred['scores'], dtype=np.float32).reshape(-1),
            labels=np.asarray(pred['labels'], dtype=np.int64).reshape(-1))
        gt = dict(img_id=sample['img_id'], width=sample['ori_shape'][1],
                  height=sample['ori_shape'][0])
        if need_gt:
            if 'instances' not in sample:
                raise ValueError(
                    'the pickle carries no ground truth (no "instances" in its '
                    'samples): give the annotation file as second argument')
            gt['anns'] = sample['instances']
        pairs.append((gt, result))
    return pairs


def _from_json(detections, ann_file, cat_ids):
    """CocoMetric's (gt, prediction) pairs from a COCO results list."""
    if ann_file is None:
        raise ValueError('a COCO results json needs the annotation file as second argument')
    if not isinstance(detections, list):
        raise ValueError('a COCO results json holds a list of detections')
    label_of = {cat_id: label for label, cat_id in enumerate(cat_ids)}
    per_image = defaultdict(list)
    for det in detections:
        if det['category_id'] not in label_of:
            raise ValueError(f"detection category_id {det['category_id']} is not "
                             f'a category of {ann_file}')
        per_image[det['image_id']].append(det)
    pairs = []
    for img_id, dets in per_image.items():
        boxes = np.array([d['bbox'] for d in dets], dtype=np.float64).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]  # xywh -> xyxy, as CocoMetric stores them
        pairs.append((dict(img_id=img_id), dict(
            img_id=img_id, bboxes=boxes,
            scores=np.array([d['score'] for d in dets], dtype=np.float64),
            labels=np.array([label_of[d['category_id']] for d in dets]))))
    return pairs


def evaluate(results, ann_file=None, proposal_nums=(100, 300, 1000)):
    """Score ``results`` (path or loaded object) with mmdet's CocoMetric.

    Returns CocoMetric's dict: ``bbox_mAP`` ... ``bbox_AR_l@1000`` (the 12
    summary numbers, rounded to 3 decimals as tools/test.py reports them) and
    ``{category}_precision`` (per-category AP).
    """
    if isinstance(results, str):
        if not osp.isfile(results):
            raise FileNotFoundError(f'results file {results} does not exist')
        results = load(results)
    if ann_file is not None and not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} does not exist')
    if not results:
        raise ValueError('the results file holds no predictions')
    cat_ids, classes = _categories(ann_file)
    if isinstance(results[0], dict) and 'pred_instances' in results[0]:
        pairs = _from_pickle(results, need_gt=ann_file is None)
    else:
        pairs = _from_json(results, ann_file, cat_ids)
    # CocoMetric logs through the current MMLogger; keep only its warnings.
    MMLogger.get_instance('coco_map', log_level='WARNING')
    metric = CocoMetric(ann_file=ann_file, metric='bbox', classwise=True,
                        proposal_nums=tuple(proposal_nums),
                        metric_items=list(METRIC_ITEMS))
    metric.dataset_meta = dict(classes=classes)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' progress chatter
        return metric.compute_metrics(pairs)


def format_tables(metrics, proposal_nums=(100, 300, 1000)):
    """The 12 summary numbers and the per-category AP as text tables."""
    if not metrics:  # CocoMetric's answer when no image has a single box
        return 'COCO box metrics: no detections in the results, every number is 0'
    large = proposal_nums[-1]
    names = [
        'AP @[IoU=0.50:0.95 | area=all]', 'AP @[IoU=0.50      | area=all]',
        'AP @[IoU=0.75      | area=all]', 'AP @[IoU=0.50:0.95 | area=small]',
        'AP @[IoU=0.50:0.95 | area=medium]', 'AP @[IoU=0.50:0.95 | area=large]',
    ] + [f'AR @[maxDets={n:<4} | area=all]' for n in proposal_nums] + [
        f'AR @[maxDets={large:<4} | area={a}]' for a in ('small', 'medium', 'large')]
    lines = ['COCO box metrics', '-' * 48]
    for name, item in zip(names, METRIC_ITEMS):
        lines.append(f'{name:<38} {metrics[f"bbox_{item}"]:>8.3f}')
    per_class = [(k[:-len('_precision')], v) for k, v in metrics.items()
                 if k.endswith('_precision')]
    lines += ['', f'per-category AP (IoU 0.50:0.95), {len(per_class)} categories',
              '-' * 78]
    cells = [f'{name[:16]:<16} {ap:>6.3f}' if ap == ap else f'{name[:16]:<16} {"nan":>6}'
             for name, ap in per_class]
    for start in range(0, len(cells), 3):
        lines.append('   '.join(cells[start:start + 3]))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    metrics = evaluate(args.results, args.ann_file, args.proposal_nums)
    print(format_tables(metrics, args.proposal_nums))
    return metrics


if __name__ == '__main__':
    main()
