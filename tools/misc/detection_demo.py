#!/usr/bin/env python
"""The README's main job: YOLOv3-GhostNetV2 learns to detect on real images, on CPU.

Runs the project's own command-line tools, as a user would:
  1. tools/train.py   configs/coco128/yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py
     (from scratch: 8 coco128 train2017 images at 256 px, batch 4, AdamW)
  2. tools/test.py    on the same 8 images, saving the predictions (--out)
  3. tools/analysis/coco_map.py's tables for those predictions
  4. a picture of 4 of them: ground truth (left) and predictions (right)

The mAP is on the images the model was trained on: it proves that the model
and the pipeline learn, it is not COCO accuracy (no ImageNet or COCO weights
can be had on the machines this runs on).
"""
import argparse
import contextlib
import io
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'coco128',
                  'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py')


def log(msg):
    print(f'[demo] {msg}', flush=True)


def run_tool(args, log_file):
    """Run a tool with its whole output in ``log_file``; its tail if it fails."""
    env = dict(os.environ)
    if (os.cpu_count() or 1) <= 2:
        # Two threads on two (shared) cores wait on each other at every op and
        # run several times slower than one when anything else is running.
        env.setdefault('OMP_NUM_THREADS', '1')
    log(' '.join(osp.relpath(a, REPO) if osp.isabs(a) and a.startswith(REPO) else a
                 for a in ['python'] + args))
    with open(log_file, 'w') as out:
        code = subprocess.call([sys.executable] + args, cwd=REPO, env=env, stdout=out,
                               stderr=subprocess.STDOUT)
    if code:
        with open(log_file) as f:
            print(''.join(f.readlines()[-30:]), end='')
        raise SystemExit(f'[demo] failed (exit {code}); full log: {log_file}')


def print_learning(work_dir):
    """The run's logged losses and box mAP (its vis_data/scalars.json)."""
    from ghostnetv2_mm.analysis import read_scalars
    train, val = read_scalars(work_dir)
    for record in train[::5] + ([train[-1]] if len(train) % 5 != 1 else []):
        print(f'    iter {record["step"]:4d}  loss {record["loss"]:.2f}', flush=True)
    for record in val:
        print(f'    iter {record["step"]:4d}  box mAP on the 8 images '
              f'{record["coco/bbox_mAP"]:.3f}, against the whole coco128 train json '
              f'{record["coco128_train/bbox_mAP"]:.3f}', flush=True)


def draw_pictures(results, out_file, num_images=4, score_thr=0.3):
    """Ground truth (left) and predictions (right) of the first test images,
    drawn by mmdet's visualizer (boxes clipped to the image), one under the other."""
    import mmcv
    import numpy as np
    import torch
    from mmdet.datasets import CocoDataset
    from mmdet.structures import DetDataSample
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.structures import InstanceData

    from ghostnetv2_mm.visualization.inference import clip_boxes
    visualizer = DetLocalVisualizer(name=f'demo_{time.time_ns()}')
    visualizer.dataset_meta = dict(CocoDataset.METAINFO)
    rows = []
    for sample in results[:num_images]:
        image = mmcv.imread(sample['img_path'], channel_order='rgb')
        gt = [g for g in sample['instances'] if not g['ignore_flag']]
        drawn = DetDataSample(
            gt_instances=InstanceData(
                bboxes=torch.tensor([g['bbox'] for g in gt]).reshape(-1, 4),
                labels=torch.tensor([g['bbox_label'] for g in gt])),
            pred_instances=InstanceData(**sample['pred_instances']))
        visualizer.add_datasample('demo', image, clip_boxes(drawn, image.shape),
                                  pred_score_thr=score_thr)
        rows.append(visualizer.get_image()[..., ::-1])  # RGB -> BGR for imwrite
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    mmcv.imwrite(np.concatenate(rows), out_file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo_yolov3'))
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations (default: the config\'s)')
    parser.add_argument('--data-root', help='coco128 folder (default: $COCO128_ROOT, else '
                                            '$GHOSTNETV2_SHARED/data/coco128, else '
                                            '../shared/data/coco128 beside the checkout)')
    args = parser.parse_args(argv)
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)

    from mmengine.fileio import load
    from mmengine.logging import MMLogger

    from ghostnetv2_mm.evaluation.coco_results import format_tables, score_detections

    options = []
    data_root = args.data_root or os.environ.get('COCO128_ROOT') or osp.join(
        os.environ.get('GHOSTNETV2_SHARED', osp.join(REPO, '..', 'shared')), 'data', 'coco128')
    if not osp.isfile(osp.join(data_root, 'annotations', 'instances_train2017.json')):
        raise SystemExit(f'[demo] coco128 not found at {osp.abspath(data_root)}: put the shared '
                         f'data beside the checkout as ../shared, or set GHOSTNETV2_SHARED, '
                         f'COCO128_ROOT or --data-root')
    options.append(f'data_root={osp.abspath(data_root)}')
    if args.iters:
        options += [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                    f'default_hooks.checkpoint.interval={args.iters}']
    cfg_options = ['--cfg-options'] + options if options else []

    log(f'1/4 training YOLOv3-GhostNetV2 from scratch on 8 coco128 images (CPU); '
        f'full log in {work_dir}/train.log')
    run_tool([osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir', work_dir]
             + cfg_options, osp.join(work_dir, 'train.log'))
    print_learning(work_dir)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    train_end = time.time()

    log('2/4 testing on the same 8 images')
    results_file = osp.join(work_dir, 'results.pkl')
    run_tool([osp.join(REPO, 'tools', 'test.py'), CONFIG, checkpoint, '--work-dir', work_dir,
              '--out', results_file] + cfg_options, osp.join(work_dir, 'test.log'))

    log('3/4 COCO box mAP of those predictions (tools/analysis/coco_map.py)')
    results = load(results_file)
    MMLogger.get_instance('demo', log_level='WARNING')  # the metric's own chatter
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' progress lines
        metrics = score_detections(results)
    print(format_tables(metrics))

    log('4/4 drawing 4 of them: ground truth (left), predictions (right)')
    picture = osp.join(work_dir, 'predictions.png')
    draw_pictures(results, picture)

    log(f'training took {train_end - start:.0f} s, everything {time.time() - start:.0f} s')
    log(f'box mAP on the 8 training images: {metrics.get("bbox_mAP", 0.0):.3f} '
        f'(mAP@0.5 {metrics.get("bbox_mAP_50", 0.0):.3f}); untrained it is 0.000. It measures '
        f'learning (memorising 8 images), not COCO accuracy')
    log(f'checkpoint: {checkpoint}')
    log(f'picture (boxes scoring >= 0.3): {picture}')
    return metrics, picture


if __name__ == '__main__':
    main()
