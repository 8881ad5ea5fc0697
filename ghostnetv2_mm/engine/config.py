"""From a command line to a config: what ``tools/train.py`` and ``tools/test.py``
do with their arguments, for mmdet and mmseg configs alike (the toolbox is
read from the config's ``default_scope``)."""
import os.path as osp
from argparse import Namespace

from mmengine.config import Config

from .data_paths import reroot_data

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
    """Read a config, merge ``--cfg-options`` and pick the work dir as mmdet does.

    ``--cfg-options data_root=DIR`` also re-roots every path the config derived
    from its ``data_root`` (:func:`~ghostnetv2_mm.engine.data_paths.reroot_data`).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg_options = dict(cfg_options)
        if 'data_root' in cfg_options:
            reroot_data(cfg, cfg_options.pop('data_root'))
        cfg.merge_from_dict(cfg_options)
    config_scope(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    # a visualizer of the run's own (named after the experiment): mmdet's and
    # mmseg's configs all name theirs 'visualizer', and mmengine hands an
    # existing instance of that name, maybe the other toolbox's class, to any
    # later runner in the same process (notebooks, tests)
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.pop('name', None)
    # the registrations are needed even if the config forgot its custom_imports
    imports = list(cfg.get('custom_imports', {}).get('imports', []))
    if 'ghostnetv2_mm' not in imports:
        cfg.custom_imports = dict(imports=imports + ['ghostnetv2_mm'],
                                  allow_failed_imports=False)
    return cfg


def apply_train_args(cfg, amp=False, auto_scale_lr=False, resume=None):
    """``--amp``, ``--auto-scale-lr`` and ``--resume [CKPT]`` as in mmdet / mmseg."""
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
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                               'in the config')
        cfg.auto_scale_lr.enable = True
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    return cfg


def enable_visualization(cfg, show_dir=None, show=False, wait_time=2):
    """``--show`` / ``--show-dir``: the toolbox's visualization hook draws every
    test image (into ``show_dir`` itself, not under the work dir)."""
    args = Namespace(show=show, wait_time=wait_time,
                     show_dir=osp.abspath(show_dir) if show_dir else None)
    if config_scope(cfg) == 'mmdet':
        from mmdet.engine.hooks.utils import trigger_visualization_hook
        return trigger_visualization_hook(cfg, args)
    # mmseg keeps this step in its tools/test.py, outside its package; its hook
    # draws every `interval`-th test batch (50 by default), so ask for all
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError('--show / --show-dir need default_hooks.visualization '
                           "(e.g. dict(type='SegVisualizationHook')) in the config")
    hook.update(draw=True, interval=1)
    if show:
        hook.update(show=True, wait_time=wait_time)
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def save_test_predictions(cfg, out):
    """``--out``: a results pickle for mmdet, a folder of PNG label maps for mmseg."""
    evaluators = cfg.test_evaluator
    evaluators = [evaluators] if isinstance(evaluators, dict) else list(evaluators)
    if config_scope(cfg) == 'mmdet':
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out for detection must be a .pkl file, got {out}')
        cfg.test_evaluator = evaluators + [dict(type='DumpDetResults', out_file_path=out)]
    else:
        for evaluator in evaluators:
            evaluator.update(output_dir=out, keep_results=True)
    return cfg


def apply_tta(cfg):
    """``--tta``: wrap the model in the toolbox's TTA model and pipeline."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise RuntimeError('--tta needs tta_model and tta_pipeline in the config')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg
