# The model, anchors and pipelines of ../ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-ms-416-300e_coco.py
# on coco128: train on its 128 train2017 images, validate / test on its 100
# annotated val2017 images; only the data root, the schedule and the batch size
# change. Data root: $COCO128_ROOT, else ../shared/data/coco128 beside the
# checkout; `--cfg-options data_root=DIR` re-roots every path below.
_base_ = '../ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-ms-416-300e_coco.py'

data_root = '{{$COCO128_ROOT:{{ fileDirname }}/../../../shared/data/coco128}}/'
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(times=1, dataset=dict(data_root=data_root)))
val_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# 24 epochs of 16 iterations (batch 8); the base's lr 0.003 is for 8 x 24
# images (`--auto-scale-lr` scales it to the batch actually used).
train_cfg = dict(max_epochs=24, val_interval=24)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=True, milestones=[18, 22], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=24))
log_processor = dict(window_size=10)
