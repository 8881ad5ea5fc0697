"""A toy mmengine training run for the hook and resume tests: a linear model with
dropout (torch's generator) on a dataset that draws numpy random numbers (as
augmentations do), so that randomness shows in the losses, in a fraction of a
second per run."""
import uuid

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from ghostnetv2_mm.checkpoint import use_safe_checkpoint_loader


class ToyDataset(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        jitter = np.random.rand()  # a random augmentation
        return dict(inputs=torch.tensor([float(index), jitter], dtype=torch.float32),
                    data_samples=torch.tensor(float(index)))


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.dropout = nn.Dropout(0.5)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(self.dropout(inputs)).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - data_samples) ** 2).mean())
        return [dict(pred=o, target=t) for o, t in zip(out, data_samples)]


class ToyMetric(BaseMetric):
    """Negative mean absolute error: changes at every evaluation, higher is better."""

    def process(self, data_batch, data_samples):
        self.results += [abs(s['pred'].item() - s['target'].item()) for s in data_samples]

    def compute_metrics(self, results):
        return dict(score=-sum(results) / len(results))


class LossRecorder(Hook):
    def __init__(self):
        self.losses = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[runner.iter + 1] = outputs['loss'].item()


@pytest.fixture
def toy_run():
    """``run(work_dir, **options) -> {iteration: loss}``: a toy run through
    mmengine's Runner with AtomicCheckpointHook (every 2 iterations) and
    RandomStateHook; ``options`` override Runner arguments, ``checkpoint``
    updates the checkpoint hook, ``hooks`` adds custom hooks."""
    use_safe_checkpoint_loader()  # as tools/train.py does

    def run(work_dir, max_iters=4, checkpoint=None, hooks=(), val_interval=None,
            random_state=True, max_epochs=None, **options):
        """``max_epochs``: epoch-based instead (4 iterations per epoch, a
        checkpoint after each)."""
        recorder = LossRecorder()
        loader = dict(dataset=ToyDataset(), batch_size=2, num_workers=0,
                      collate_fn=dict(type='default_collate'))
        by_epoch = max_epochs is not None
        default_hooks = dict(
            checkpoint=dict(dict(type='AtomicCheckpointHook', interval=1 if by_epoch else 2,
                                 by_epoch=by_epoch), **(checkpoint or {})),
            logger=dict(type='LoggerHook', interval=1))
        if random_state:
            default_hooks['random_state'] = dict(type='RandomStateHook')
        val = {}
        if val_interval:
            val = dict(val_dataloader=dict(loader, sampler=dict(type='DefaultSampler',
                                                                shuffle=False)),
                       val_evaluator=[ToyMetric()], val_cfg=dict())
        torch.manual_seed(0)  # the model is built here, before the Runner seeds
        kwargs = dict(
            model=ToyModel(), work_dir=str(work_dir),
            experiment_name=f'toy_{uuid.uuid4().hex}',  # a fresh logger per run
            train_dataloader=dict(loader, sampler=dict(
                type='DefaultSampler' if by_epoch else 'InfiniteSampler', shuffle=True)),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs) if by_epoch else dict(
                by_epoch=False, max_iters=max_iters, val_interval=val_interval or max_iters + 1),
            default_hooks=default_hooks, custom_hooks=[recorder, *hooks],
            randomness=dict(seed=0), log_processor=dict(by_epoch=False, window_size=1),
            **val)
        kwargs.update(options)
        Runner(**kwargs).train()
        return recorder.losses

    return run
