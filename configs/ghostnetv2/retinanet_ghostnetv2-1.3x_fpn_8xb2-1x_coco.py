# RetinaNet-GhostNetV2 at width 1.3x; otherwise the 1.0x config.
_base_ = './retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py'
model = dict(
    backbone=dict(
        widen_factor=1.3,
        init_cfg=dict(checkpoint='checkpoints/ghostnetv2_1.3_imagenet_mm.pth')),
    neck=dict(in_channels=_base_.ghostnetv2_channels['w13'][2:5]))
