"""Process-group teardown used by tools/train.py and tools/test.py."""
import socket

import torch.distributed as dist

from ghostnetv2_mm.utils.run_config import close_distributed


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_close_distributed_destroys_a_live_gloo_group():
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{_free_port()}',
                            rank=0, world_size=1)
    try:
        assert dist.is_initialized()
        close_distributed()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_close_distributed_without_a_group_is_a_no_op():
    assert not dist.is_initialized()
    close_distributed()
    assert not dist.is_initialized()
