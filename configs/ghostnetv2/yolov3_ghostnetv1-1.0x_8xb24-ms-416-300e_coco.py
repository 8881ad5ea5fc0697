# Ablation: the same YOLOv3 with GhostNetV1's architecture (no DFC attention),
# width 1.0x. Weights: see retinanet_ghostnetv1-1.0x_fpn_8xb2-1x_coco.py.
_base_ = './yolov3_ghostnetv2-1.0x_8xb24-ms-416-300e_coco.py'
model = dict(
    backbone=dict(
        dfc_stages=(),
        init_cfg=dict(checkpoint='checkpoints/ghostnetv1_1.0_imagenet_mm.pth')))
