# RetinaNet + FPN with a GhostNetV2-1.0x backbone on COCO 2017, mmdet's 1x
# schedule (12 epochs, 8 GPUs x 2 images, SGD lr 0.01), all from the stock base:
# the setting of the RetinaNet rows the GhostNet papers compare with.
#   tools/dist_train.sh configs/ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py 8
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/ghostnetv2_channels.py',
    '../_base_/crash_safe.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

# ImageNet weights, converted once from the authors' release with
#   python tools/model_converters/ghostnetv2_to_mm.py ck_ghostnetv2_10.pth.tar \
#       checkpoints/ghostnetv2_1.0_imagenet_mm.pth
# If the file is absent, tools/train.py warns and trains from scratch.
model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(2, 3, 4),  # stride 8 / 16 / 32 stage ends feed the FPN
        frozen_stages=1,  # stem + stride-4 stage, like ResNet's frozen_stages=1
        norm_eval=True,
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    # P3-P5 from the three stage ends, P6/P7 from extra convs, as for ResNet
    # (where C2 is skipped with start_level=1).
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][2:5], start_level=0))

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
tta_pipeline = [test_pipeline[0]] + _base_.tta_pipeline[1:]  # --tta
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = _base_.crash_safe_hooks
