"""Distributed runs on machines without CUDA (gloo, CPU DDP) and a clean
process-group teardown."""
import datetime
import gc

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU processes: no device ids, and SyncBN
    (which needs CUDA) reverted to BN, each process normalising its own batch."""

    def __init__(self, module, device_ids=None, **kwargs):
        if any(isinstance(m, torch.nn.SyncBatchNorm) for m in module.modules()):
            print_log('CUDA is not available: SyncBN layers become BN (each process '
                      'normalises its own batch)', logger='current')
            module = revert_sync_batchnorm(module)
        super().__init__(module=module, device_ids=None, **kwargs)


def prepare_distributed(cfg):
    """Make ``--launcher pytorch`` work on machines without CUDA (gloo, CPU DDP).

    mmdet/mmseg configs ask for the nccl backend and mmengine pins each process
    to a CUDA device; without CUDA this switches to gloo, wraps the model in
    :class:`CPUDistributedDataParallel`, and starts the process group here so
    mmengine does not try to. No-op with CUDA or
    without a launcher.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without CUDA is not supported; '
                           f'run CPU processes with --launcher pytorch '
                           f'(tools/dist_train.sh, tools/dist_test.sh)')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(f"CUDA is not available: using the gloo backend instead of "
                  f"{dist_cfg.get('backend', 'nccl')!r} for distributed CPU processes",
                  logger='current')
        dist_cfg['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False)))
    if wrapper.get('type', 'MMDistributedDataParallel') != 'MMDistributedDataParallel':
        raise RuntimeError(f"model_wrapper_cfg type {wrapper['type']!r} cannot run on "
                           f'CPU processes; use MMDistributedDataParallel (the default)')
    wrapper['type'] = 'CPUDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k not in ('backend', 'init_backend')}
        if isinstance(kwargs.get('timeout'), (int, float)):
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(backend='gloo', **kwargs)
    return cfg


def close_distributed():
    """Destroy the process group, if one was started, before the process exits.

    Call it once the runner is unreachable. A gloo process group that is still
    alive at interpreter exit owns joinable C++ threads whose teardown aborts
    the process ("terminate called without an active exception", SIGABRT)
    after the work is done, at random, and torchrun then reports the run as
    failed. ``destroy_process_group`` only drops torch's own references; the
    DDP wrapper holds the group too, in reference cycles, hence the collection.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
        gc.collect()
