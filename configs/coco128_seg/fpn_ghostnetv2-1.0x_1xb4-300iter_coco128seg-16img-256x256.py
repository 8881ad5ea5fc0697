# Learning check on real images: Semantic FPN + GhostNetV2-1.0 from scratch on the
# first 16 coco128_seg training images, 256x256 crops, batch 4, AdamW lr 1e-3 (poly
# decay over 300 iterations), evaluated on the same 16 images every 50 iterations.
# The numbers measure how fast 16 images are memorised, not segmentation accuracy
# (figures: docs/learning_logs.md). Unlike the parent, the training images are only
# resized to the evaluation scale and randomly cropped: scale jitter, flips and
# photometric distortion all fight memorisation.
_base_ = './fpn_ghostnetv2-1.0x_1xb4-2k_coco128seg-256x256.py'

num_images = 16
model = dict(backbone=dict(init_cfg=None))  # from scratch (the backbone's Kaiming)

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=_base_.scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=_base_.crop_size, cat_max_ratio=0.75),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(indices=num_images, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        indices=num_images,
        data_prefix=dict(img_path='images/training',
                         seg_map_path='annotations/training')))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=300, by_epoch=False)
]
train_cfg = dict(max_iters=300, val_interval=50)
default_hooks = dict(checkpoint=dict(interval=300))
randomness = dict(seed=0)
