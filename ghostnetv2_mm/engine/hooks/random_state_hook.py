"""Random number generator states that travel with checkpoints, so that a
resumed run draws the random numbers the uninterrupted run would have drawn."""
import logging
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from ...registry import HOOKS

CHECKPOINT_KEY = 'random_state'


def capture_random_state():
    """The states of Python's, numpy's and torch's global generators (CUDA's
    too, once initialised), in types a ``weights_only`` load accepts."""
    algorithm, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=dict(algorithm=algorithm, keys=torch.from_numpy(keys.astype(np.int64)),
                            pos=int(pos), has_gauss=int(has_gauss), gauss=float(gauss)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state):
    """Set the global generators to a :func:`capture_random_state` result."""
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state['numpy']
    np.random.set_state((numpy_state['algorithm'], numpy_state['keys'].numpy().astype(np.uint32),
                         numpy_state['pos'], numpy_state['has_gauss'], numpy_state['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreAfterSkip:
    """Stands in for an iteration-based loop's data iterator while mmengine
    skips the batches a resumed run has already trained on (drawing them, and
    so the pipeline's random numbers, again); restores the checkpoint's state
    after the skip, before the first new batch is drawn, then steps aside."""

    def __init__(self, loop, state):
        self.loop = loop
        self.inner = loop.dataloader_iterator
        self.remaining = loop.iter
        self.state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self.remaining > 0:
            self.remaining -= 1
            return next(self.inner)
        restore_random_state(self.state)
        self.loop.dataloader_iterator = self.inner
        return next(self.inner)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Saves the generators' states in every checkpoint and restores them when
    training resumes from it; keeps validation from consuming them.

    mmengine's resume restores weights, optimizer, schedulers and the data
    position, but not the generators, so random crops, flips and dropout of a
    resumed run differ from those of the run it continues. With this hook and
    ``randomness=dict(seed=..., deterministic=True)``, a run resumed from
    checkpoint k logs the losses the uninterrupted run logged after k. Random
    numbers drawn during validation are given back afterwards, so where
    validation falls does not change training either.

    Under DDP only rank 0 writes checkpoints, so every rank resumes from rank
    0's state; with ``randomness.diff_rank_seed=True`` only rank 0 restores it.
    Data loader workers are reseeded by mmengine and need nothing from here.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) in after_val_epoch

    def __init__(self):
        self._resumed = None
        self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint[CHECKPOINT_KEY] = capture_random_state()

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get(CHECKPOINT_KEY)
        meta = checkpoint.get('meta', {})
        self._resumed = None if state is None else (meta.get('epoch'), meta.get('iter'), state)

    def before_train_epoch(self, runner):
        if self._resumed is None:
            return
        epoch, iteration, state = self._resumed
        self._resumed = None
        loop = runner.train_loop
        if (epoch, iteration) != (loop.epoch, loop.iter) or loop.iter == 0:
            return  # loaded to initialise weights (load_from), not resumed
        if runner.cfg.get('randomness', {}).get('diff_rank_seed') and get_rank() != 0:
            print_log('diff_rank_seed: this rank does not take rank 0\'s random state',
                      logger='current', level=logging.INFO)
            return
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterSkip(loop, state)
        else:  # epoch-based: resumed at an epoch boundary, nothing is skipped
            restore_random_state(state)

    def before_val_epoch(self, runner):
        self._before_val = capture_random_state()

    def after_val_epoch(self, runner, metrics=None):
        if self._before_val is not None:
            restore_random_state(self._before_val)
            self._before_val = None
