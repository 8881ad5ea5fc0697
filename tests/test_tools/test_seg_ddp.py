"""A segmentation config trains under 2-process gloo DDP on CPU, through
tools/dist_train.sh (torchrun + tools/train.py --launcher pytorch)."""
import pytest
import torch

from ghostnetv2_mm.checkpoint import load_training_checkpoint
from helpers import run_dist

pytestmark = pytest.mark.slow
CONFIG = 'configs/coco128_seg/fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'


def test_two_process_gloo_ddp_trains_and_evaluates(tmp_path, coco128_seg_dir):
    work = tmp_path / 'work'
    log = run_dist('tools/dist_train.sh', CONFIG, 2, '--work-dir', work,
                   '--cfg-options', f'data_root={coco128_seg_dir}',
                   'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
                   'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                   'train_dataloader.persistent_workers=False',
                   'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                   'val_dataloader.dataset.indices=4', 'default_hooks.logger.interval=1',
                   'default_hooks.checkpoint.interval=3')
    # Two processes, gloo, SyncBN turned into BN since there is no CUDA.
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine reports the world size this way
    assert 'using the gloo backend' in log
    assert 'SyncBN layers become BN' in log
    assert 'Iter(train) [3/3]' in log
    assert 'mIoU' in log  # distributed evaluation gathered from both ranks
    # Readable by the tools' safe loader (weights_only=True with an allowlist).
    ckpt = load_training_checkpoint(str(work / 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    state = ckpt['state_dict']
    assert not any(k.startswith('module.') for k in state)  # saved unwrapped
    assert 'backbone.conv_stem.weight' in state and 'decode_head.conv_seg.weight' in state
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.dtype.is_floating_point)
