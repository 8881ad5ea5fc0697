"""Reading GhostNetV2 checkpoints safely and mapping them onto the backbone.

One copy of the key logic, used by ``init_cfg=dict(type='Pretrained')`` and by
``tools/model_converters/ghostnetv2_to_mm.py`` alike. Accepted layouts:

* the authors' released files: a plain dict of tensors that also carries the
  ``*.total_ops`` / ``*.total_params`` buffers of their FLOPs profiler, or the
  same dict wrapped under ``state_dict`` or ``model``;
* timm's GhostNetV2 state dicts (same names, no profiling buffers);
* our converted files and mmdet/mmseg checkpoints of whole detectors or
  segmentors (pick the backbone with ``prefix='backbone.'``).

The backbone keeps the authors' parameter names, so mapping means: drop the
classifier head and profiling buffers, drop stages this instance does not
build, and insist that everything else matches exactly.
"""
import os.path as osp
import pickle
import re

import torch

# Keys of the classification head, which a dense-prediction backbone never has.
HEAD_PREFIXES = ('conv_head.', 'classifier.', 'fc.', 'head.')
PROFILER_SUFFIXES = ('total_ops', 'total_params')
WRAPPER_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema')


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded as asked; the message says why."""


def load_file(path, map_location='cpu'):
    """``torch.load`` with ``weights_only=True``: tensors only, never code."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'Refusing to load {path}: it is not a plain tensor checkpoint '
            f'(the pickle references code, which weights_only=True never runs: '
            f'{_unpickler_reason(err)}). Re-save only its state dict with '
            f'torch.save(state_dict, path) in a trusted environment.') from err


def _unpickler_reason(err):
    """The refusal itself, without torch's advice to retry with weights_only=False."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1].strip().split('\n\nCheck the documentation', 1)[0]
    return text.strip()


def training_checkpoint_globals():
    """What mmengine's own training checkpoints hold besides tensors.

    The message hub stores ``HistoryBuffer`` objects: numpy arrays inside, and
    their statistics methods, which pickle writes as ``getattr(HistoryBuffer,
    'mean')`` and the like. ``builtins.getattr`` itself is not allowed (it would
    reach any attribute of any allowed object, e.g. the ``builtins`` module
    through ``getattr.__self__``); :func:`history_buffer_statistic` answers those
    calls instead. A pickle that references any other code is refused.
    """
    import codecs

    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = getattr(np, '_core', None) or np.core
    allowed = [HistoryBuffer, multiarray.multiarray._reconstruct,
               multiarray.multiarray.scalar, np.ndarray, np.dtype,
               (history_buffer_statistic, 'builtins.getattr'), codecs.encode]
    allowed += [type(np.dtype(t)) for t in
                ('float16', 'float32', 'float64', 'int8', 'int16', 'int32',
                 'int64', 'uint8', 'bool')]
    return allowed


def _statistics_names():
    """Names of ``HistoryBuffer``'s own statistics methods (min, max, mean, ...)."""
    from mmengine.logging import HistoryBuffer
    HistoryBuffer()  # fills the class-level table with the defaults
    return {name for name, method in HistoryBuffer._statistics_methods.items()
            if vars(HistoryBuffer).get(name) is method}


def _describe(obj):
    """A short name for an object a pickle handed to getattr (no repr: it could
    be long, and calls the object's own code)."""
    if obj is history_buffer_statistic:  # what the pickle calls getattr
        return 'builtins.getattr'
    if isinstance(obj, type) or callable(obj):
        module = getattr(obj, '__module__', None) or ''
        return f'{module}.{getattr(obj, "__qualname__", type(obj).__name__)}'.lstrip('.')
    return f'a {type(obj).__module__}.{type(obj).__qualname__} object'


def history_buffer_statistic(owner, name):
    """Stands in for ``builtins.getattr`` while a training checkpoint is read:
    rebuilds ``HistoryBuffer.<statistic>`` (what mmengine's message hub pickles)
    and refuses every other attribute, naming what was asked."""
    from mmengine.logging import HistoryBuffer
    allowed = _statistics_names()
    if owner is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'the checkpoint asks for getattr({_describe(owner)}, {name!r}); only '
        f'the statistics methods of mmengine.logging.HistoryBuffer '
        f'({", ".join(sorted(allowed))}) may be rebuilt while loading')


def load_training_checkpoint(path, map_location='cpu'):
    """Read an mmengine training checkpoint (``load_from``, ``--resume``,
    ``tools/test.py``) with ``weights_only=True`` and a narrow allowlist."""
    with torch.serialization.safe_globals(training_checkpoint_globals()):
        return load_file(path, map_location)


def use_safe_checkpoint_loader():
    """Make mmengine read local checkpoints with :func:`load_training_checkpoint`.

    mmengine 0.10's loader calls ``torch.load`` with torch's default, which
    since torch 2.6 is ``weights_only=True`` without the types its own
    checkpoints hold, so ``load_from``, ``--resume`` and testing a checkpoint
    fail. Registered for local paths (mmengine's scheme ``''``); other schemes
    (``http://``, ``open-mmlab://``, ...) are left to mmengine.
    """
    from mmengine.runner import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_local, force=True)


def _load_local(filename, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return load_training_checkpoint(filename, map_location=map_location)


def unwrap_state_dict(obj, source='checkpoint'):
    """Return the dict of tensors inside ``obj`` (released, timm or mmengine layout)."""
    seen = 0
    while isinstance(obj, dict) and not _is_tensor_dict(obj):
        inner = next((obj[k] for k in WRAPPER_KEYS
                      if isinstance(obj.get(k), dict)), None)
        if inner is None or seen > 3:
            raise CheckpointError(
                f'{source}: no state dict found; expected a dict of tensors or '
                f'one under {WRAPPER_KEYS}, got keys {sorted(obj)[:10]}')
        obj, seen = inner, seen + 1
    if not isinstance(obj, dict):
        raise CheckpointError(f'{source}: expected a dict of tensors, got '
                              f'{type(obj).__name__}')
    return obj


def _is_tensor_dict(obj):
    return len(obj) > 0 and all(torch.is_tensor(v) for v in obj.values())


def clean_state_dict(state_dict, prefix=None):
    """Drop profiler buffers, DDP ``module.`` prefixes, the classifier head;
    keep only ``prefix`` keys (stripped) when a prefix is given."""
    cleaned = {}
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if prefix:
            if not key.startswith(prefix):
                continue
            key = key[len(prefix):]
        if key.rsplit('.', 1)[-1] in PROFILER_SUFFIXES:
            continue
        if key.startswith(HEAD_PREFIXES):
            continue
        cleaned[key] = value
    if prefix and not cleaned:
        raise CheckpointError(f'no key starts with prefix {prefix!r}')
    return cleaned


_BLOCK_KEY = re.compile(r'^blocks\.(\d+)\.')


def match_to_model(state_dict, model):
    """Map ``state_dict`` onto ``model`` exactly, or raise listing what differs.

    Keys of ``blocks`` stages the model does not build (beyond its last
    ``out_indices``) are dropped; every other key must exist in the model with
    the same shape and every model key must be provided.
    """
    built = len(model.blocks)
    state_dict = {k: v for k, v in state_dict.items()
                  if not (_BLOCK_KEY.match(k)
                          and int(_BLOCK_KEY.match(k).group(1)) >= built)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
        f'{tuple(expected[k].shape)}'
        for k in set(expected) & set(state_dict)
        if state_dict[k].shape != expected[k].shape)
    if missing or unexpected or wrong_shape:
        parts = []
        for title, keys in (('missing in checkpoint', missing),
                            ('not part of this GhostNetV2', unexpected),
                            ('shape mismatch', wrong_shape)):
            if keys:
                shown = '\n    '.join(keys[:20])
                more = f'\n    ... and {len(keys) - 20} more' if len(keys) > 20 else ''
                parts.append(f'  {len(keys)} key(s) {title}:\n    {shown}{more}')
        raise CheckpointError(
            'checkpoint does not match the GhostNetV2 built here (check '
            'widen_factor, dfc_stages and norm_cfg against the checkpoint):\n'
            + '\n'.join(parts))
    return state_dict


def load_pretrained(model, path, prefix=None, map_location='cpu'):
    """Load a GhostNetV2 checkpoint into ``model`` with exact key checking (a
    training checkpoint of a whole detector too, with ``prefix='backbone.'``)."""
    state_dict = unwrap_state_dict(load_training_checkpoint(path, map_location), str(path))
    state_dict = match_to_model(clean_state_dict(state_dict, prefix), model)
    model.load_state_dict(state_dict, strict=True)
    return model
