# Learning check on real images for the dilated backbone: the DeepLabV3 model of
# ../ghostnetv2/deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py (output
# stride 8, DFC gates in dilated stages), from scratch, with exactly the data,
# optimizer and schedule of the Semantic FPN check beside it
# (fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py): the first 16
# coco128_seg training images, resized and randomly cropped to 256x256, batch 4,
# AdamW lr 1e-3 with poly decay over 300 iterations, mIoU on the same 16 images
# every 50 iterations. It measures memorisation, not accuracy (figures:
# docs/paper_rows.md).
_base_ = '../ghostnetv2/deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py'

data_root = '{{$COCO128_SEG_ROOT:{{ fileDirname }}/../../../shared/data/coco128_seg}}'
dataset_type = 'SegFolderDataset'  # class names read from data_root/classes.txt
num_classes = 133
num_images = 16
crop_size = (256, 256)
scale = (1024, 256)  # mmseg's ADE20K scale, halved with the crop

data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(init_cfg=None),  # from scratch (the backbone's Kaiming init)
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadAnnotations'),  # reduce_zero_label comes from the dataset
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
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
    dataset=dict(type=dataset_type, data_root=data_root, indices=num_images,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        indices=num_images,
        data_prefix=dict(img_path='images/training',
                         seg_map_path='annotations/training'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

optimizer = dict(_delete_=True, type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                 weight_decay=1e-4)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=300, by_epoch=False)
]
train_cfg = dict(max_iters=300, val_interval=50)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=300, max_keep_ckpts=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
randomness = dict(seed=0)
