# The model and pipelines of ../ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py
# on coco128: train on its 128 train2017 images, validate / test on its 100
# annotated val2017 images; only the data root, the schedule and the batch size
# change. Data root: $COCO128_ROOT, else ../shared/data/coco128 beside the
# checkout; `--cfg-options data_root=DIR` re-roots every path below.
_base_ = '../ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py'

data_root = '{{$COCO128_ROOT:{{ fileDirname }}/../../../shared/data/coco128}}/'
train_dataloader = dict(
    batch_size=4, num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# 12 epochs of 32 iterations (batch 4); the base's lr 0.01 is for 8 x 2 images
# (`--auto-scale-lr` scales it to the batch actually used).
train_cfg = dict(max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=12))
log_processor = dict(window_size=10)
