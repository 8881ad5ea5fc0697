# Ablation: the same YOLOv3 with GhostNetV1's architecture (no DFC attention),
# width 1.0x; otherwise configs/yolov3_ghostnetv2_416_coco.py. Weights: see
# configs/retinanet_ghostnetv1_coco.py.
_base_ = './yolov3_ghostnetv2_416_coco.py'
model = dict(
    backbone=dict(
        dfc_stages=(),
        init_cfg=dict(checkpoint='checkpoints/ghostnetv1_1.0_imagenet_mm.pth')))
