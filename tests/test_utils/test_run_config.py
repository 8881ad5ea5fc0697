"""Process-group teardown used by tools/train.py and tools/test.py."""
import glob
import socket

import pytest
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from ghostnetv2_mm.utils.run_config import close_distributed


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


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
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{_free_port()}',
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
