"""Segmentation through the command-line tools.

One training run (the session fixture seg_16img_run of conftest.py) of the learning recipe
(configs/coco128_seg/fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py: Semantic FPN +
GhostNetV2-1.0 from scratch, the first 16 coco128_seg training images, 256x256
crops, batch 4, AdamW 1e-3, seed 0), evaluated on the same 16 images every 50
iterations and stopped as soon as mIoU >= 25, at 150 iterations at the latest.
Its checkpoint then goes through tools/test.py --out --show-dir, and the PNGs
written by --out through tools/analysis/miou.py.
"""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import run_tool

pytestmark = pytest.mark.slow
MAX_ITERS, VAL_INTERVAL, TARGET = 150, 50, 25.0
NUM_IMAGES = 16


@pytest.fixture(scope='module')
def trained(seg_16img_run):
    return seg_16img_run


def test_learns_from_scratch_mIoU_25_within_150_iterations(trained):
    scalars = trained['scalars']
    vals = [(s['step'], s['mIoU']) for s in scalars if 'mIoU' in s]
    losses = [(s['step'], s['loss']) for s in scalars if 'loss' in s]
    print('val mIoU by iteration:', vals)
    print('train loss by iteration:', losses)
    assert vals and vals[-1][1] >= TARGET, vals
    assert vals[-1][0] <= MAX_ITERS
    # From a few points at iteration 50 (untrained: about 0.5) up to the target.
    assert vals[0][0] == VAL_INTERVAL and vals[0][1] < 10
    assert vals[-1][1] > vals[0][1] + 15
    # The loss decreases: the last third of the logged (10-iteration mean) losses
    # averages below 70% of the first third, and the last is below the first.
    values = [v for _, v in losses]
    third = max(1, len(values) // 3)
    first, last = np.mean(values[:third]), np.mean(values[-third:])
    assert len(values) >= 6 and last < 0.7 * first, losses
    assert values[-1] < values[0]
    # The single-process run used BN in place of the config's SyncBN.
    assert 'SyncBatchNorm (SyncBN) layers in the model will be automatically ' \
           'reverted' in trained['log']
    # Training stopped there and left that checkpoint for tools/test.py.
    assert Path(trained['checkpoint']).name == f'iter_{vals[-1][0]}.pth'
    assert Path(trained['checkpoint']).is_file()


@pytest.fixture(scope='module')
def tested(trained):
    out_dir = trained['root'] / 'pred_png'
    show_dir = trained['root'] / 'overlays'
    work = trained['root'] / 'test_work'
    log = run_tool('tools/test.py', trained['config'], trained['checkpoint'],
                   '--work-dir', work, '--out', out_dir, '--show-dir', show_dir,
                   '--cfg-options', f"data_root={trained['data']}", env=dict(os.environ))
    # The test metrics go to the json log of the run (--show-dir moves vis_data).
    logs = sorted(work.glob('*/*.json'))
    assert logs, f'no json log under {work}'
    metrics = json.loads(logs[-1].read_text().splitlines()[-1])
    return dict(out=out_dir, show=show_dir, metrics=metrics, log=log)


def test_test_py_reproduces_the_last_validation(trained, tested):
    last_val = [s for s in trained['scalars'] if 'mIoU' in s][-1]
    for key in ('mIoU', 'mAcc', 'aAcc'):
        assert tested['metrics'][key] == last_val[key], key


def test_out_writes_png_label_maps(trained, tested):
    gt_dir = trained['data'] / 'annotations' / 'training'
    pngs = sorted(tested['out'].glob('*.png'))
    assert len(pngs) == NUM_IMAGES
    first16 = sorted(p.stem for p in (trained['data'] / 'images' / 'training')
                     .glob('*.jpg'))[:NUM_IMAGES]
    assert [p.stem for p in pngs] == first16
    labels = set()
    for png in pngs:
        image = Image.open(png)
        assert image.mode == 'L'  # single-channel label map
        pred = np.array(image)
        assert pred.shape == np.array(Image.open(gt_dir / png.name)).shape
        labels |= set(np.unique(pred).tolist())
    # Saved in the data's own label space: class c as c + 1 (0 stays unlabeled).
    assert min(labels) >= 1 and max(labels) <= 133 and len(labels) > 5


def test_show_dir_writes_colour_overlays(trained, tested):
    drawn = sorted(tested['show'].rglob('*.png'))
    assert len(drawn) == NUM_IMAGES
    name = drawn[0].name  # e.g. test_000000000009.jpg_125.png
    stem = re.match(r'test_(\d+)\.jpg_\d+\.png', name).group(1)
    image = np.array(Image.open(trained['data'] / 'images' / 'training'
                                / f'{stem}.jpg').convert('RGB'))
    overlay = np.array(Image.open(drawn[0]))
    h, w = image.shape[:2]
    # mmseg draws ground truth and prediction side by side, in colour.
    assert overlay.ndim == 3 and overlay.shape[2] == 3
    assert overlay.shape[0] == h and overlay.shape[1] == 2 * w
    for half in (overlay[:, :w], overlay[:, w:]):
        diff = np.abs(half.astype(int) - image.astype(int)).mean()
        assert 5 < diff < 200  # a blend of the photo and the class colours


def test_miou_script_gives_the_same_scores_as_test_py(trained, tested):
    data = trained['data']
    result = trained['root'] / 'miou.json'
    log = run_tool('tools/analysis/miou.py', tested['out'],
                   data / 'annotations' / 'training', '--classes', data / 'classes.txt',
                   '--reduce-zero-label', '--out', result, env=dict(os.environ))
    script = json.loads(result.read_text())
    assert script['num_images'] == NUM_IMAGES
    for key in ('mIoU', 'mAcc', 'aAcc'):
        assert script[key] == round(tested['metrics'][key], 2), key
    assert f"mIoU: {script['mIoU']:.2f}" in log
    # The same per-class table as tools/test.py printed.
    def table(text):
        return [line for line in text.splitlines() if line.startswith('|')]
    assert len(table(log)) == 1 + 133 and table(log) == table(tested['log'])
