# YOLOv3-GhostNetV2 at width 1.6x; otherwise the 1.0x config.
_base_ = './yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py'
model = dict(
    backbone=dict(
        widen_factor=1.6,
        init_cfg=dict(checkpoint='checkpoints/ghostnetv2_1.6_imagenet_mm.pth')),
    neck=dict(in_channels=_base_.ghostnetv2_channels['w16'][4:1:-1]))
