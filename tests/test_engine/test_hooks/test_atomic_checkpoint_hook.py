"""A crash while a checkpoint is being written loses nothing: the previous
checkpoint and ``last_checkpoint`` stay readable (mmengine's own hook, shown
for contrast, leaves nothing with ``max_keep_ckpts=1``)."""
import builtins
import os

import pytest
from mmengine.hooks import CheckpointHook

from ghostnetv2_mm.checkpoint import load_training_checkpoint
from ghostnetv2_mm.engine.hooks import AtomicCheckpointHook, write_atomically
from test_tools.crash_hooks import SimulatedCrash, crash_while_writing


def crash_writing(monkeypatch, name):
    monkeypatch.setattr(builtins, 'open', crash_while_writing(name, action='raise')[0])


def test_write_atomically_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / 'last_checkpoint'
    write_atomically(str(path), b'old')
    write_atomically(str(path), b'new content')
    assert path.read_bytes() == b'new content'
    crash_writing(monkeypatch, 'last_checkpoint')
    with pytest.raises(SimulatedCrash):
        write_atomically(str(path), b'x' * 1000)
    assert path.read_bytes() == b'new content'
    assert os.listdir(tmp_path) == ['last_checkpoint']  # the half-written part removed


@pytest.mark.parametrize('hook_type', ['AtomicCheckpointHook', 'CheckpointHook'])
def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, toy_run,
                                                           hook_type):
    crash_writing(monkeypatch, 'iter_4.pth')
    with pytest.raises(SimulatedCrash):
        toy_run(tmp_path, checkpoint=dict(type=hook_type, max_keep_ckpts=1))
    monkeypatch.undo()
    named = (tmp_path / 'last_checkpoint').read_text()
    if hook_type == 'CheckpointHook':
        # mmengine deletes iter_2 before writing iter_4: nothing left to resume
        assert named.endswith('iter_2.pth') and not os.path.exists(named)
        return
    assert named.endswith('iter_2.pth')
    assert load_training_checkpoint(named)['meta']['iter'] == 2
    assert not (tmp_path / 'iter_4.pth').exists()


def test_old_checkpoints_go_only_after_the_new_one_is_complete(tmp_path, toy_run):
    toy_run(tmp_path, max_iters=6, checkpoint=dict(max_keep_ckpts=2))
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_4.pth', 'iter_6.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_6.pth')
    checkpoint = load_training_checkpoint(tmp_path / 'iter_6.pth')
    assert checkpoint['message_hub']['runtime_info']['keep_ckpt_ids'] == [4, 6]


def test_leftovers_of_a_killed_write_are_removed_on_start(tmp_path, toy_run, capsys):
    partial = tmp_path / '.iter_4.pth.12345.partial'
    partial.write_bytes(b'half a checkpoint')
    toy_run(tmp_path, max_iters=2)
    assert not partial.exists()
    assert f'Removed {partial}' in capsys.readouterr().out


def test_best_checkpoint_is_replaced_only_once_the_new_one_is_written(tmp_path, monkeypatch,
                                                                      toy_run):
    best = dict(save_best='score', rule='greater')
    toy_run(tmp_path / 'full', max_iters=6, val_interval=1, checkpoint=best)
    bests = sorted(p.name for p in (tmp_path / 'full').glob('best_*.pth'))
    assert len(bests) == 1  # the previous best removed after the new one
    improved = int(bests[0].rsplit('_', 1)[1].split('.')[0])
    assert improved > 1, 'the toy score should improve during the run'
    # the same run, crashing while it writes that best checkpoint
    crash_writing(monkeypatch, f'best_score_iter_{improved}.pth')
    with pytest.raises(SimulatedCrash):
        toy_run(tmp_path / 'crash', max_iters=6, val_interval=1, checkpoint=best)
    monkeypatch.undo()
    left = sorted(p.name for p in (tmp_path / 'crash').glob('best_*.pth'))
    assert len(left) == 1 and left[0] != bests[0]  # the previous best is kept
    load_training_checkpoint(tmp_path / 'crash' / left[0])


def test_same_arguments_as_mmengines_hook():
    hook = AtomicCheckpointHook(interval=3, by_epoch=False, max_keep_ckpts=2, save_best='mIoU',
                                save_last=False)
    assert isinstance(hook, CheckpointHook)
    assert (hook.interval, hook.by_epoch, hook.max_keep_ckpts, hook.save_best,
            hook.save_last) == (3, False, 2, ['mIoU'], False)
