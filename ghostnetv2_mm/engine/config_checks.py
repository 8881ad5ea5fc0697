"""Config mistakes found before anything is built or trained, each named with
the values that disagree and the setting to change.

What is checked (mmdet and mmseg configs):

* unknown arguments of the backbone and the neck (the valid ones listed);
* the neck's ``in_channels`` against the built backbone's ``out_channels``;
* every head's ``num_classes`` against the class count of each dataset;
* in segmentation configs, the ``ignore_index`` of the decode and auxiliary
  heads against the data preprocessor's ``seg_pad_val`` and the evaluators'
  ``ignore_index`` (a mismatch otherwise ends training at the first
  iteration with "Target 255 is out of bounds", naming none of them).

Data roots and annotation files are checked by
:func:`ghostnetv2_mm.engine.data_paths.check_data_roots`.
"""
import inspect
import os.path as osp

from mmengine.registry import DefaultScope

from .config import config_scope

# necks that take the backbone's outputs deepest first
DEEPEST_FIRST_NECKS = ('YOLOV3Neck',)
WRAPPER_DATASETS = ('RepeatDataset', 'ClassBalancedDataset', 'MultiImageMixDataset')


class ConfigError(ValueError):
    """The config contradicts itself; the message lists every mistake found."""


def _registries(scope):
    module = __import__(f'{scope}.registry', fromlist=['MODELS', 'DATASETS'])
    return module.MODELS, module.DATASETS


def _type_name(type_):
    name = type_ if isinstance(type_, str) else getattr(type_, '__name__', str(type_))
    return name.rsplit('.', 1)[-1]


def _lookup(registry, cfg):
    type_ = cfg.get('type')
    if not isinstance(type_, str):
        return type_ if inspect.isclass(type_) else None
    return registry.get(type_)


def _parameters(cls):
    """The keyword arguments ``cls`` accepts, or None when it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return [name for name in params if name != 'self']


def _unknown_arguments(where, cfg, cls):
    valid = _parameters(cls)
    if valid is None:
        return []
    unknown = sorted(k for k in cfg if k not in valid and k not in ('type', '_scope_'))
    if not unknown:
        return []
    return [f'{where}: {cls.__name__} has no argument(s) {", ".join(unknown)}; '
            f'its arguments are: {", ".join(valid)}']


def _heads(model):
    """(config path, head config) of every head that has ``num_classes``."""
    for key in ('bbox_head', 'decode_head', 'auxiliary_head', 'mask_head'):
        value = model.get(key)
        heads = value if isinstance(value, (list, tuple)) else [value]
        for i, head in enumerate(heads):
            if isinstance(head, dict):
                name = f'model.{key}' + (f'[{i}]' if len(heads) > 1 else '')
                yield name, head
    roi_head = model.get('roi_head')
    if isinstance(roi_head, dict):
        for key in ('bbox_head', 'mask_head'):
            value = roi_head.get(key)
            heads = value if isinstance(value, (list, tuple)) else [value]
            for i, head in enumerate(heads):
                if isinstance(head, dict):
                    yield f'model.roi_head.{key}' + (f'[{i}]' if len(heads) > 1 else ''), head


def _dataset_classes(dataset, registry):
    """``(type name, number of classes)`` of a dataset config, or None if unknown."""
    while isinstance(dataset, dict) and _type_name(dataset.get('type')) in WRAPPER_DATASETS:
        dataset = dataset.get('dataset')
    if not isinstance(dataset, dict):
        return None
    name = _type_name(dataset.get('type'))
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None and name == 'SegFolderDataset':
        root = dataset.get('data_root') or ''
        path = dataset.get('classes_file', 'classes.txt')
        path = path if osp.isabs(path) else osp.join(root, path)
        if osp.isfile(path):
            from ..datasets import read_class_names
            classes = read_class_names(path)
    if classes is None:
        cls = _lookup(registry, dataset)
        classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    return None if classes is None else (name, len(classes))


def _check_backbone_and_neck(model, registry):
    problems = []
    backbone_cfg, neck_cfg = model.get('backbone'), model.get('neck')
    backbone_cls = _lookup(registry, backbone_cfg) if isinstance(backbone_cfg, dict) else None
    if backbone_cls is None:
        return problems
    problems += _unknown_arguments('model.backbone', backbone_cfg, backbone_cls)
    neck_cls = _lookup(registry, neck_cfg) if isinstance(neck_cfg, dict) else None
    if neck_cls is not None:
        problems += _unknown_arguments('model.neck', neck_cfg, neck_cls)
    if problems or neck_cls is None or 'in_channels' not in neck_cfg:
        return problems
    backbone = registry.build(backbone_cfg)  # cheap; init_cfg is applied only by init_weights
    out_channels = getattr(backbone, 'out_channels', None)
    if not isinstance(out_channels, (list, tuple)):
        return problems  # a backbone that does not publish its channels
    out_channels = list(out_channels)
    in_channels = list(neck_cfg['in_channels']) \
        if isinstance(neck_cfg['in_channels'], (list, tuple)) else neck_cfg['in_channels']
    deepest_first = _type_name(neck_cfg.get('type')) in DEEPEST_FIRST_NECKS
    expected = out_channels[::-1] if deepest_first else out_channels
    if in_channels != expected:
        order = (f' ({_type_name(neck_cfg["type"])} takes them deepest first: '
                 f'{expected})' if deepest_first else '')
        problems.append(
            f'model.neck: in_channels {in_channels} do not match the backbone\'s '
            f'out_channels {out_channels}{order}; the backbone '
            f'({_type_name(backbone_cfg["type"])} with out_indices='
            f'{backbone_cfg.get("out_indices", "default")}) outputs those channels. '
            f'Set model.neck.in_channels={expected}, or change the backbone\'s '
            f'widen_factor / out_indices')
    return problems


def _check_num_classes(cfg, model, datasets_registry):
    problems = []
    counts = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader_cfg = cfg.get(loader)
        if isinstance(loader_cfg, dict):
            found = _dataset_classes(loader_cfg.get('dataset'), datasets_registry)
            if found is not None:
                counts[loader] = found
    for where, head in _heads(model):
        num_classes = head.get('num_classes')
        if not isinstance(num_classes, int):
            continue
        wrong = [(loader, dataset, count) for loader, (dataset, count) in counts.items()
                 if count != num_classes]
        if wrong:
            listed = '; '.join(f'the dataset of {loader} ({dataset}) has {count} classes'
                               for loader, dataset, count in wrong)
            problems.append(
                f'{where}.num_classes is {num_classes}, but {listed}. Set '
                f'{where}.num_classes={wrong[0][2]}, or give the datasets the classes '
                f'the head predicts (metainfo=dict(classes=...))')
    return problems


def _default(cls, name, fallback):
    for klass in inspect.getmro(cls) if cls is not None else ():
        params = inspect.signature(klass.__init__).parameters
        if name in params and params[name].default is not inspect.Parameter.empty:
            return params[name].default
    return fallback


def _check_ignore_index(cfg, model, registry):
    from mmengine.registry import METRICS
    values = []
    for where, head in _heads(model):
        if where.startswith(('model.decode_head', 'model.auxiliary_head')):
            values.append((f'{where}.ignore_index',
                           head.get('ignore_index', _default(_lookup(registry, head),
                                                             'ignore_index', 255))))
    preprocessor = model.get('data_preprocessor')
    if isinstance(preprocessor, dict):
        values.append(('model.data_preprocessor.seg_pad_val', preprocessor.get(
            'seg_pad_val', _default(_lookup(registry, preprocessor), 'seg_pad_val', 255))))
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key)
        evaluators = evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]
        for i, metric in enumerate(evaluators):
            if isinstance(metric, dict) and _type_name(metric.get('type')) == 'IoUMetric':
                with DefaultScope.overwrite_default_scope('mmseg'):
                    metric_cls = _lookup(METRICS, metric)
                name = key + (f'[{i}]' if len(evaluators) > 1 else '')
                values.append((f'{name}.ignore_index', metric.get(
                    'ignore_index', _default(metric_cls, 'ignore_index', 255))))
    if len({v for _, v in values}) <= 1:
        return []
    listed = ', '.join(f'{where}={value}' for where, value in values)
    return [f'the label that segmentation ignores differs between settings: {listed}. '
            f'Padded pixels get seg_pad_val and the loss and the metric skip '
            f'ignore_index, so all must be the data set\'s void label (one '
            f'value, e.g. 255); otherwise training fails with "Target ... is out '
            f'of bounds"']


def check_config(cfg):
    """Raise :class:`ConfigError` listing every mistake above found in ``cfg``
    (an mmdet or mmseg config, as ``load_config`` returns it)."""
    scope = config_scope(cfg)
    model = cfg.get('model')
    if not isinstance(model, dict):
        return cfg
    models, datasets = _registries(scope)
    with DefaultScope.overwrite_default_scope(scope):
        problems = _check_backbone_and_neck(model, models)
        problems += _check_num_classes(cfg, model, datasets)
        if scope == 'mmseg':
            problems += _check_ignore_index(cfg, model, models)
    if problems:
        raise ConfigError(f'{cfg.filename or "the config"}: {len(problems)} mistake(s) '
                          f'found before building the run:\n  - ' + '\n  - '.join(problems))
    return cfg
