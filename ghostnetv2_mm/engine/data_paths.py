"""Where a run's data lives: re-rooting a config's paths, and failing early,
naming the path and the fix, when the data is not there."""
import os
import os.path as osp
import re


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
