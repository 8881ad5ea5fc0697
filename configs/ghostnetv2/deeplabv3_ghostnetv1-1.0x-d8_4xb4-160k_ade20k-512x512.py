# Ablation: the same DeepLabV3 with GhostNetV1-1.0x (GhostNetV2 without DFC
# attention, dfc_stages=()), from GhostNetV1 ImageNet weights converted with
#   python tools/model_converters/ghostnetv2_to_mm.py --v1 GHOSTNET_V1.pth \
#       checkpoints/ghostnetv1_1.0_imagenet_mm.pth
_base_ = './deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py'

model = dict(
    backbone=dict(
        dfc_stages=(),
        init_cfg=dict(checkpoint='checkpoints/ghostnetv1_1.0_imagenet_mm.pth')))
