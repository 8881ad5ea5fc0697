"""Command-line plumbing shared by tools/train.py and tools/test.py.

The same tools run mmdet and mmseg configs: everything that differs between
the two toolboxes is decided here from the config's ``default_scope``.
"""
import os
import os.path as osp

from mmengine.config import Config

SCOPES = ('mmdet', 'mmseg')


def config_scope(cfg):
    """'mmdet' or 'mmseg', from the config's ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(
            f'config default_scope is {scope!r}; these tools run configs that '
            f"inherit an mmdet:: or mmseg:: base (default_scope 'mmdet' or 'mmseg')")
    return scope


def load_config(path, cfg_options=None, launcher='none', work_dir=None):
    """Read a config, merge ``--cfg-options`` and pick the work dir as mmdet does."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    config_scope(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    # Make sure the registry is populated even if the config forgot custom_imports.
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    if 'ghostnetv2_mm' not in imports:
        cfg.custom_imports = dict(imports=imports + ['ghostnetv2_mm'],
                                  allow_failed_imports=False)
    return cfg


def apply_train_args(cfg, amp=False, auto_scale_lr=False, resume=None):
    """``--amp``, ``--auto-scale-lr`` and ``--resume [CKPT]`` as in mmdet/mmseg."""
    if amp:
        optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_type == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config')
        elif optim_type != 'OptimWrapper':
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, the '
                             f'config has {optim_type}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                               'in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def enable_visualization(cfg, show_dir=None, show=False, wait_time=2):
    """Turn on the toolbox's visualization hook for ``--show`` / ``--show-dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError('the config has no default_hooks.visualization; '
                           '--show/--show-dir need it')
    hook['draw'] = True
    hook['interval'] = 1
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        if config_scope(cfg) == 'mmdet':
            hook['test_out_dir'] = osp.abspath(show_dir)
        else:
            cfg.visualizer['save_dir'] = osp.abspath(show_dir)
    return cfg


def save_test_predictions(cfg, out):
    """``--out``: a results pickle for mmdet, a folder of PNG label maps for mmseg."""
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    if config_scope(cfg) == 'mmdet':
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out for detection must be a .pkl file, got {out}')
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpDetResults', out_file_path=out)]
    else:
        for evaluator in evaluators:
            evaluator['output_dir'] = out
            evaluator['keep_results'] = True
    return cfg


def apply_tta(cfg):
    """``--tta``: wrap the model with the toolbox's TTA model and pipeline."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise RuntimeError('--tta needs tta_model and tta_pipeline in the config')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg
