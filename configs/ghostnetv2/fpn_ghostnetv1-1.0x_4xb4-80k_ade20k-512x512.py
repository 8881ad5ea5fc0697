# Ablation: the same Semantic FPN and schedule with GhostNetV1-1.0 (GhostNetV2 without
# DFC attention, dfc_stages=()), from GhostNetV1 ImageNet weights converted with
#   python tools/model_converters/ghostnetv2_to_mm.py --v1 GHOSTNET_V1.pth \
#       checkpoints/ghostnetv1_1.0_imagenet_mm.pth
_base_ = './fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'

model = dict(
    backbone=dict(
        dfc_stages=(),
        init_cfg=dict(checkpoint='checkpoints/ghostnetv1_1.0_imagenet_mm.pth')))
