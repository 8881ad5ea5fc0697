"""A segmentation config trains under 2-process gloo DDP on CPU, through
tools/dist_train.sh (torchrun + tools/train.py --launcher pytorch): a rank
killed mid-iteration ends the whole job promptly, ``--resume`` continues it,
both ranks end with identical parameters, and only rank 0 writes checkpoints and
logs."""
import os
import time

import pytest
import torch

from ghostnetv2_mm.checkpoint import load_training_checkpoint
from helpers import ONE_THREAD, run_dist

pytestmark = pytest.mark.slow
CONFIG = 'configs/coco128_seg/fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'
HOOKS_DIR = os.path.dirname(os.path.abspath(__file__))  # crash_hooks.py
ENV = dict(ONE_THREAD, PYTHONPATH=os.pathsep.join(
    [HOOKS_DIR] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
# A killed rank must end the job within this (torchrun notices a dead worker
# and terminates the others; without that, rank 0 would wait in all-reduce for
# gloo's 30-minute default timeout).
JOB_END_TIMEOUT = 120


def child_config(path, digests, crash=None):
    hooks = [f"dict(type='WeightsDigestHook', out_dir={str(digests)!r})"]
    if crash:
        hooks.append(f"dict(type='CrashHook', **{crash!r})")
    path.write_text(
        f"_base_ = {os.path.abspath(CONFIG)!r}\n"
        "custom_imports = dict(imports=['ghostnetv2_mm', 'crash_hooks'],\n"
        "                      allow_failed_imports=False)\n"
        f"custom_hooks = [{', '.join(hooks)}]\n")
    return path


def test_two_process_ddp_survives_a_killed_rank(tmp_path, coco128_seg_dir):
    work, digests = tmp_path / 'work', tmp_path / 'digests'
    options = ['--work-dir', work, '--cfg-options', f'data_root={coco128_seg_dir}',
               'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
               'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
               'val_dataloader.dataset.indices=4', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=2']
    # rank 1 dies inside the forward pass of iteration 3, after iter_2.pth
    crashing = child_config(tmp_path / 'crash.py', digests,
                            dict(moment='iter', iteration=3, rank=1))
    start = time.monotonic()
    rc, log = run_dist('tools/dist_train.sh', crashing, 2, *options, env=ENV, check=False,
                       timeout=JOB_END_TIMEOUT + 120)
    assert rc != 0, log[-3000:]
    assert 'exitcode  : -9' in log  # torchrun names the killed rank ...
    assert time.monotonic() - start < JOB_END_TIMEOUT  # ... and ends the job promptly
    assert not digests.exists()  # no rank finished training
    assert load_training_checkpoint(str(work / 'iter_2.pth'))['meta']['iter'] == 2

    log = run_dist('tools/dist_train.sh', child_config(tmp_path / 'resume.py', digests), 2,
                   *options, '--resume', env=ENV)
    # Two processes, gloo, SyncBN turned into BN since there is no CUDA.
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine reports the world size this way
    assert 'using the gloo backend' in log
    assert 'SyncBN layers become BN' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log
    assert 'mIoU' in log  # distributed evaluation gathered from both ranks
    # after the resumed steps the two processes hold exactly the same parameters
    ranks = sorted(os.listdir(digests))
    assert ranks == ['weights_rank0.txt', 'weights_rank1.txt']
    assert (digests / ranks[0]).read_text() == (digests / ranks[1]).read_text()
    # one set of checkpoints and one log per run, all from rank 0
    assert sorted(p.name for p in work.iterdir() if p.is_file()) == [
        'crash.py', 'iter_2.pth', 'iter_3.pth', 'last_checkpoint', 'resume.py']
    runs = [p for p in work.iterdir() if p.is_dir()]
    assert len(runs) == 2
    for run in runs:
        assert [p.name for p in run.glob('*.log')] == [f'{run.name}.log']
    assert not list(work.rglob('*rank1*'))
    # Readable by the tools' safe loader (weights_only=True with an allowlist).
    ckpt = load_training_checkpoint(str(work / 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    state = ckpt['state_dict']
    assert not any(k.startswith('module.') for k in state)  # saved unwrapped
    assert 'backbone.conv_stem.weight' in state and 'decode_head.conv_seg.weight' in state
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.dtype.is_floating_point)
