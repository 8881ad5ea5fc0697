# Semantic FPN + GhostNetV2-1.3 on ADE20K (80k iterations, batch 16, AdamW).
_base_ = './fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'

model = dict(
    backbone=dict(
        widen_factor=1.3,
        init_cfg=dict(checkpoint='checkpoints/ghostnetv2_1.3_imagenet_mm.pth')),
    neck=dict(in_channels=_base_.ghostnetv2_channels['w13'][1:5]))
