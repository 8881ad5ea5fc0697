"""Checkpoints that survive a kill at any moment: written whole or not at all,
and old ones deleted only once the new one is complete."""
import os
import os.path as osp
from contextlib import suppress
from glob import escape, glob

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from ...registry import HOOKS

PARTIAL_SUFFIX = '.partial'
ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')


def _fsync_folder(folder):
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders
    cannot be opened, e.g. on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` so that, whenever the process dies,
    ``path`` holds either its previous content or all of ``data``.

    The bytes go to a hidden ``.<name>.<pid>.partial`` file in the same folder,
    are flushed and fsynced, then ``os.replace`` (atomic on POSIX and Windows)
    puts the file in place.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    partial = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}{PARTIAL_SUFFIX}')
    try:
        with open(partial, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):
            os.remove(partial)
        raise
    _fsync_folder(folder)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (:func:`write_atomically`)."""

    def put(self, obj, filepath):
        write_atomically(str(filepath), obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        write_atomically(str(filepath), obj.encode(encoding))


register_backend(ATOMIC_BACKEND_ARGS['backend'], AtomicLocalBackend, force=True)


class _DeferredRemovals:
    """A file backend whose removals are only recorded (the rest is the real backend's)."""

    def __init__(self, backend):
        self.backend = backend
        self.paths = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, path):
        self.paths.append(path)

    def rmtree(self, path):
        self.paths.append(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments: ``interval``, ``by_epoch``,
    ``max_keep_ckpts``, ``save_best``, ``save_last``, ...) made crash-safe.

    mmengine writes a checkpoint in place and, with ``max_keep_ckpts``, deletes
    the oldest one first, so a run killed while writing can be left with a
    truncated file under the final name, or (``max_keep_ckpts=1``) no readable
    checkpoint while ``last_checkpoint`` names the deleted one. Here, on local
    disks, every checkpoint and ``last_checkpoint`` are written atomically
    (:func:`write_atomically`), ``last_checkpoint`` moves to the new file only
    once it is complete, and outdated checkpoints (periodic and best) are
    deleted after that. Remote ``out_dir``s and explicit ``backend_args`` keep
    mmengine's writes, with the same safe ordering. In a config::

        default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
    """

    def before_train(self, runner):
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        if self.backend_args is None and self.file_client_args is None \
                and '://' not in str(out_dir):
            self.backend_args = dict(ATOMIC_BACKEND_ARGS)
        super().before_train(runner)
        if is_main_process():
            self._remove_partial_files(runner)

    def _remove_partial_files(self, runner):
        """Remove what a write killed half-way left behind (never a checkpoint)."""
        folders = {runner.work_dir, str(self.out_dir)}
        for folder in folders:
            for path in sorted(glob(osp.join(escape(str(folder)), f'.*{PARTIAL_SUFFIX}'))):
                with suppress(OSError):
                    os.remove(path)
                    runner.logger.warning(f'Removed {path}: the unfinished part of a '
                                          f'write that was interrupted')

    def _remove_checkpoint(self, path):
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # e.g. DeepSpeed checkpoints
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            # the list travels inside the new checkpoint, so it is updated first;
            # the files it drops are deleted only once the new one is on disk
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_atomically(osp.join(runner.work_dir, 'last_checkpoint'),
                         str(self.last_ckpt).encode())
        for old_step in outdated:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if old != self.last_ckpt:
                self._remove_checkpoint(old)

    def _save_best_checkpoint(self, runner, metrics):
        # mmengine deletes the previous best checkpoint before writing the new
        # one; here its deletions wait until every write of this call is done
        deferred = _DeferredRemovals(self.file_backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = deferred.backend
        current = {self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                   *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in deferred.paths:
            if path not in current:
                self._remove_checkpoint(path)

