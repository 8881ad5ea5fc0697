# Ablation: the same RetinaNet with GhostNetV1's architecture (no DFC attention,
# dfc_stages=()), width 1.0x. Weights: the authors' GhostNet (V1) release,
# converted with
#   python tools/model_converters/ghostnetv2_to_mm.py --v1 GHOSTNET_V1.pth \
#       checkpoints/ghostnetv1_1.0_imagenet_mm.pth
_base_ = './retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py'
model = dict(
    backbone=dict(
        dfc_stages=(),
        init_cfg=dict(checkpoint='checkpoints/ghostnetv1_1.0_imagenet_mm.pth')))
