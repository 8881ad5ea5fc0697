"""Scoring label-map folders (``tools/analysis/miou.py``) on hand-checked maps."""
import json
import math

import numpy as np
import pytest
from PIL import Image

from ghostnetv2_mm.evaluation.label_maps import score_label_maps
from helpers import run_tool

# One 2x5 image, 3 classes, 255 = ignore.  Class 0: 1 hit, union 2 (IoU 50,
# Acc 50); class 1: 2 hits, union 3 (IoU 66.67, Acc 100); class 2 absent from
# the ground truth and predicted only on the ignored pixel -> NaN, not averaged.
# Row 2 repeats row 1, so: mIoU 58.33, mAcc 75, aAcc 6/8 = 75.
GT = np.array([[0, 0, 1, 1, 255]] * 2, dtype=np.uint8)
PRED = np.array([[0, 1, 1, 1, 2]] * 2, dtype=np.uint8)
NAMES = ('road', 'car', 'tree')


def write(folder, stem, array):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(folder / f'{stem}.png')


@pytest.fixture
def folders(tmp_path):
    write(tmp_path / 'pred', 'a', PRED)
    write(tmp_path / 'gt', 'a', GT)
    (tmp_path / 'classes.txt').write_text('\n'.join(NAMES))
    return tmp_path


def test_hand_computed_scores(folders):
    m = score_label_maps(str(folders / 'pred'), str(folders / 'gt'), NAMES)
    assert (m['mIoU'], m['mAcc'], m['aAcc']) == (58.33, 75.0, 75.0)
    assert m['per_class']['road'] == dict(IoU=50.0, Acc=50.0)
    assert m['per_class']['car'] == dict(IoU=66.67, Acc=100.0)
    assert math.isnan(m['per_class']['tree']['IoU'])
    assert m['num_images'] == 1 and m['missing_predictions'] == []


def test_reduce_zero_label_applies_to_both_folders(tmp_path):
    # The same maps in ADE20K's label space: 0 = unlabeled, class c saved as c+1,
    # which is how tools/test.py --out writes predictions of such data sets.
    gt_raw = np.where(GT == 255, 0, GT + 1).astype(np.uint8)
    write(tmp_path / 'pred', 'a', (PRED + 1).astype(np.uint8))
    write(tmp_path / 'gt', 'a', gt_raw)
    m = score_label_maps(str(tmp_path / 'pred'), str(tmp_path / 'gt'), NAMES,
                      reduce_zero_label=True)
    assert (m['mIoU'], m['mAcc'], m['aAcc']) == (58.33, 75.0, 75.0)


def test_ignore_index_other_than_255(tmp_path):
    write(tmp_path / 'pred', 'a', PRED)
    write(tmp_path / 'gt', 'a', np.where(GT == 255, 7, GT).astype(np.uint8))
    m = score_label_maps(str(tmp_path / 'pred'), str(tmp_path / 'gt'), NAMES,
                      ignore_index=7)
    assert (m['mIoU'], m['mAcc'], m['aAcc']) == (58.33, 75.0, 75.0)


def test_areas_add_up_over_images(tmp_path):
    # A second image that is all class 2, predicted right: tree IoU 100, and
    # every total grows; scores are of the summed areas, not averaged per image.
    write(tmp_path / 'pred', 'a', PRED)
    write(tmp_path / 'gt', 'a', GT)
    write(tmp_path / 'pred', 'b', np.full((3, 4), 2, np.uint8))
    write(tmp_path / 'gt', 'b', np.full((3, 4), 2, np.uint8))
    m = score_label_maps(str(tmp_path / 'pred'), str(tmp_path / 'gt'), NAMES)
    assert m['per_class']['tree'] == dict(IoU=100.0, Acc=100.0)
    assert m['aAcc'] == round(100 * (6 + 12) / (8 + 12), 2)
    assert m['mIoU'] == round((50 + 200 / 3 + 100) / 3, 2)
    assert m['num_images'] == 2


def test_ground_truth_without_prediction_is_reported(folders):
    write(folders / 'gt', 'b', GT)
    m = score_label_maps(str(folders / 'pred'), str(folders / 'gt'), NAMES)
    assert m['missing_predictions'] == ['b'] and m['num_images'] == 1


def test_prediction_without_ground_truth_is_an_error(folders):
    write(folders / 'pred', 'zzz', PRED)
    with pytest.raises(FileNotFoundError, match="no ground truth.*'zzz'"):
        score_label_maps(str(folders / 'pred'), str(folders / 'gt'), NAMES)


def test_size_mismatch_is_an_error(folders):
    write(folders / 'pred', 'a', np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match='a: prediction is 4x4 but ground truth is 5x2'):
        score_label_maps(str(folders / 'pred'), str(folders / 'gt'), NAMES)


def test_empty_or_missing_folders(tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no .png prediction'):
        score_label_maps(str(tmp_path / 'empty'), str(tmp_path / 'empty'), NAMES)
    with pytest.raises(FileNotFoundError, match='ground-truth folder .*nope'):
        score_label_maps(str(tmp_path / 'empty'), str(tmp_path / 'nope'), NAMES)


def test_command_line_prints_scores_and_per_class_table(folders):
    out = folders / 'm.json'
    text = run_tool('tools/analysis/miou.py', folders / 'pred', folders / 'gt',
                    '--classes', folders / 'classes.txt', '--out', out)
    assert 'aAcc: 75.00  mIoU: 58.33  mAcc: 75.00' in text
    # mmseg's per-class table: a row per class with its IoU and Acc.
    rows = {line.split('|')[1].strip(): line for line in text.splitlines()
            if line.startswith('|') and line.count('|') == 4}
    assert {'road', 'car', 'tree'} <= set(rows)
    assert '66.67' in rows['car'] and '100.0' in rows['car']
    saved = json.loads(out.read_text())
    assert saved['mIoU'] == 58.33 and saved['per_class']['road']['IoU'] == 50.0
