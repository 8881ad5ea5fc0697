# DeepLabV3-GhostNetV2 at width 1.6x, output stride 8; otherwise the 1.0x config.
_base_ = './deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py'

model = dict(
    backbone=dict(
        widen_factor=1.6,
        init_cfg=dict(checkpoint='checkpoints/ghostnetv2_1.6_imagenet_mm.pth')),
    decode_head=dict(in_channels=_base_.ghostnetv2_channels['w16'][4]),
    auxiliary_head=dict(in_channels=_base_.ghostnetv2_channels['w16'][3]))
