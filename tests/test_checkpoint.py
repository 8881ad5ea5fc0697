"""Weights: released, wrapped, timm and converted layouts; strict keys; safe loading."""
import pickle

import pytest
import torch

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.checkpoint import (CheckpointError, clean_state_dict, load_file,
                                      load_pretrained, unwrap_state_dict)


@pytest.fixture(scope='module')
def official(official_checkpoint):
    return load_file(official_checkpoint)


def _save(tmp_path, obj, name='ckpt.pth'):
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


def _assert_loaded(model, official):
    for key, value in model.state_dict().items():
        assert torch.equal(value, official[key]), key


@pytest.mark.parametrize('wrap', [None, 'state_dict', 'model'])
def test_released_layouts_load(tmp_path, official, wrap):
    obj = dict(official) if wrap is None else {wrap: dict(official), 'epoch': 3}
    model = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=_save(tmp_path, obj)))
    model.init_weights()
    _assert_loaded(model, official)


def test_timm_layout_loads(tmp_path, official):
    """timm's GhostNetV2 state dict: the authors' names without profiler buffers."""
    timm_sd = {k: v for k, v in official.items() if 'total_' not in k}
    model = GhostNetV2(out_indices=(1, 2, 3, 4, 5))
    load_pretrained(model, _save(tmp_path, timm_sd))
    _assert_loaded(model, official)


def test_training_checkpoint_of_a_detector_with_prefix(tmp_path, official):
    """An mmengine training checkpoint (logging state included) of a whole
    detector gives its backbone through init_cfg with prefix='backbone.'."""
    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    buffer.update(1.5)
    ckpt = {'state_dict': {f'backbone.{k}': v for k, v in official.items()},
            'meta': {'iter': 12}, 'message_hub': {'log_scalars': {'loss': buffer}}}
    model = GhostNetV2(init_cfg=dict(type='Pretrained', prefix='backbone.',
                                     checkpoint=_save(tmp_path, ckpt)))
    model.init_weights()
    _assert_loaded(model, official)


def test_detector_checkpoint_with_prefix(tmp_path, official):
    det = {'state_dict': {**{f'backbone.{k}': v for k, v in official.items()},
                          'neck.conv.weight': torch.zeros(1)}, 'meta': {}}
    model = GhostNetV2(init_cfg=dict(type='Pretrained', prefix='backbone.',
                                     checkpoint=_save(tmp_path, det)))
    model.init_weights()
    _assert_loaded(model, official)


def test_unbuilt_stages_and_head_are_dropped(official):
    cleaned = clean_state_dict(official)
    assert not any(k.startswith(('conv_head', 'classifier')) for k in cleaned)
    assert not any('total_' in k for k in cleaned)
    assert unwrap_state_dict({'state_dict': {'model': official}}) is official


def test_partial_model_loads(tmp_path, official):
    model = GhostNetV2(out_indices=(1, 2))
    load_pretrained(model, _save(tmp_path, official))
    assert len(model.blocks) == 5
    _assert_loaded(model, official)


def test_foreign_keys_are_an_error_listing_them(tmp_path, official):
    sd = dict(official)
    sd['blocks.3.0.extra.weight'] = torch.zeros(3)
    del sd['blocks.4.0.ghost2.primary_conv.0.weight']
    with pytest.raises(CheckpointError) as err:
        load_pretrained(GhostNetV2(), _save(tmp_path, sd))
    text = str(err.value)
    assert 'blocks.3.0.extra.weight' in text and 'not part of this GhostNetV2' in text
    assert 'blocks.4.0.ghost2.primary_conv.0.weight' in text and 'missing' in text


def test_width_mismatch_is_an_error(tmp_path, official):
    with pytest.raises(CheckpointError, match='shape mismatch'):
        load_pretrained(GhostNetV2(widen_factor=1.3), _save(tmp_path, official))


def test_v2_checkpoint_into_v1_names_dfc_keys(tmp_path, official):
    with pytest.raises(CheckpointError, match=r'short_conv'):
        load_pretrained(GhostNetV2(dfc_stages=()), _save(tmp_path, official))


class Payload:
    """Unpickling this would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ('code ran',))


def test_pickle_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': Payload()}, f)
    with pytest.raises(CheckpointError, match='Refusing to load .*weights_only=True'):
        load_file(path)
    assert 'code ran' not in capsys.readouterr().out


def test_not_a_state_dict_is_named(tmp_path):
    with pytest.raises(CheckpointError, match='no state dict found'):
        load_pretrained(GhostNetV2(), _save(tmp_path, {'meta': {'epoch': 1}}))


def test_missing_prefix_is_named(tmp_path, official):
    with pytest.raises(CheckpointError, match="no key starts with prefix 'backbone.'"):
        load_pretrained(GhostNetV2(), _save(tmp_path, official), prefix='backbone.')


def test_training_checkpoint_loads_with_narrow_allowlist(tmp_path):
    """mmengine runner checkpoints (message hub with HistoryBuffer / numpy) load
    with weights_only=True; anything else that needs code is still refused."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    from ghostnetv2_mm.checkpoint import load_training_checkpoint
    buffer = HistoryBuffer()
    buffer.update(0.5)
    ckpt = {'state_dict': {'w': torch.ones(2)}, 'meta': {'iter': 3, 'arr': np.arange(3)},
            'message_hub': {'log_scalars': {'loss': buffer}}}
    torch.save(ckpt, tmp_path / 'iter_3.pth')
    loaded = load_training_checkpoint(tmp_path / 'iter_3.pth')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['message_hub']['log_scalars']['loss'].current() == 0.5
    torch.save({'state_dict': {}, 'evil': Payload()}, tmp_path / 'evil.pth')
    with pytest.raises(CheckpointError, match='Refusing to load'):
        load_training_checkpoint(tmp_path / 'evil.pth')


class BuiltinsModule:
    """Pickles as ``getattr(getattr, '__self__')``: the builtins module."""

    def __reduce__(self):
        return (getattr, (getattr, '__self__'))


class PlantedBuiltin:
    """Pickles as ``getattr(<builtins>, 'eval')``, to plant in a HistoryBuffer."""

    def __reduce__(self):
        return (getattr, (BuiltinsModule(), 'eval'))


class HistoryBufferAttribute:
    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_reaching_past_history_buffer_statistics_is_refused(tmp_path):
    """With builtins.getattr allowed, this checkpoint would put builtins.eval
    among a HistoryBuffer's statistics, called later by mmengine's logger."""
    from mmengine.logging import HistoryBuffer

    from ghostnetv2_mm.checkpoint import load_training_checkpoint
    buffer = HistoryBuffer()
    buffer.update(1.0)
    state = buffer.__getstate__()
    state['statistics_methods'] = dict(state['statistics_methods'], mean=PlantedBuiltin())

    planted = HistoryBuffer()  # pickled as any HistoryBuffer, with the planted state
    planted.__getstate__ = lambda: state

    for name, payload in (('builtins', BuiltinsModule()), ('planted', planted),
                          ('method', HistoryBufferAttribute())):
        torch.save({'state_dict': {}, 'message_hub': {'log_scalars': {'loss': payload}}},
                   tmp_path / f'{name}.pth')
    with pytest.raises(CheckpointError, match=r"getattr\(builtins\.getattr, '__self__'\); only "
                                              r'the statistics methods of .*HistoryBuffer'):
        load_training_checkpoint(tmp_path / 'builtins.pth')
    with pytest.raises(CheckpointError, match=r"getattr\(builtins\.getattr, '__self__'\)"):
        load_training_checkpoint(tmp_path / 'planted.pth')
    with pytest.raises(CheckpointError, match=r"getattr\(mmengine\.logging\.history_buffer\."
                                              r"HistoryBuffer, '__init__'\)"):
        load_training_checkpoint(tmp_path / 'method.pth')


class WritesAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


class WritesAFileThroughGetattr:
    """``getattr(<builtins>, 'open')(path, 'w')``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_call, (PlantedOpen(), self.path))


class PlantedOpen:
    def __reduce__(self):
        return (getattr, (BuiltinsModule(), 'open'))


def _call(function, path):
    return function(path, 'w')


@pytest.mark.parametrize('payload', [WritesAFile, WritesAFileThroughGetattr])
def test_pickle_that_would_write_a_file_is_refused_and_writes_nothing(tmp_path, payload):
    from ghostnetv2_mm.checkpoint import load_training_checkpoint
    target = tmp_path / 'written_by_the_checkpoint.txt'
    torch.save({'state_dict': {}, 'meta': payload(str(target))}, tmp_path / 'evil.pth')
    with pytest.raises(CheckpointError, match='Refusing to load'):
        load_training_checkpoint(tmp_path / 'evil.pth')
    assert not target.exists()
