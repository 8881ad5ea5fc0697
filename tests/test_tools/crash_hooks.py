"""Test-only hooks that end a training run at a chosen moment, as a pre-emption,
an OOM kill or a power cut would, and a hook that records each rank's weights.

Subprocess runs load this module through ``custom_imports`` (its folder on
``PYTHONPATH``); in-process tests import it and crash with an exception instead
of SIGKILL.
"""
import builtins
import hashlib
import os
import os.path as osp
import signal

from mmengine.dist import barrier, get_rank, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

MOMENTS = ('iter', 'val', 'checkpoint')


class SimulatedCrash(Exception):
    """Raised instead of SIGKILL in in-process tests."""


def crash(action):
    if action == 'kill':
        os.kill(os.getpid(), signal.SIGKILL)
    raise SimulatedCrash('crashed on purpose')


class _HalfWriter:
    """A binary file whose first ``write`` puts half of its bytes on disk, then crashes."""

    def __init__(self, file, action):
        self.file, self.action = file, action

    def write(self, data):
        self.file.write(bytes(data[:len(data) // 2]))
        self.file.flush()
        os.fsync(self.file.fileno())
        crash(self.action)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def __getattr__(self, name):
        return getattr(self.file, name)


def crash_while_writing(name, action='kill'):
    """From now on, writing a file whose name contains ``name`` crashes half-way
    (whatever writes it: mmengine's backend, an atomic writer, ...). Returns
    the patched ``open`` and the original, for tests that restore it."""
    real_open = builtins.open

    def open_(file, mode='r', *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if 'w' in mode and 'b' in mode and name in osp.basename(str(file)):
            return _HalfWriter(handle, action)
        return handle

    return open_, real_open


@HOOKS.register_module()
class CrashHook(Hook):
    """Crash at ``moment`` of training iteration ``iteration`` (1-based):

    * 'iter': inside the backbone's forward pass of that iteration;
    * 'val': after the first batch of the validation that follows it;
    * 'checkpoint': half-way through writing that iteration's checkpoint.

    ``rank`` limits the crash to one process of a distributed run.
    """

    def __init__(self, moment, iteration, rank=None, action='kill'):
        assert moment in MOMENTS, moment
        self.moment, self.iteration, self.rank, self.action = moment, iteration, rank, action

    def _mine(self):
        return self.rank is None or get_rank() == self.rank

    def before_train(self, runner):
        if self.moment == 'checkpoint' and self._mine():
            builtins.open = crash_while_writing(f'iter_{self.iteration}.pth', self.action)[0]

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.moment != 'iter' or runner.iter + 1 != self.iteration:
            return
        if is_distributed():  # the crash comes after rank 0 has saved its checkpoint
            barrier()
        if self._mine():
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            model.backbone.register_forward_pre_hook(lambda *args: crash(self.action))

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.moment == 'val' and runner.iter == self.iteration and batch_idx == 0 \
                and self._mine():
            crash(self.action)


@HOOKS.register_module()
class WeightsDigestHook(Hook):
    """After training, write ``<out_dir>/weights_rank<r>.txt``: a SHA-256 of every
    parameter of this process's model (exact equality across ranks). Buffers
    are left out: without SyncBN each rank keeps its own BN statistics."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digest = hashlib.sha256()
        for name, tensor in sorted(model.named_parameters()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        os.makedirs(self.out_dir, exist_ok=True)
        with open(osp.join(self.out_dir, f'weights_rank{get_rank()}.txt'), 'w') as f:
            f.write(digest.hexdigest())
