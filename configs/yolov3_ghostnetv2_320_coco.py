# YOLOv3 with a GhostNetV2-1.0x backbone on COCO 2017 at 320x320: the GhostNetV2
# paper's detection setting, built on mmdet's YOLOv3-MobileNetV2 320 recipe
# (its 320 anchors and pipeline; 30 epochs x RepeatDataset 10, 8 GPUs x 24
# images, SGD lr 0.003), so results line up with mmdet's MobileNetV2 row
# (22.2 box AP):
#   tools/dist_train.sh configs/yolov3_ghostnetv2_320_coco.py 8
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
    './_base_/ghostnetv2_channels.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

# Same backbone as configs/yolov3_ghostnetv2_416_coco.py (see it for the notes).
model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(2, 3, 4),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][4:1:-1]))
