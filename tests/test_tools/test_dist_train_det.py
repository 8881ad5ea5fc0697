"""tools/dist_train.sh runs 2 DDP processes on CPU (gloo, picked automatically
without CUDA) through a few iterations of a coco128 config, and
tools/dist_test.sh evaluates the result with 2 processes."""
import pickle

import pytest
import torch

from ghostnetv2_mm.analysis import read_scalars
from helpers import run_dist

pytestmark = pytest.mark.slow
CONFIG = 'configs/coco128/yolov3_ghostnetv2-1.0x_1xb8-320-24e_coco128.py'


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
    out = run_dist('tools/dist_train.sh', CONFIG, 2, '--work-dir', tmp_path,
                   '--cfg-options', *options)
    assert 'using the gloo backend' in out
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    assert 'FROM SCRATCH' in out  # no ImageNet checkpoint here: warned, not crashed
    train, _ = read_scalars(tmp_path)
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train)
    # Distributed validation: 4 images / (2 processes x 2 images) = 1 iteration.
    assert 'Epoch(val) [2][1/1]' in out
    checkpoint = tmp_path / 'epoch_2.pth'
    assert checkpoint.is_file()

    out = run_dist('tools/dist_test.sh', CONFIG, checkpoint, 2, '--work-dir',
                   tmp_path / 'test', '--out', tmp_path / 'results.pkl',
                   '--cfg-options', *options)
    assert 'GPU number: 2' in out and 'Epoch(test) [1/1]' in out
    with open(tmp_path / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4  # the two processes' predictions gathered
