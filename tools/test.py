#!/usr/bin/env python
"""Test (and evaluate) a GhostNetV2 detector or segmentor checkpoint.

Same command line as mmdet's and mmseg's tools/test.py:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE|DIR]
        [--show] [--show-dir DIR] [--tta] [--deploy] [--cfg-options k=v ...]
``--out`` is a results .pkl for detection and a folder of PNG label maps for
segmentation; ``--show-dir`` writes drawn boxes / colour overlays; ``--deploy``
tests the deploy-mode (norm-folded) model.
"""
import argparse
import os

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import ghostnetv2_mm  # noqa: F401  (registers GhostNetV2 and friends)
from ghostnetv2_mm.checkpoint import use_safe_checkpoint_loader
from ghostnetv2_mm.engine.config import (apply_tta, enable_visualization, load_config,
                                         save_test_predictions)
from ghostnetv2_mm.engine.config_checks import check_config
from ghostnetv2_mm.engine.data_paths import check_data_roots
from ghostnetv2_mm.engine.distributed import close_distributed, prepare_distributed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a detector or segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='detection: results .pkl; segmentation: '
                                      'folder for predicted PNG label maps')
    parser.add_argument('--show', action='store_true', help='show results in a window')
    parser.add_argument('--show-dir', help='save drawn predictions in this folder')
    parser.add_argument('--wait-time', type=float, default=2, help='--show interval (s)')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--deploy', action='store_true',
                        help='switch the model to deploy mode after loading the '
                             'checkpoint and test that model')
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
    if '://' not in args.checkpoint and not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    cfg.load_from = args.checkpoint
    check_config(cfg)
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show_dir, args.show, args.wait_time)
    if args.tta:
        apply_tta(cfg)
    if args.out:
        save_test_predictions(cfg, args.out)
    if args.deploy:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='DeployModeHook')]
    check_data_roots(cfg, ['test_dataloader'])
    try:
        prepare_distributed(cfg)
        # nothing may keep the runner alive past this line (see close_distributed)
        return (Runner.from_cfg(cfg) if 'runner_type' not in cfg
                else RUNNERS.build(cfg)).test()
    finally:
        close_distributed()


if __name__ == '__main__':
    main()
