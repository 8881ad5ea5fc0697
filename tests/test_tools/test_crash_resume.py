"""Runs killed (SIGKILL) mid-iteration, mid-validation and half-way through
writing a checkpoint continue with ``tools/train.py --resume`` and log exactly
the losses the killed run logged; a truncated newest checkpoint is skipped with
a message; tools/test.py refuses a crafted checkpoint.

Each chain shares its kills across the run segments of one work dir: every
segment resumes from the previous one's checkpoint and re-runs iterations the
killed segment had logged, which are the reference (the uninterrupted run up to
the kill)."""
import glob
import json
import os

import pytest
import torch

from ghostnetv2_mm.checkpoint import CheckpointError, load_training_checkpoint
from helpers import CONFIGS, ONE_THREAD, load_tool, run_tool

pytestmark = pytest.mark.slow
HOOKS_DIR = os.path.dirname(os.path.abspath(__file__))  # crash_hooks.py
ENV = dict(ONE_THREAD, PYTHONPATH=os.pathsep.join(
    [HOOKS_DIR] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
DET = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
SEG = CONFIGS / 'coco128_seg' / 'fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'
KILLED = -9  # subprocess return code of a SIGKILLed process


def child_config(path, base, body, crash=None):
    """A config file: ``base`` plus ``body``, plus a CrashHook(**crash)."""
    hooks = f"custom_hooks = [dict(type='CrashHook', **{crash!r})]\n" if crash else ''
    path.write_text(f'_base_ = {str(base)!r}\n' + body + hooks +
                    "custom_imports = dict(imports=['ghostnetv2_mm', 'crash_hooks'],\n"
                    "                      allow_failed_imports=False)\n")
    return path


def train(config, work, data_root, *extra, killed=False):
    rc, out = run_tool('tools/train.py', config, '--work-dir', work, *extra,
                       '--cfg-options', f'data_root={data_root}', env=ENV, check=False)
    assert rc == (KILLED if killed else 0), out[-6000:]
    return out


def segment_losses(work):
    """{run folder: {iteration: loss}} of every run segment in ``work``."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        runs[path.split(os.sep)[-3]] = {r['step']: r['loss'] for r in records if 'loss' in r}
    return runs


def assert_same_losses(runs, overlaps):
    """Every iteration logged by several segments has one loss (1e-6 relative);
    ``overlaps``: {iteration: number of segments that must have logged it}."""
    by_step = {}
    for losses in runs.values():
        for step, loss in losses.items():
            by_step.setdefault(step, []).append(loss)
    for step, count in overlaps.items():
        assert len(by_step.get(step, [])) == count, (step, runs)
    for step, losses in by_step.items():
        assert max(abs(x - losses[0]) for x in losses) <= 1e-6 * abs(losses[0]), (step, losses)


DET_BODY = '''train_cfg = dict(max_iters=4, val_interval=3)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=1), logger=dict(interval=1))
log_processor = dict(window_size=1)
val_dataloader = dict(batch_size=1, dataset=dict(indices=2))
test_dataloader = val_dataloader
'''


def test_detection_killed_mid_validation_and_mid_checkpoint_write(tmp_path, coco128_dir):
    """YOLOv3 on 8 coco128 images, checkpoints every 2 iterations, max_keep_ckpts=1,
    validation after iteration 3 and at the end (4)."""
    work = tmp_path / 'work'
    # A: killed after the first validation batch following iteration 3
    config = child_config(tmp_path / 'a.py', DET, DET_BODY, dict(moment='val', iteration=3))
    train(config, work, coco128_dir, killed=True)
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    # B: resumes from iter_2, killed half-way through writing iter_4, which with
    # mmengine's hook would already have deleted iter_2 (max_keep_ckpts=1)
    config = child_config(tmp_path / 'b.py', DET, DET_BODY,
                          dict(moment='checkpoint', iteration=4))
    out = train(config, work, coco128_dir, '--resume', killed=True)
    assert f'Load checkpoint from {work}/iter_2.pth' in out
    assert glob.glob(str(work / '.iter_4.pth.*.partial'))  # the half-written file
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    assert load_training_checkpoint(work / 'iter_2.pth')['meta']['iter'] == 2
    # C: resumes from iter_2 again and finishes
    config = child_config(tmp_path / 'c.py', DET, DET_BODY)
    out = train(config, work, coco128_dir, '--resume')
    assert f'Load checkpoint from {work}/iter_2.pth' in out
    assert 'the unfinished part of a write that was interrupted' in out
    assert not glob.glob(str(work / '.*.partial'))
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_4.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert load_training_checkpoint(work / 'iter_4.pth')['meta']['iter'] == 4
    runs = segment_losses(work)
    assert len(runs) == 3
    assert_same_losses(runs, {1: 1, 2: 1, 3: 3, 4: 2})


SEG_BODY = '''crop_size = (128, 128)
scale = (512, 128)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='PackSegInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image')),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(indices=1, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=3, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
log_processor = dict(window_size=1)
randomness = dict(seed=0, deterministic=True)
'''


def test_segmentation_killed_mid_iteration_with_a_truncated_newest_checkpoint(
        tmp_path, coco128_seg_dir):
    """Semantic FPN on coco128_seg (random crops, dropout: the random state must
    be restored), checkpoints after every iteration."""
    work = tmp_path / 'work'
    config = child_config(tmp_path / 'x.py', SEG, SEG_BODY, dict(moment='iter', iteration=3))
    train(config, work, coco128_seg_dir, killed=True)
    newest = work / 'iter_2.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 2])  # e.g. a disk that filled up
    config = child_config(tmp_path / 'y.py', SEG, SEG_BODY)
    out = train(config, work, coco128_seg_dir, '--resume')
    assert f'--resume: skipping {newest}: unreadable' in out
    assert f'--resume: resuming from {work}/iter_1.pth, the newest readable checkpoint' in out
    assert 'resumed epoch: 0, iter: 1' in out
    runs = segment_losses(work)
    assert len(runs) == 2
    assert_same_losses(runs, {1: 1, 2: 2, 3: 1})


def test_test_tool_refuses_a_crafted_checkpoint(tmp_path, coco128_dir, one_thread):
    """A checkpoint that reaches for builtins through getattr: refused by name."""
    class BuiltinsModule:
        def __reduce__(self):
            return (getattr, (getattr, '__self__'))

    crafted = tmp_path / 'model.pth'
    torch.save({'meta': {}, 'state_dict': {}, 'x': BuiltinsModule()}, crafted)
    test = load_tool('tools/test.py')
    with pytest.raises(CheckpointError, match=r"Refusing to load .*model\.pth.*"
                                              r"getattr\(builtins\.getattr, '__self__'\)"):
        test.main([str(DET), str(crafted), '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', f'data_root={coco128_dir}'])
