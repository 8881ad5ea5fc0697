# YOLOv3-GhostNetV2-1.0x at 320x320 on COCO 2017: mmdet's YOLOv3-MobileNetV2 320
# recipe (its 320 anchors and pipeline), otherwise as the multi-scale 416 config.
#   tools/dist_train.sh configs/ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py 8
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
    '../_base_/ghostnetv2_channels.py',
    '../_base_/crash_safe.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(2, 3, 4),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][4:1:-1]))

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = _base_.crash_safe_hooks
