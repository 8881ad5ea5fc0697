"""Process-group teardown used by tools/train.py and tools/test.py."""
import glob

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from ghostnetv2_mm.engine.distributed import close_distributed
from helpers import free_port


def _gloo_threads():
    """Names of this process's native gloo threads (Linux /proc)."""
    names = []
    for comm in glob.glob('/proc/self/task/*/comm'):
        try:
            with open(comm) as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended while listing
            pass
    return [n for n in names if 'gloo' in n]


@pytest.fixture
def gloo_group():
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}',
                            rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.skipif(not glob.glob('/proc/self/task'), reason='needs Linux /proc')
def test_close_distributed_stops_the_gloo_threads_a_ddp_cycle_keeps(gloo_group):
    # As in a finished mmengine run: the DDP wrapper holds the group and sits
    # in a reference cycle that nothing outside reaches any more. The threads
    # left alive at exit are what aborted torchrun ranks at random.
    runner = {'model': DistributedDataParallel(nn.Linear(2, 2))}
    runner['self'] = runner
    del runner
    assert _gloo_threads(), 'a live gloo group should own gloo threads'
    close_distributed()
    assert not dist.is_initialized()
    assert _gloo_threads() == []


def test_close_distributed_without_a_group_is_a_no_op():
    assert not dist.is_initialized()
    close_distributed()
    assert not dist.is_initialized()


def test_cpu_ddp_wrapper_reverts_syncbn_and_takes_no_device_ids(gloo_group):
    """What prepare_distributed asks mmengine to build without CUDA: SyncBN
    (CUDA-only) becomes BN sharing its parameters, and a training step runs."""
    from mmengine.registry import MODEL_WRAPPERS
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4))
    weight = model[1].weight
    wrapped = MODEL_WRAPPERS.build(dict(type='CPUDistributedDataParallel',
                                        broadcast_buffers=False, device_ids=[0]),
                                   default_args=dict(module=model))
    inner = wrapped.module
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in inner.modules())
    assert inner[1].weight is weight
    wrapped(torch.randn(2, 3, 8, 8)).sum().backward()
    assert weight.grad is not None


def test_prepare_distributed_without_cuda_picks_gloo_and_the_cpu_wrapper(monkeypatch):
    from mmengine.config import Config

    from ghostnetv2_mm.engine.distributed import prepare_distributed
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(dist, 'is_initialized', lambda: True)  # no group started here
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    prepare_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'CPUDistributedDataParallel'
    cfg = Config(dict(launcher='slurm'))
    with pytest.raises(RuntimeError, match='--launcher slurm without CUDA'):
        prepare_distributed(cfg)
