"""Command-line plumbing shared by tools/train.py and tools/test.py.

The same tools run mmdet and mmseg configs: everything that differs between
the two toolboxes is decided here from the config's ``default_scope``.
"""
import datetime
import gc
import logging
import os
import os.path as osp
import re
import warnings

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import CheckpointLoader, Runner

from ..checkpoint import load_training_checkpoint

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

    ``--cfg-options data_root=DIR`` also re-roots every path that the config
    derived from its ``data_root`` (dataloaders, evaluator annotation files),
    see :func:`reroot_data`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg_options = dict(cfg_options)
        if 'data_root' in cfg_options:
            reroot_data(cfg, cfg_options.pop('data_root'))
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


def reroot_data(cfg, new_root):
    """Move every path string that starts with ``cfg.data_root`` under ``new_root``.

    Text configs resolve ``data_root + '...'`` when they are read, so setting
    the top-level ``data_root`` afterwards would change nothing else; this
    rewrites the derived paths (dataloaders' ``data_root``, evaluators'
    ``ann_file``, ...) and ``data_root`` itself.
    """
    old_root = cfg.get('data_root')
    if not isinstance(old_root, str) or old_root.strip('/') == '':
        raise ValueError(f'--cfg-options data_root=... needs a config that defines '
                         f'a top-level data_root string; this one has {old_root!r}')
    new_root = str(new_root)
    if old_root.endswith('/') and not new_root.endswith('/'):
        new_root += '/'

    def visit(node):
        if isinstance(node, str):
            return new_root + node[len(old_root):] if node.startswith(old_root) else node
        if isinstance(node, dict):
            for key in list(node.keys()):
                node[key] = visit(node[key])
            return node
        if isinstance(node, list):
            return [visit(item) for item in node]
        if isinstance(node, tuple):
            return tuple(visit(item) for item in node)
        return node

    for key in list(cfg.keys()):
        cfg[key] = visit(cfg[key])
    return cfg


def _dataset_paths(dataset):
    """(what, path) pairs a dataset config reads, through wrapper datasets."""
    if not isinstance(dataset, dict):
        return
    for inner in [dataset.get('dataset')] + list(dataset.get('datasets') or []):
        yield from _dataset_paths(inner)
    data_root = dataset.get('data_root')
    if isinstance(data_root, str) and data_root:
        yield 'data root', data_root
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        if data_root and not osp.isabs(ann_file):
            ann_file = osp.join(data_root, ann_file)
        yield 'annotation file', ann_file


def check_data_roots(cfg, loaders):
    """Fail early, naming the path and the fix, when data a run reads is missing.

    ``loaders`` are dataloader keys (``'train_dataloader'``, ...); the
    evaluator of each val/test loader is checked too.
    """
    missing = []
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        paths = list(_dataset_paths(loader_cfg.get('dataset')))
        evaluator = cfg.get(loader.replace('dataloader', 'evaluator'))
        for metric in evaluator if isinstance(evaluator, list) else [evaluator]:
            if isinstance(metric, dict) and isinstance(metric.get('ann_file'), str):
                paths.append(('annotation file', metric['ann_file']))
        for what, path in paths:
            if '://' not in path and not osp.exists(path):
                where = '' if osp.isabs(path) else f' (relative to {os.getcwd()})'
                missing.append(f'  {loader}: {what} {osp.normpath(path)}{where}')
    if missing:
        env_vars = sorted(set(re.findall(r'\{\{\s*\$(\w+)', cfg.text or '')))
        hints = ['--cfg-options data_root=DIR'] + \
            [f'the environment variable {name}=DIR' for name in env_vars]
        raise FileNotFoundError(
            'the data this run reads does not exist:\n' + '\n'.join(dict.fromkeys(missing))
            + '\nPut the dataset there, or point the config at it with '
            + ' or '.join(hints) + '.')
    return cfg


def fallback_missing_pretrained(cfg):
    """Train the backbone from scratch, with a warning, if its weights are absent.

    The full-dataset configs name a converted ImageNet checkpoint
    (``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)``);
    when ``PATH`` is a local file that does not exist, ``init_cfg`` is dropped
    (default initialisation) and, since nothing pretrained is left to protect,
    ``frozen_stages`` and ``norm_eval`` are turned off. Returns the missing
    path, or None when nothing changed.
    """
    backbone = cfg.get('model', {}).get('backbone')
    if not isinstance(backbone, dict):
        return None
    init_cfg = backbone.get('init_cfg')
    if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
        return None
    checkpoint = init_cfg.get('checkpoint')
    if not isinstance(checkpoint, str) or '://' in checkpoint \
            or osp.isfile(checkpoint):
        return None
    changes = ['init_cfg=None']
    backbone.init_cfg = None
    if backbone.get('frozen_stages', -1) != -1:
        backbone.frozen_stages = -1
        changes.append('frozen_stages=-1')
    if backbone.get('norm_eval'):
        backbone.norm_eval = False
        changes.append('norm_eval=False')
    msg = (f'backbone checkpoint {checkpoint} does not exist (cwd {os.getcwd()}): the '
           f'backbone is trained FROM SCRATCH ({", ".join(changes)}); expect far '
           f'lower accuracy than with ImageNet weights. Convert them with '
           f'tools/model_converters/ghostnetv2_to_mm.py to that path, or set '
           f'model.backbone.init_cfg.checkpoint.')
    warnings.warn(msg, UserWarning, stacklevel=2)
    print_log(msg, logger='current', level=logging.WARNING)
    return checkpoint


def _replace_sync_bn(node):
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_sync_bn(value)
    return count


def prepare_distributed(cfg):
    """Make ``--launcher pytorch`` work on machines without CUDA (gloo, CPU DDP).

    mmdet/mmseg configs ask for the nccl backend and mmengine pins each process
    to a CUDA device; without CUDA this switches to gloo, wraps the model in
    DDP without ``device_ids``, turns SyncBN (CUDA only) into BN, and starts
    the process group here so mmengine does not try to. No-op with CUDA or
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
    if _replace_sync_bn(cfg.get('model')):
        print_log('CUDA is not available: SyncBN layers become BN (each process '
                  'normalises its own batch)', logger='current')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None  # CPU modules take no device ids
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


def build_runner(cfg):
    """The config's runner: mmengine's ``Runner`` or its ``runner_type``."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def _load_local_checkpoint(filename, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return load_training_checkpoint(filename, map_location=map_location)


def trust_local_checkpoints():
    """Let mmengine read its own training checkpoints (``load_from``, ``--resume``).

    They hold the message hub's logging state (``HistoryBuffer`` objects with
    numpy arrays, whose pickles call ``getattr``), which torch >= 2.6's default
    ``torch.load(weights_only=True)`` refuses, so mmengine 0.10 cannot resume
    or test from them. The tools read local checkpoints with
    ``weights_only=True`` plus an allowlist of exactly those types
    (:func:`ghostnetv2_mm.checkpoint.load_training_checkpoint`): a pickle that
    references any other code is refused, never run.
    """
    CheckpointLoader.register_scheme(prefixes='', loader=_load_local_checkpoint,
                                     force=True)
