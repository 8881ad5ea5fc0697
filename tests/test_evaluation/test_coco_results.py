"""Scoring saved detections (``tools/analysis/coco_map.py``) on hand-made results:
perfect boxes score 1, a shifted box less, the json and pickle forms agree."""
import json

import pytest
import torch

from ghostnetv2_mm.evaluation.coco_results import format_tables, score_detections

IMAGES = [dict(id=1, width=100, height=80, file_name='1.jpg'),
          dict(id=2, width=60, height=60, file_name='2.jpg')]
CATEGORIES = [dict(id=3, name='cat'), dict(id=7, name='dog')]
BOXES = {1: [(10, 10, 40, 30, 3), (50, 40, 30, 30, 7)], 2: [(5, 5, 50, 50, 7)]}


@pytest.fixture
def ann_file(tmp_path):
    annotations = [dict(id=i + 1, image_id=img, category_id=cat, bbox=[x, y, w, h],
                        area=w * h, iscrowd=0)
                   for i, (img, (x, y, w, h, cat)) in enumerate(
                       (img, box) for img, boxes in BOXES.items() for box in boxes)]
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(dict(images=IMAGES, categories=CATEGORIES,
                                    annotations=annotations)))
    return str(path)


def detections(shift=0):
    return [dict(image_id=img, category_id=cat, bbox=[x + shift, y, w, h], score=0.9)
            for img, boxes in BOXES.items() for x, y, w, h, cat in boxes]


def as_pickle_samples(dets):
    """The same detections in DumpDetResults' layout (labels in file order)."""
    label = {3: 0, 7: 1}
    sizes = {img['id']: (img['height'], img['width']) for img in IMAGES}
    samples = []
    for img in BOXES:
        mine = [d for d in dets if d['image_id'] == img]
        boxes = torch.tensor([d['bbox'] for d in mine], dtype=torch.float32)
        boxes[:, 2:] += boxes[:, :2]
        samples.append(dict(img_id=img, ori_shape=sizes[img], pred_instances=dict(
            bboxes=boxes, scores=torch.tensor([d['score'] for d in mine]),
            labels=torch.tensor([label[d['category_id']] for d in mine]))))
    return samples


def test_perfect_detections_score_one(ann_file, tmp_path):
    (tmp_path / 'r.json').write_text(json.dumps(detections()))
    metrics = score_detections(str(tmp_path / 'r.json'), ann_file)
    assert metrics['bbox_mAP'] == 1.0 and metrics['bbox_mAP_50'] == 1.0
    assert metrics['cat_precision'] == metrics['dog_precision'] == 1.0
    table = format_tables(metrics)
    assert 'AP @[IoU=0.50:0.95 | area=all]' in table and '2 categories' in table


def test_shifted_boxes_score_less_and_json_equals_pickle(ann_file, tmp_path):
    dets = detections(shift=6)
    (tmp_path / 'r.json').write_text(json.dumps(dets))
    from_json = score_detections(str(tmp_path / 'r.json'), ann_file)
    from_pickle = score_detections(as_pickle_samples(dets), ann_file)
    assert 0 < from_json['bbox_mAP'] < 1
    assert from_json == from_pickle


def test_errors_name_the_problem(tmp_path, ann_file):
    with pytest.raises(FileNotFoundError, match='absent.pkl does not exist'):
        score_detections(str(tmp_path / 'absent.pkl'))
    (tmp_path / 'r.json').write_text(json.dumps(detections()))
    with pytest.raises(ValueError, match='needs the annotation file'):
        score_detections(str(tmp_path / 'r.json'))
    with pytest.raises(ValueError, match='carries no ground truth'):
        score_detections(as_pickle_samples(detections()))
    bad = [dict(detections()[0], category_id=99)]
    with pytest.raises(ValueError, match='category_id 99 is not a category'):
        score_detections(bad, ann_file)
