# RetinaNet-R50 + FPN (36.5 box AP in mmdet's model zoo, 1x schedule) with DFC
# attention as an mmcv plug-in: after conv2 (the 3x3 conv) of every bottleneck of
# stages c3-c5, DFCAttention gates the bottleneck's features with a gate computed
# from them (the same DFCAttention class as GhostNetV2's). Stage c2 gets none:
# frozen_stages=1 would freeze its gates at their random init.
# The gates normalise with GroupNorm, not BN: the stock recipe keeps every BN of
# the backbone in eval mode (norm_eval=True), which would leave a BN gate's
# statistics at their initial 0 / 1 for the whole run.
# The ImageNet ResNet-50 weights load with the gate keys reported missing.
#   tools/dist_train.sh configs/dfc_attention/retinanet_r50-dfc-c3-c5_fpn_8xb2-1x_coco.py 8
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', '../_base_/crash_safe.py']
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        plugins=[
            dict(cfg=dict(type='DFCAttention',
                          norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
                 stages=(False, True, True, True),
                 position='after_conv2')
        ]))

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
tta_pipeline = [test_pipeline[0]] + _base_.tta_pipeline[1:]  # --tta
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = _base_.crash_safe_hooks
