"""tools/analysis/plot_curves.py on the session's two real training runs (the
YOLOv3 8-image and the Semantic FPN 16-image learning checks) overlaid: every
plotted line is the run's logged scalars, in a picture of the stated size."""
import numpy as np
import pytest
from PIL import Image

from ghostnetv2_mm.analysis import read_scalars
from helpers import load_tool

pytestmark = pytest.mark.slow


def test_two_real_runs_overlaid(yolov3_8img_run, seg_16img_run, tmp_path):
    out = tmp_path / 'curves.png'
    runs = [yolov3_8img_run, seg_16img_run['work']]
    result = load_tool('tools/analysis/plot_curves.py').main(
        [str(r) for r in runs] + ['--out', str(out), '--labels', 'YOLOv3', 'Semantic FPN'])
    assert result['panels'] == ['loss', 'lr', 'coco/bbox_mAP', 'coco128_train/bbox_mAP',
                                'mIoU']
    picture = np.array(Image.open(out).convert('RGB'))
    assert picture.shape == (360, 5 * 400, 3) and result['size'] == [2000, 360]
    lines = {(ax.get_title(), line.get_label()): line
             for ax in result['figure'].axes for line in ax.lines}
    for label, work_dir in zip(('YOLOv3', 'Semantic FPN'), runs):
        train, val = read_scalars(work_dir)
        loss = lines['loss', label]
        assert list(loss.get_xdata()) == [r['step'] for r in train]
        assert list(loss.get_ydata()) == [r['loss'] for r in train]
        assert list(lines['lr', label].get_ydata()) == [r['lr'] for r in train]
        metric = 'coco/bbox_mAP' if label == 'YOLOv3' else 'mIoU'
        evaluation = lines[f'{metric} (evaluation)', label]
        assert list(evaluation.get_xdata()) == [r['step'] for r in val]
        assert list(evaluation.get_ydata()) == [r[metric] for r in val]
        if label == 'YOLOv3':  # one evaluation, after the last iteration
            assert [r['step'] for r in val] == [train[-1]['step']] == [200]
        assert len(train) >= 10 and len(val) >= 1
    assert ('mIoU (evaluation)', 'YOLOv3') not in lines
    for color in ((31, 119, 180), (255, 127, 14)):  # both runs drawn, C0 and C1
        assert (np.abs(picture.astype(int) - color).sum(-1) < 30).sum() > 100
