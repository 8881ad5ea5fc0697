#!/usr/bin/env python
"""Does a config learn on the small real data? Train it and tabulate its logs.

    python .dev_scripts/learning_check.py CONFIG [--max-iters 200] [--val-interval 50]
        [--work-dir DIR] [--cfg-options k=v ...]

Runs tools/train.py on CONFIG (one of the small-data learning checks, e.g.
configs/coco128/retinanet_ghostnetv2-1.0x_fpn-gnhead_1xb4-200iter_coco128-8img.py),
validating every ``--val-interval`` iterations, then prints, from the run's
``vis_data/scalars.json``, the training loss near each validation and every
metric it logged, as a Markdown table (also saved as learning_summary.md / .json
in the work dir). For docs/learning_logs.md; it takes minutes to tens of
minutes on a CPU.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from ghostnetv2_mm.analysis import read_scalars  # noqa: E402

SKIP = {'step', 'data_time', 'time', 'iter', 'epoch', 'memory', 'lr'}


def summarize(work_dir):
    """One row per validation: its iteration, the last logged training losses
    before it, and its metrics."""
    train, val = read_scalars(work_dir)
    rows = []
    for record in val:
        before = [t for t in train if t['step'] <= record['step']]
        losses = {k: v for k, v in (before[-1] if before else {}).items()
                  if k.startswith('loss')}
        metrics = {k: v for k, v in record.items() if k not in SKIP}
        rows.append(dict(iter=record['step'], **losses, **metrics))
    return rows


def markdown(rows):
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
    for row in rows:
        lines.append('| ' + ' | '.join(
            f'{row[k]:.4g}' if isinstance(row.get(k), float) else str(row.get(k, ''))
            for k in keys) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--max-iters', type=int)
    parser.add_argument('--val-interval', type=int)
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='more tools/train.py --cfg-options')
    args = parser.parse_args(argv)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = osp.abspath(args.work_dir or osp.join(REPO, 'work_dirs', 'learning', name))
    os.makedirs(work_dir, exist_ok=True)
    options = list(args.cfg_options)
    if args.max_iters:
        options.append(f'train_cfg.max_iters={args.max_iters}')
    if args.val_interval:
        options += [f'train_cfg.val_interval={args.val_interval}',
                    f'default_hooks.checkpoint.interval={args.val_interval}']
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), args.config,
           '--work-dir', work_dir] + (['--cfg-options'] + options if options else [])
    print('[learning] ' + ' '.join(cmd), flush=True)
    start = time.time()
    with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
        code = subprocess.call(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    if code:
        sys.exit(f'[learning] training failed (exit {code}): {work_dir}/train_stdout.log')
    rows = summarize(work_dir)
    table = markdown(rows)
    print(table)
    print(f'[learning] {(time.time() - start) / 60:.1f} min; {work_dir}')
    with open(osp.join(work_dir, 'learning_summary.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'learning_summary.json'), 'w') as f:
        json.dump(dict(config=args.config, cfg_options=options, rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
