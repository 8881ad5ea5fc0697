"""Issue 3, bars 2 and 3, through the command-line tools.

Bar 2: tools/train.py trains YOLOv3-GhostNetV2 from scratch on CPU on 8 real
coco128 images (256 px, batch 4, AdamW 2e-3, no augmentation, 200 iterations,
seeded and deterministic) and it learns: the loss falls and the box mAP on those images clears 0.03, both on
their own annotations and against the whole coco128 train json (the issue's
reference protocol); the untrained model scores 0.000.
Bar 3: tools/analysis/coco_map.py gives tools/test.py's numbers, from the
``--out`` pickle and from the COCO results json.
"""
import importlib.util
import json
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'coco128' / 'yolov3_ghostnetv2_8img_coco128.py'
ALL_ITEMS = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l',
             'AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000']


def load_tool(relpath):
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem + '_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# One intra-op thread: on a busy 2-core machine two threads wait on each other
# at every op (several times slower); alone they gain little on these small
# models. It also pins the float summation order, so runs repeat exactly.
ONE_THREAD = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture
def in_process():
    """For in-process tool runs: one thread, and the global flag that configs
    with ``randomness.deterministic=True`` set is put back afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)


def assert_same(metrics, expected):
    """Identical numbers, key for key (categories absent from the images are
    nan on both sides)."""
    assert sorted(metrics) == sorted(expected)
    differing = {k: (metrics[k], expected[k]) for k in expected
                 if not (metrics[k] == expected[k]
                         or (math.isnan(metrics[k]) and math.isnan(expected[k])))}
    assert not differing


def read_scalars(work_dir):
    (scalars,) = Path(work_dir).glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in scalars.read_text().splitlines()]


@pytest.fixture(scope='module')
def yolo_run(tmp_path_factory, coco128_dir):
    """The config's own recipe, run as a user would run it."""
    work_dir = tmp_path_factory.mktemp('yolov3_8img')
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(CONFIG), '--work-dir',
         str(work_dir), '--cfg-options', f'data_root={coco128_dir}'],
        cwd=REPO, env=ONE_THREAD, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work_dir


def test_yolov3_learns_from_scratch_on_eight_real_images(yolo_run):
    records = read_scalars(yolo_run)
    train = [r for r in records if 'loss' in r]
    (val,) = [r for r in records if 'coco/bbox_mAP' in r]
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


def test_untrained_model_scores_zero(tmp_path, coco128_dir, in_process):
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    from ghostnetv2_mm.utils.run_config import load_config
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
    # CocoMetric reports nothing when no image has a box above the thresholds.
    assert metrics.get('coco/bbox_mAP', 0.0) == 0.0, metrics
    assert metrics.get('coco128_train/bbox_mAP', 0.0) == 0.0, metrics
    with open(tmp_path / 'untrained.pkl', 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 8


def test_coco_map_script_gives_test_py_numbers(yolo_run, tmp_path, coco128_dir, capsys,
                                               in_process):
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
    # The pickle alone (it carries the 8 images' annotations), as the config scores.
    assert_same(coco_map.evaluate(str(results_pkl)), own)
    # The pickle and the COCO results json against the annotation file.
    assert_same(coco_map.evaluate(str(results_pkl), ann_file), full)
    assert_same(coco_map.evaluate(str(tmp_path / 'coco_results.bbox.json'), ann_file), full)

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


def test_coco_map_script_errors_clearly(tmp_path):
    coco_map = load_tool('tools/analysis/coco_map.py')
    with pytest.raises(FileNotFoundError, match='absent.pkl does not exist'):
        coco_map.evaluate(str(tmp_path / 'absent.pkl'))
    (tmp_path / 'r.json').write_text(json.dumps(
        [dict(image_id=9, category_id=1, bbox=[0, 0, 5, 5], score=0.9)]))
    with pytest.raises(ValueError, match='needs the annotation file'):
        coco_map.evaluate(str(tmp_path / 'r.json'))


def test_resume_continues_from_a_training_checkpoint(yolo_run, tmp_path, coco128_dir):
    """``--resume CKPT`` loads mmengine's own checkpoint (optimizer, scheduler and
    message-hub state, which torch's weights_only loading refuses) and goes on."""
    (checkpoint,) = Path(yolo_run).glob('iter_*.pth')
    done = int(checkpoint.stem.split('_')[1])
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(CONFIG), '--work-dir',
         str(tmp_path), '--resume', str(checkpoint), '--cfg-options',
         f'data_root={coco128_dir}', f'train_cfg.max_iters={done + 2}',
         f'train_cfg.val_interval={10 * done}', 'default_hooks.checkpoint.interval=1',
         'default_hooks.logger.interval=1'],
        cwd=REPO, env=ONE_THREAD, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert f'resumed epoch: 0, iter: {done}' in output
    train = [r for r in read_scalars(tmp_path) if 'loss' in r]
    assert [r['iter'] for r in train] == [done + 1, done + 2]
    # It goes on from the trained state: the loss is that of a trained model.
    assert train[-1]['loss'] < 60, train
    assert (tmp_path / f'iter_{done + 2}.pth').is_file()


def test_deploy_mode_keeps_the_numbers(yolo_run, tmp_path, coco128_dir, in_process):
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
