# YOLOv3 with a GhostNetV2-1.0x backbone on COCO 2017, multi-scale training
# (320-416) and 416 testing: the GhostNetV2 paper's detection setting, built on
# mmdet's YOLOv3-MobileNetV2 recipe (30 epochs x RepeatDataset 10, 8 GPUs x 24
# images, SGD lr 0.003, neck/head widths 96, its anchors and augmentation), so
# results line up with mmdet's MobileNetV2 row (23.9 box AP):
#   tools/dist_train.sh configs/yolov3_ghostnetv2_416_coco.py 8
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py',
    './_base_/ghostnetv2_channels.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

# ImageNet weights: see configs/retinanet_ghostnetv2_coco.py for the converter
# command; absent -> tools/train.py warns and trains from scratch.
model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        # Stride 8 / 16 / 32 stage ends, as MobileNetV2's out_indices (2, 4, 6).
        # ReLU (not the base's LeakyReLU): the ImageNet weights were trained so.
        out_indices=(2, 3, 4),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    # YOLOV3Neck takes the backbone outputs deepest first.
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][4:1:-1]))
