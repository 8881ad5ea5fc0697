# YOLOv3-GhostNetV2-1.0x at 320x320 on COCO 2017: mmdet's YOLOv3-MobileNetV2 320
# recipe (its 320 anchors and pipeline), otherwise as the multi-scale 416 config.
#   tools/dist_train.sh configs/ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py 8
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
    '../_base_/ghostnetv2_channels.py',
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
