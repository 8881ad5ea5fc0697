"""``--resume`` without a path: the newest checkpoint of the work dir that can
actually be read, never a silent fresh start while checkpoints exist."""
import os.path as osp
import re
from glob import escape, glob

from ..checkpoint import load_training_checkpoint

# the periodic checkpoints of (Atomic)CheckpointHook's default filename_tmpl
CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


class NoReadableCheckpointError(RuntimeError):
    """Checkpoints exist, but none of them can be resumed from."""


def _step(path):
    match = CHECKPOINT_NAME.match(osp.basename(path))
    return int(match.group(2)) if match else -1


def resume_candidates(work_dir):
    """``(candidates, notes)``: the paths to try, newest first, and notes on
    what ``last_checkpoint`` names but is missing.

    The newest is the highest step among ``iter_*.pth`` / ``epoch_*.pth`` in
    the work dir and in the folder ``last_checkpoint`` points to (a hook's
    ``out_dir``); a file ``last_checkpoint`` names under another name comes first.
    """
    notes = []
    folders = [work_dir]
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named and not osp.isfile(named):
            notes.append(f'last_checkpoint names {named}, which does not exist')
            named = None
        elif named:
            folders.append(osp.dirname(named))
    found = {osp.abspath(p) for folder in folders
             for p in glob(osp.join(escape(folder), '*.pth')) if _step(p) >= 0}
    candidates = sorted(found, key=lambda p: (_step(p), p), reverse=True)
    if named and osp.abspath(named) not in found:
        candidates.insert(0, osp.abspath(named))
    return candidates, notes


def find_resume_checkpoint(work_dir, loader=load_training_checkpoint):
    """``(path, notes)``: the newest checkpoint in ``work_dir`` that ``loader``
    reads in full, and one note per file skipped (with the reason) or about a
    stale ``last_checkpoint``. ``path`` is None when the work dir holds no
    checkpoint; :class:`NoReadableCheckpointError` (listing each file and why)
    when it holds some but none is readable.
    """
    candidates, notes = resume_candidates(work_dir)
    if not candidates:
        notes.append(f'no checkpoint (iter_*.pth, epoch_*.pth) in {work_dir}: '
                     f'training starts from scratch')
        return None, notes
    for path in candidates:
        try:
            checkpoint = loader(path)
            if not isinstance(checkpoint, dict) or 'meta' not in checkpoint:
                raise ValueError('not an mmengine training checkpoint (no meta)')
        except Exception as err:  # a truncated zip, a refused pickle, ...
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ''
            notes.append(f'skipping {path}: unreadable ({type(err).__name__}: {reason})')
            continue
        if path != candidates[0]:
            notes.append(f'resuming from {path}, the newest readable checkpoint')
        return path, notes
    raise NoReadableCheckpointError(
        f'--resume: none of the {len(candidates)} checkpoint(s) in {work_dir} can be '
        f'read, so the run cannot continue:\n  ' + '\n  '.join(notes) +
        '\nResume from a good copy with --resume PATH, or move them away to '
        'start from scratch.')


def resolve_auto_resume(cfg):
    """``--resume`` without a path: point ``cfg.load_from`` at the newest
    readable checkpoint of ``cfg.work_dir`` (or turn resuming off when there is
    none); the notes to log. Configs that name a checkpoint are left alone."""
    if not cfg.get('resume') or cfg.get('load_from'):
        return []
    path, notes = find_resume_checkpoint(cfg.work_dir)
    cfg.load_from = path
    cfg.resume = path is not None
    return notes
