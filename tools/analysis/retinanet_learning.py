#!/usr/bin/env python
"""Does RetinaNet-GhostNetV2 learn from scratch on CPU? Train until it clearly detects.

    python tools/analysis/retinanet_learning.py [--max-iters 200] [--val-interval 50]
        [--time-cap-min 20] [--work-dir DIR] [--cfg-options k=v ...]

Trains configs/coco128/retinanet_ghostnetv2_8img_coco128.py (8 coco128 train
images at 256 px, batch 4, GroupNorm head, AdamW + warm-up, no augmentation)
through tools/train.py, validating on the same 8 images every
``--val-interval`` iterations, and stops at ``--max-iters`` or at the time
cap (the last checkpoint is kept either way). Then it runs tools/test.py on
the last checkpoint and counts boxes above the 0.05 score threshold.

Printed (and saved as learning_summary.json/.md in the work dir): per
validation, the iteration, the wall time, the training losses and the box mAP
on the 8 images (own annotations) and against the whole coco128 train json
(the issue's reference protocol). Outside CI: it takes tens of minutes on 2
cores. "Clearly detects" = mAP > 0 with boxes above the 0.05 threshold.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'coco128', 'retinanet_ghostnetv2_8img_coco128.py')
TRAIN_LINE = re.compile(r'Iter\(train\) \[\s*(\d+)/\d+\]')
VAL_LINE = re.compile(r'Iter\(val\) \[')
NUMBER = r'([-+0-9.eE]+|nan)'


def parse_values(line, keys):
    values = {}
    for key in keys:
        match = re.search(r'(?:^|\s)' + re.escape(key) + r': ' + NUMBER, line)
        if match:
            values[key] = float(match.group(1))
    return values


def train(args, work_dir):
    """Run tools/train.py under the time cap; return the validation records."""
    iters = args.max_iters
    options = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={args.val_interval}',
               f'default_hooks.checkpoint.interval={args.val_interval}']
    options += args.cfg_options or []
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), args.config,
           '--work-dir', work_dir, '--cfg-options'] + options
    print('[learning] ' + ' '.join(cmd), flush=True)
    start = time.time()
    records, last_train = [], {}
    with open(osp.join(work_dir, 'train_stdout.log'), 'w') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        stopped = False
        for line in proc.stdout:
            log.write(line)
            elapsed = time.time() - start
            if TRAIN_LINE.search(line):
                last_train = dict(iter=int(TRAIN_LINE.search(line).group(1)),
                                  **parse_values(line, ('loss', 'loss_cls', 'loss_bbox')))
                print(f'    {line.strip()[-160:]}', flush=True)
            elif VAL_LINE.search(line):
                record = dict(last_train, wall_s=round(elapsed, 1),
                              **parse_values(line, ('coco/bbox_mAP', 'coco/bbox_mAP_50',
                                                    'coco128_train/bbox_mAP')))
                records.append(record)
                print(f'[learning] iter {record.get("iter")}: {elapsed / 60:.1f} min, '
                      f'loss_cls {record.get("loss_cls")}, box mAP on the 8 images '
                      f'{record.get("coco/bbox_mAP")}, vs whole train json '
                      f'{record.get("coco128_train/bbox_mAP")}', flush=True)
            if not stopped and elapsed > args.time_cap_min * 60:
                print(f'[learning] time cap of {args.time_cap_min} min reached: stopping',
                      flush=True)
                proc.terminate()
                stopped = True
        proc.wait()
    return records, time.time() - start


def count_detections(work_dir, config, score_thr=0.05):
    """tools/test.py on the last checkpoint; boxes per image above ``score_thr``."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    out = osp.join(work_dir, 'last_results.pkl')
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), config, checkpoint,
                    '--work-dir', work_dir, '--out', out], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    counts = [int((s['pred_instances']['scores'] >= score_thr).sum()) for s in samples]
    return checkpoint, counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--max-iters', type=int, default=200)
    parser.add_argument('--val-interval', type=int, default=50)
    parser.add_argument('--time-cap-min', type=float, default=20)
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'retinanet_learning'))
    parser.add_argument('--cfg-options', nargs='+', help='extra tools/train.py options')
    args = parser.parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)

    records, wall = train(args, work_dir)
    checkpoint, counts = count_detections(work_dir, args.config)
    summary = dict(config=osp.relpath(args.config, REPO), cfg_options=args.cfg_options,
                   wall_s=round(wall, 1), validations=records, checkpoint=checkpoint,
                   boxes_above_0_05_per_image=counts)
    lines = ['| iteration | wall (min) | loss_cls | loss_bbox | box mAP, 8 images | '
             'box mAP, whole train json |', '|---|---|---|---|---|---|']
    for r in records:
        lines.append(f'| {r.get("iter")} | {r["wall_s"] / 60:.1f} | {r.get("loss_cls")} | '
                     f'{r.get("loss_bbox")} | {r.get("coco/bbox_mAP")} | '
                     f'{r.get("coco128_train/bbox_mAP")} |')
    clearly = bool(records) and (records[-1].get('coco/bbox_mAP') or 0) > 0 and sum(counts) > 0
    lines.append('')
    lines.append(f'last checkpoint {osp.basename(checkpoint)}: {sum(counts)} boxes above 0.05 '
                 f'on the 8 images ({counts}); clearly detects: {"yes" if clearly else "NO"}')
    table = '\n'.join(lines)
    print(table)
    summary['clearly_detects'] = clearly
    with open(osp.join(work_dir, 'learning_summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    with open(osp.join(work_dir, 'learning_summary.md'), 'w') as f:
        f.write(table + '\n')
    return summary


if __name__ == '__main__':
    main()
