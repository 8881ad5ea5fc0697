# Semantic FPN + GhostNetV2-1.0 on the small real data set coco128_seg (ADE20K layout:
# images/{training,validation}/*.jpg, annotations/.../*.png, 0 = unlabeled, 1..133 =
# the COCO panoptic classes listed in its classes.txt). Same model and pipeline as
# ../ghostnetv2/fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py; only the data, the
# classes and the schedule change: 256x256 crops (the pipeline's scales halved to
# match), batch 4, AdamW lr 1e-3, 2000 iterations on the 100 training images, mIoU on
# the 100 validation images.
#
# Data root: $COCO128_SEG_ROOT, else ../shared/data/coco128_seg beside the checkout;
# tools/train.py and tools/test.py also take --cfg-options data_root=DIR (which
# re-roots every dataloader). A missing root fails at once, naming the path.
_base_ = '../ghostnetv2/fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'

data_root = '{{$COCO128_SEG_ROOT:{{ fileDirname }}/../../../shared/data/coco128_seg}}'
dataset_type = 'SegFolderDataset'  # class names read from data_root/classes.txt
num_classes = 133                  # = lines of classes.txt (checked by the tests)
crop_size = (256, 256)
scale = (1024, 256)

data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),  # image checks as in the parent
    dict(type='LoadAnnotations'),  # reduce_zero_label comes from the dataset
    dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image')),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optimizer = dict(lr=1e-3)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=2000, by_epoch=False)
]
train_cfg = dict(max_iters=2000, val_interval=500)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=500, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=4)
