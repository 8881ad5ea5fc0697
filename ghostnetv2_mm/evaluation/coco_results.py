"""COCO box metrics of saved detection results (``tools/analysis/coco_map.py``).

The results are mmdet's ``DumpDetResults`` pickle (``tools/test.py --out``) or a
COCO results json; the score is mmdet's ``CocoMetric`` run by mmengine's
``Evaluator.offline_evaluate`` with the settings ``tools/test.py`` uses, so
both print the same numbers for the same predictions.
"""
import json
import os.path as osp
from collections import defaultdict

import numpy as np
import torch
from mmengine.evaluator import Evaluator
from mmengine.fileio import load

SUMMARY_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# CocoMetric names its recall items after its default proposal numbers; they
# hold COCOeval.stats[6:12] whatever the numbers actually are.
RECALL_ITEMS = ('AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')
METRIC_ITEMS = SUMMARY_ITEMS + RECALL_ITEMS


def _categories(ann_file):
    """Category ids and names in annotation-file order (mmdet's CocoDataset
    labels), or the 80 COCO classes without a file."""
    if ann_file is None:
        from mmdet.datasets import CocoDataset
        classes = list(CocoDataset.METAINFO['classes'])
        return list(range(len(classes))), classes
    with open(ann_file) as f:
        categories = json.load(f)['categories']
    return [c['id'] for c in categories], [c['name'] for c in categories]


def _samples_from_json(detections, ann_file, cat_ids):
    """CocoMetric's data samples from a COCO results list (xywh boxes)."""
    if ann_file is None:
        raise ValueError('a COCO results json needs the annotation file as second argument')
    if not isinstance(detections, list):
        raise ValueError('a COCO results json holds a list of detections')
    with open(ann_file) as f:
        sizes = {img['id']: (img['height'], img['width']) for img in json.load(f)['images']}
    label_of = {cat_id: label for label, cat_id in enumerate(cat_ids)}
    per_image = defaultdict(list)
    for det in detections:
        if det['category_id'] not in label_of:
            raise ValueError(f"detection category_id {det['category_id']} is not a "
                             f'category of {ann_file}')
        if det['image_id'] not in sizes:
            raise ValueError(f"detection image_id {det['image_id']} is not an image of "
                             f'{ann_file}')
        per_image[det['image_id']].append(det)
    samples = []
    for img_id, dets in per_image.items():
        boxes = torch.tensor([d['bbox'] for d in dets], dtype=torch.float64).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]  # xywh -> xyxy
        samples.append(dict(
            img_id=img_id, ori_shape=sizes[img_id],
            pred_instances=dict(
                bboxes=boxes, scores=torch.tensor([d['score'] for d in dets]),
                labels=torch.tensor([label_of[d['category_id']] for d in dets]))))
    return samples


def score_detections(results, ann_file=None, proposal_nums=(100, 300, 1000)):
    """Score ``results`` (a path, or the loaded pickle / json list) with mmdet's
    CocoMetric against ``ann_file``; without one, against the ground truth a
    pickle's samples carry (``instances``, packed by the test pipeline).

    Returns the metric's dict without its ``coco/`` prefix: ``bbox_mAP`` ...
    ``bbox_AR_l@1000`` (rounded to 3 decimals as ``tools/test.py`` reports
    them) and ``{category}_precision`` (per-category AP); empty when no image
    has a single box (CocoMetric's answer).
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
        if ann_file is None and 'instances' not in results[0]:
            raise ValueError('the pickle carries no ground truth (no "instances" in its '
                             'samples): give the annotation file as second argument')
        samples = results
    else:
        samples = _samples_from_json(results, ann_file, cat_ids)
    evaluator = Evaluator(dict(type='mmdet.CocoMetric', ann_file=ann_file, metric='bbox',
                               classwise=True, proposal_nums=tuple(proposal_nums),
                               metric_items=list(METRIC_ITEMS)))
    evaluator.dataset_meta = dict(classes=classes)
    metrics = evaluator.offline_evaluate(samples, chunk_size=len(samples))
    return {key.split('/', 1)[1]: value for key, value in metrics.items()}


def format_tables(metrics, proposal_nums=(100, 300, 1000)):
    """The 12 summary numbers and the per-category AP as text tables."""
    if not metrics:
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
    cells = [f'{name[:16]:<16} {ap:>6.3f}' if not np.isnan(ap) else f'{name[:16]:<16} {"nan":>6}'
             for name, ap in per_class]
    for start in range(0, len(cells), 3):
        lines.append('   '.join(cells[start:start + 3]))
    return '\n'.join(lines)
