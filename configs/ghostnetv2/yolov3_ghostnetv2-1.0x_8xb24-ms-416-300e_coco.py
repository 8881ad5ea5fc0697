# YOLOv3 with a GhostNetV2-1.0x backbone on COCO 2017, multi-scale (320-416)
# training and 416 testing: the GhostNetV2 paper's detection setting, on mmdet's
# YOLOv3-MobileNetV2 recipe (30 epochs x RepeatDataset 10, 8 GPUs x 24 images,
# SGD lr 0.003, neck / head 96 channels, its anchors and augmentation).
#   tools/dist_train.sh configs/ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-ms-416-300e_coco.py 8
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py',
    '../_base_/ghostnetv2_channels.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

# ImageNet weights: see the RetinaNet config for the converter command.
model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        # Stride 8 / 16 / 32 stage ends, as MobileNetV2's out_indices (2, 4, 6).
        # ReLU (not the base's LeakyReLU): the ImageNet weights were trained so.
        out_indices=(2, 3, 4),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    # YOLOV3Neck takes the backbone outputs deepest first.
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][4:1:-1]))

# Reading images (docs/training.md): training through LoadCheckedImageFromFile,
# which stops at an unreadable image naming the file (on_error='skip' trains on
# another one instead, counting them in the log); testing through the stock
# LoadImageFromFile, whose type mmdet's inferencer looks for, and the checking
# file backend, which refuses empty and truncated images by name.
train_pipeline = [dict(type='LoadCheckedImageFromFile')] + _base_.train_pipeline[1:]
test_pipeline = [dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image'))] \
    + _base_.test_pipeline[1:]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Crash-safe checkpoints (written atomically, old ones deleted only after the
# new one is complete) that carry the random state, so that `--resume`
# continues as the uninterrupted run would have (docs/training.md).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'),
                     random_state=dict(type='RandomStateHook'))
