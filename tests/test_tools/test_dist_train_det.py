"""Issue 3, bar 4: tools/dist_train.sh runs 2 DDP processes on CPU (gloo, picked
automatically without CUDA) through a few iterations of a coco128 config, and
tools/dist_test.sh evaluates the result with 2 processes."""
import json
import os
import pickle
import socket
import subprocess
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/coco128/yolov3_ghostnetv2_320_coco128.py'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run(cmd):
    # CPU processes even where a GPU exists: this is the gloo path.
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


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
    out = run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(tmp_path),
               '--cfg-options'] + options)
    assert 'using the gloo backend' in out
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    assert 'FROM SCRATCH' in out  # no ImageNet checkpoint here: warned, not crashed
    (scalars,) = tmp_path.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    train = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train)
    # Distributed validation: 4 images / (2 processes x 2 images) = 1 iteration.
    assert 'Epoch(val) [2][1/1]' in out
    checkpoint = tmp_path / 'epoch_2.pth'
    assert checkpoint.is_file()

    out = run(['bash', 'tools/dist_test.sh', CONFIG, str(checkpoint), '2', '--work-dir',
               str(tmp_path / 'test'), '--out', str(tmp_path / 'results.pkl'),
               '--cfg-options'] + options)
    assert 'GPU number: 2' in out and 'Epoch(test) [1/1]' in out
    with open(tmp_path / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4  # the two processes' predictions gathered
