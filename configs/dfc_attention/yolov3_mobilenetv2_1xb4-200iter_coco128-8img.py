# Learning check from scratch on CPU for the attention ablation: the model of
# yolov3_mobilenetv2_8xb24-320-300e_coco.py (attention=None) with the protocol
# and optimizer of the YOLOv3-GhostNetV2 check it inherits (8 coco128 images at
# 256 px, batch 4, AdamW 2e-3, 200 iterations; ../_base_/datasets/coco128_8img.py).
# Choose the gate on the command line, e.g.
#   python tools/train.py configs/dfc_attention/yolov3_mobilenetv2_1xb4-200iter_coco128-8img.py \
#       --cfg-options model.backbone.attention=dfc     # or se, cbam, ca
_base_ = '../coco128/yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'

model = dict(
    # the baseline's backbone (mmdet's MobileNetV2 settings), from scratch
    backbone=dict(
        _delete_=True,
        type='AttentionMobileNetV2',
        attention=None,
        out_indices=(2, 4, 6),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    neck=dict(in_channels=[320, 96, 32]))
