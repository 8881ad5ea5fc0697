#!/usr/bin/env python
"""Train a GhostNetV2 detector (mmdet config) or segmentor (mmseg config).

Same command line as mmdet's and mmseg's tools/train.py:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]

Beyond mmdet's tool: a backbone checkpoint named by the config but absent
gives a warning and training from scratch; missing data and contradictory
settings (neck channels, class counts, ignore labels, unknown backbone
arguments) fail at once, naming the values; ``--resume`` without a path skips
unreadable checkpoints, saying which and why; ``--cfg-options data_root=DIR``
re-roots the config's data paths; without CUDA, ``--launcher pytorch``
(tools/dist_train.sh) runs DDP on CPU with the gloo backend.
"""
import argparse
import os

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import ghostnetv2_mm  # noqa: F401  (registers GhostNetV2 and friends)
from ghostnetv2_mm.checkpoint import use_safe_checkpoint_loader
from ghostnetv2_mm.engine.config import apply_train_args, load_config
from ghostnetv2_mm.engine.config_checks import check_config
from ghostnetv2_mm.engine.data_paths import check_data_roots
from ghostnetv2_mm.engine.distributed import close_distributed, prepare_distributed
from ghostnetv2_mm.engine.pretrained import fallback_missing_pretrained
from ghostnetv2_mm.engine.resume import resolve_auto_resume


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in '
                             'the work dir when no path is given')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    use_safe_checkpoint_loader()
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    apply_train_args(cfg, args.amp, args.auto_scale_lr, args.resume)
    fallback_missing_pretrained(cfg)
    check_config(cfg)
    validates = all(cfg.get(k) is not None
                    for k in ('val_cfg', 'val_dataloader', 'val_evaluator'))
    check_data_roots(cfg, ['train_dataloader'] + (['val_dataloader'] if validates else []))
    notes = resolve_auto_resume(cfg)
    try:
        prepare_distributed(cfg)
        train(cfg, notes)
    finally:
        close_distributed()


def train(cfg, notes=()):
    """Build the runner, log ``notes`` through it (rank 0), train. Nothing may
    keep the runner alive past this call (see close_distributed)."""
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    for note in notes:
        runner.logger.warning(f'--resume: {note}')
    runner.train()


if __name__ == '__main__':
    main()
