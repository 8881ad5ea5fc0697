"""The scalars an mmengine run logs (``<work_dir>/<timestamp>/vis_data/scalars.json``)."""
import json
import os.path as osp
from glob import glob


def scalars_file(work_dir):
    """The newest run's ``scalars.json`` under ``work_dir``."""
    files = sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: not an '
                                f'mmengine work dir, or the run logged nothing yet')
    return files[-1]


def read_scalars(work_dir):
    """``(train, val)``: the newest run's logged training records (with ``loss``)
    and evaluation records (the others), each a dict with ``step``."""
    with open(scalars_file(work_dir)) as f:
        records = [json.loads(line) for line in f if line.strip()]
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'loss' not in r and 'lr' not in r]
    return train, val
