"""Detection through the command-line tools: tools/train.py trains YOLOv3-GhostNetV2
from scratch on CPU on 8 real coco128 images (256 px, batch 4, AdamW 2e-3, no
augmentation, 200 iterations, seeded and deterministic) and it learns; the
untrained model detects nothing; tools/analysis/coco_map.py gives tools/test.py's
numbers from the ``--out`` pickle and from the COCO results json; ``--resume``
and ``--deploy``."""
import math
import pickle
import re
from pathlib import Path

import pytest
import torch

from ghostnetv2_mm.analysis import read_scalars
from ghostnetv2_mm.evaluation.coco_results import format_tables, score_detections
from helpers import CONFIGS, load_tool, run_tool

pytestmark = pytest.mark.slow
CONFIG = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
ALL_ITEMS = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l',
             'AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000']


def assert_same(metrics, expected):
    """Identical numbers, key for key (categories absent from the images are
    nan on both sides)."""
    assert sorted(metrics) == sorted(expected)
    differing = {k: (metrics[k], expected[k]) for k in expected
                 if not (metrics[k] == expected[k]
                         or (math.isnan(metrics[k]) and math.isnan(expected[k])))}
    assert not differing


@pytest.fixture(scope='module')
def yolo_run(yolov3_8img_run):
    return yolov3_8img_run


def test_yolov3_learns_from_scratch_on_eight_real_images(yolo_run):
    train, (val,) = read_scalars(yolo_run)
    max_iters = train[-1]['iter']
    assert max_iters <= 300
    assert (Path(yolo_run) / f'iter_{max_iters}.pth').is_file()
    # The loss falls: every third of the run is below the one before, and the
    # end is far below the start.
    losses = [r['loss'] for r in train]
    assert all(torch.isfinite(torch.tensor(losses)))
    thirds = [sum(part) / len(part) for part in
              (losses[:len(losses) // 3], losses[len(losses) // 3:2 * len(losses) // 3],
               losses[2 * len(losses) // 3:])]
    assert thirds[0] > thirds[1] > thirds[2], thirds
    assert losses[-1] < 0.5 * losses[0], losses
    for key in ('loss_cls', 'loss_conf'):
        assert train[-1][key] < 0.1 * train[0][key], key
    # It detects: box mAP on the 8 training images (their own annotations) and,
    # as in the reference runs, against the whole coco128 train json.
    assert val['coco/bbox_mAP'] >= 0.3, val
    assert val['coco128_train/bbox_mAP'] >= 0.03, val


def test_untrained_model_detects_nothing(tmp_path, coco128_dir, one_thread):
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    from ghostnetv2_mm.engine.config import load_config
    cfg = load_config(str(CONFIG), {'data_root': str(coco128_dir)})
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'untrained.pth')
    test = load_tool('tools/test.py')
    metrics = test.main([str(CONFIG), str(tmp_path / 'untrained.pth'), '--work-dir',
                         str(tmp_path), '--out', str(tmp_path / 'untrained.pkl'),
                         '--cfg-options', f'data_root={coco128_dir}'])
    with open(tmp_path / 'untrained.pkl', 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 8
    boxes = sum(len(s['pred_instances']['scores']) for s in samples)
    if boxes:  # scored: every box is wrong
        assert metrics['coco/bbox_mAP'] == metrics['coco128_train/bbox_mAP'] == 0.0
    else:  # no box above the score threshold: CocoMetric reports nothing
        assert not any(k.endswith('bbox_mAP') for k in metrics), metrics
        assert format_tables(score_detections(samples)).endswith('every number is 0')


def test_coco_map_script_gives_test_py_numbers(yolo_run, tmp_path, coco128_dir, capsys,
                                               one_thread):
    (checkpoint,) = Path(yolo_run).glob('iter_*.pth')
    ann_file = str(coco128_dir / 'annotations' / 'instances_train2017.json')
    results_pkl = tmp_path / 'results.pkl'
    items = '[' + ','.join(ALL_ITEMS) + ']'
    test = load_tool('tools/test.py')
    metrics = test.main([
        str(CONFIG), str(checkpoint), '--work-dir', str(tmp_path), '--out', str(results_pkl),
        '--show-dir', str(tmp_path / 'shown'), '--cfg-options', f'data_root={coco128_dir}',
        # all 12 COCO numbers and per-class AP from both of the config's metrics
        'test_evaluator.0.classwise=True', f'test_evaluator.0.metric_items={items}',
        'test_evaluator.1.classwise=True', f'test_evaluator.1.metric_items={items}',
        f'test_evaluator.1.outfile_prefix={tmp_path / "coco_results"}'])
    own = {k[len('coco/'):]: v for k, v in metrics.items() if k.startswith('coco/')}
    full = {k[len('coco128_train/'):]: v for k, v in metrics.items()
            if k.startswith('coco128_train/')}
    assert len(own) == len(full) == 12 + 80
    assert own['bbox_mAP'] >= 0.3 and full['bbox_mAP'] > 0  # numbers worth comparing
    assert len(list((tmp_path / 'shown').rglob('*.jpg'))) == 8  # --show-dir drew them

    coco_map = load_tool('tools/analysis/coco_map.py')
    # the pickle alone (it carries the 8 images' annotations), as the config scores
    assert_same(score_detections(str(results_pkl)), own)
    # the pickle and the COCO results json against the annotation file
    assert_same(score_detections(str(results_pkl), ann_file), full)
    assert_same(score_detections(str(tmp_path / 'coco_results.bbox.json'), ann_file), full)

    capsys.readouterr()
    assert_same(coco_map.main([str(results_pkl), ann_file]), full)
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[lines.index('COCO box metrics') + 2].split() == \
        ['AP', '@[IoU=0.50:0.95', '|', 'area=all]', f'{full["bbox_mAP"]:.3f}']
    assert lines[lines.index('COCO box metrics') + 13].split() == \
        ['AR', '@[maxDets=1000', '|', 'area=large]', f'{full["bbox_AR_l@1000"]:.3f}']
    assert re.search(rf'^person +{full["person_precision"]:.3f} ', printed, re.M)
    assert 'per-category AP (IoU 0.50:0.95), 80 categories' in printed


def test_resume_continues_from_a_training_checkpoint(yolo_run, tmp_path, coco128_dir):
    """``--resume CKPT`` loads mmengine's own checkpoint (optimizer, scheduler and
    message-hub state, which torch's weights_only loading refuses) and goes on."""
    (checkpoint,) = Path(yolo_run).glob('iter_*.pth')
    done = int(checkpoint.stem.split('_')[1])
    output = run_tool('tools/train.py', CONFIG, '--work-dir', tmp_path, '--resume',
                      checkpoint, '--cfg-options', f'data_root={coco128_dir}',
                      f'train_cfg.max_iters={done + 2}', f'train_cfg.val_interval={10 * done}',
                      'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1')
    assert f'resumed epoch: 0, iter: {done}' in output
    train, _ = read_scalars(tmp_path)
    assert [r['iter'] for r in train] == [done + 1, done + 2]
    # It goes on from the trained state: the loss is that of a trained model.
    assert train[-1]['loss'] < 60, train
    assert (tmp_path / f'iter_{done + 2}.pth').is_file()


def test_deploy_mode_keeps_the_numbers(yolo_run, tmp_path, coco128_dir, one_thread):
    """tools/test.py --deploy folds backbone, neck and head norms after loading
    the checkpoint; the mAP is that of the unfused model."""
    (checkpoint,) = Path(yolo_run).glob('iter_*.pth')
    test = load_tool('tools/test.py')
    common = [str(CONFIG), str(checkpoint), '--work-dir', str(tmp_path),
              '--cfg-options', f'data_root={coco128_dir}']
    plain = test.main(common)
    deployed = test.main(common + ['--deploy'])
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco128_train/bbox_mAP'):
        assert abs(deployed[key] - plain[key]) <= 0.002, (key, plain[key], deployed[key])
