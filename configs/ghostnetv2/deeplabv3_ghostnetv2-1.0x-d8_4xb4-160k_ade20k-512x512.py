# DeepLabV3 with a dilated GhostNetV2-1.0x backbone on ADE20K (150 classes),
# 512x512 crops: the GhostNetV2 paper's segmentation setting, which is mmseg's
# MobileNetV2 DeepLabV3 (mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512,
# 34.08 mIoU in mmseg's model zoo) with only the backbone changed:
# - output stride 8: the stride-16 and stride-32 stages keep stride 8 with
#   dilated depthwise and DFC convs (dilation 2 and 4), as MobileNetV2-d8;
# - the ASPP decode head reads the last stage (stride-32 stage end, in_index 3)
#   and the auxiliary FCN head the stride-16 stage end (in_index 2), the same
#   places as mmseg's MobileNetV2 out_indices (1, 2, 4, 6).
# Recipe unchanged: SGD lr 0.01, poly decay, 160k iterations, 4 GPUs x 4 images,
# SyncBN.
#   tools/dist_train.sh \
#       configs/ghostnetv2/deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py 4
#
# Weights: the authors' ImageNet GhostNetV2-1.0, converted once with
#   python tools/model_converters/ghostnetv2_to_mm.py ck_ghostnetv2_10.pth.tar \
#       checkpoints/ghostnetv2_1.0_imagenet_mm.pth
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py',
    '../_base_/ghostnetv2_channels.py',  # stage-end channels per width
    '../_base_/crash_safe.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,  # the base's MobileNetV2 weights; ours come via init_cfg
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),  # stage ends; strides 4, 8, 8, 8 here
        output_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    decode_head=dict(in_channels=_base_.ghostnetv2_channels['w10'][4]),
    auxiliary_head=dict(in_channels=_base_.ghostnetv2_channels['w10'][3]))

default_hooks = _base_.crash_safe_hooks

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
tta_pipeline = [test_pipeline[0]] + _base_.tta_pipeline[1:]  # --tta
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
