# DeepLabV3-GhostNetV2-1.0x at output stride 16: only the stride-32 stage is
# dilated (dilation 2), so the heads run on 32x32 maps instead of 64x64 (about a
# quarter of the head's cost); otherwise the d8 config.
_base_ = './deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py'

model = dict(backbone=dict(output_stride=16))
