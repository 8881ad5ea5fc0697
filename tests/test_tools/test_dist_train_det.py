"""tools/dist_train.sh runs 2 DDP processes on CPU (gloo, picked automatically
without CUDA) through a few iterations of a coco128 config, ending with the same
parameters on both ranks and one set of checkpoints (rank 0's), and
tools/dist_test.sh evaluates the result with 2 processes."""
import os
import pickle

import pytest
import torch

from ghostnetv2_mm.analysis import read_scalars
from helpers import ONE_THREAD, run_dist

pytestmark = pytest.mark.slow
CONFIG = 'configs/coco128/yolov3_ghostnetv2-1.0x_1xb8-320-24e_coco128.py'
HOOKS_DIR = os.path.dirname(os.path.abspath(__file__))  # crash_hooks.py


def with_weights_digest(path, digests):
    """CONFIG plus a hook that records each rank's parameters after training."""
    path.write_text(
        f"_base_ = {os.path.abspath(CONFIG)!r}\n"
        "custom_imports = dict(imports=['ghostnetv2_mm', 'crash_hooks'],\n"
        "                      allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='WeightsDigestHook', out_dir={str(digests)!r})]\n")
    return path


def test_dist_train_and_test_with_two_cpu_processes(tmp_path, coco128_dir):
    loader = ['batch_size=2', 'num_workers=0', 'persistent_workers=False']
    options = [f'data_root={coco128_dir}',
               # 8 images / (2 processes x 2 images) = 2 iterations per epoch
               'train_dataloader.dataset.dataset.indices=8',
               'val_dataloader.dataset.indices=4', 'test_dataloader.dataset.indices=4',
               'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
               'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']
    options += [f'{split}_dataloader.{opt}' for split in ('train', 'val', 'test')
                for opt in loader]
    digests, work = tmp_path / 'digests', tmp_path / 'work'
    env = dict(ONE_THREAD, PYTHONPATH=os.pathsep.join(
        [HOOKS_DIR] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    out = run_dist('tools/dist_train.sh', with_weights_digest(tmp_path / 'config.py', digests),
                   2, '--work-dir', work, '--cfg-options', *options, env=env)
    assert 'using the gloo backend' in out
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    assert 'FROM SCRATCH' in out  # no ImageNet checkpoint here: warned, not crashed
    train, _ = read_scalars(work)
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train)
    # Distributed validation: 4 images / (2 processes x 2 images) = 1 iteration.
    assert 'Epoch(val) [2][1/1]' in out
    # after 4 steps both processes hold exactly the same parameters ...
    ranks = [(digests / f'weights_rank{r}.txt').read_text() for r in (0, 1)]
    assert ranks[0] == ranks[1]
    # ... and one set of checkpoints and logs was written, by rank 0
    assert sorted(p.name for p in work.iterdir() if p.is_file()) == [
        'config.py', 'epoch_2.pth', 'last_checkpoint']
    logs = list(work.glob('*/*.log'))
    assert len(logs) == 1 and logs[0].name == logs[0].parent.name + '.log'
    checkpoint = work / 'epoch_2.pth'

    out = run_dist('tools/dist_test.sh', CONFIG, checkpoint, 2, '--work-dir',
                   tmp_path / 'test', '--out', tmp_path / 'results.pkl',
                   '--cfg-options', *options)
    assert 'GPU number: 2' in out and 'Epoch(test) [1/1]' in out
    with open(tmp_path / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4  # the two processes' predictions gathered
