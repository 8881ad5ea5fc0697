"""``--resume`` picks the newest checkpoint that reads, says what it skipped and
why, and never starts from scratch while checkpoints exist."""
import pytest
import torch
from mmengine.config import Config

from ghostnetv2_mm.engine.resume import (NoReadableCheckpointError, find_resume_checkpoint,
                                         resolve_auto_resume)


class Payload:
    def __reduce__(self):
        return (print, ('code ran',))


def checkpoint(path, step):
    torch.save({'meta': {'iter': step}, 'state_dict': {'w': torch.full((64,), float(step))}},
               path)
    return str(path)


def truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])


def point_at(work_dir, path):
    (work_dir / 'last_checkpoint').write_text(str(path))


def test_newest_truncated_falls_back_to_the_previous_and_says_why(tmp_path):
    checkpoint(tmp_path / 'iter_100.pth', 100)
    newest = checkpoint(tmp_path / 'iter_200.pth', 200)
    truncate(newest)
    point_at(tmp_path, newest)
    path, notes = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_100.pth')
    assert any(f'skipping {newest}: unreadable' in note for note in notes), notes
    assert any('resuming from' in note and 'iter_100.pth' in note for note in notes)


def test_newest_step_wins_over_a_stale_last_checkpoint(tmp_path):
    """A run killed between writing iter_300 and moving last_checkpoint to it."""
    older = checkpoint(tmp_path / 'iter_200.pth', 200)
    checkpoint(tmp_path / 'iter_300.pth', 300)
    checkpoint(tmp_path / 'iter_1000.pth', 1000)  # numeric, not string, order
    point_at(tmp_path, older)
    assert find_resume_checkpoint(str(tmp_path))[0] == str(tmp_path / 'iter_1000.pth')


def test_missing_file_named_by_last_checkpoint_is_reported(tmp_path):
    checkpoint(tmp_path / 'epoch_3.pth', 3)
    point_at(tmp_path, tmp_path / 'epoch_4.pth')
    path, notes = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_3.pth')
    assert any('epoch_4.pth, which does not exist' in note for note in notes)


def test_refused_checkpoint_is_skipped_with_the_refusal(tmp_path):
    checkpoint(tmp_path / 'iter_1.pth', 1)
    torch.save({'meta': {'iter': 2}, 'x': Payload()}, tmp_path / 'iter_2.pth')
    path, notes = find_resume_checkpoint(str(tmp_path))
    assert path.endswith('iter_1.pth')
    assert any('iter_2.pth: unreadable (CheckpointError: Refusing to load' in n for n in notes)


def test_no_checkpoint_says_training_starts_from_scratch(tmp_path):
    (tmp_path / 'best_mIoU_iter_5.pth').write_bytes(b'')  # not a resume point
    path, notes = find_resume_checkpoint(str(tmp_path))
    assert path is None and 'training starts from scratch' in notes[-1]


def test_only_unreadable_checkpoints_stop_the_run(tmp_path):
    for step in (1, 2):
        truncate(checkpoint(tmp_path / f'iter_{step}.pth', step))
    with pytest.raises(NoReadableCheckpointError) as err:
        find_resume_checkpoint(str(tmp_path))
    text = str(err.value)
    assert 'none of the 2 checkpoint(s)' in text
    assert 'iter_1.pth' in text and 'iter_2.pth' in text and '--resume PATH' in text


def test_resolve_auto_resume_sets_the_config(tmp_path):
    good = checkpoint(tmp_path / 'iter_4.pth', 4)
    cfg = Config(dict(work_dir=str(tmp_path), resume=True, load_from=None))
    resolve_auto_resume(cfg)
    assert (cfg.resume, cfg.load_from) == (True, good)
    empty = tmp_path / 'empty'
    empty.mkdir()
    cfg = Config(dict(work_dir=str(empty), resume=True, load_from=None))
    notes = resolve_auto_resume(cfg)
    assert (cfg.resume, cfg.load_from) == (False, None) and 'from scratch' in notes[-1]
    cfg = Config(dict(work_dir=str(empty), resume=True, load_from='given.pth'))
    assert resolve_auto_resume(cfg) == [] and cfg.load_from == 'given.pth'
