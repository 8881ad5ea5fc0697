"""A run resumed from a checkpoint draws the random numbers the uninterrupted run
drew (dropout, augmentations), and validation does not change training."""
import random

import numpy as np
import pytest
import torch

from ghostnetv2_mm.checkpoint import load_training_checkpoint
from ghostnetv2_mm.engine.hooks import capture_random_state, restore_random_state


def test_capture_and_restore_round_trip():
    state = capture_random_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_random_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize('loop, options, checkpoint', [
    ('iteration-based', dict(max_iters=6), 'iter_2.pth'),  # mmengine skips 2 batches
    ('epoch-based', dict(max_epochs=3), 'epoch_1.pth')])  # 4 iterations per epoch
def test_resumed_run_logs_the_uninterrupted_losses(tmp_path, toy_run, loop, options,
                                                   checkpoint):
    reference = toy_run(tmp_path / 'full', **options)
    assert 'random_state' in load_training_checkpoint(tmp_path / 'full' / checkpoint)
    resumed = toy_run(tmp_path / 'resumed', resume=True,
                      load_from=str(tmp_path / 'full' / checkpoint), **options)
    assert sorted(resumed) == sorted(reference)[-len(resumed):] and len(resumed) >= 4
    for step, loss in resumed.items():
        assert abs(loss - reference[step]) <= 1e-6 * abs(reference[step]), (loop, step)


def test_without_the_hook_a_resumed_run_draws_other_numbers(tmp_path, toy_run):
    """What the hook is for: mmengine's resume alone does not restore the generators."""
    reference = toy_run(tmp_path / 'full', max_iters=6, random_state=False)
    resumed = toy_run(tmp_path / 'resumed', max_iters=6, random_state=False, resume=True,
                      load_from=str(tmp_path / 'full' / 'iter_2.pth'))
    assert any(abs(loss - reference[step]) > 1e-3 for step, loss in resumed.items())


def test_validation_does_not_change_training(tmp_path, toy_run):
    """Validating after every iteration or only at the end: the same training."""
    at_the_end = toy_run(tmp_path / 'end', max_iters=4, val_interval=4)
    every_iteration = toy_run(tmp_path / 'every', max_iters=4, val_interval=1)
    assert every_iteration == at_the_end
    # without the hook, each validation's data loader draws from torch's generator
    at_the_end = toy_run(tmp_path / 'end0', max_iters=4, val_interval=4, random_state=False)
    every_iteration = toy_run(tmp_path / 'every0', max_iters=4, val_interval=1,
                              random_state=False)
    assert every_iteration != at_the_end
