# Baseline of the attention ablation: mmdet's YOLOv3-MobileNetV2 320 (22.2 box AP
# in mmdet's model zoo), unchanged but for the backbone's class.
# AttentionMobileNetV2 with attention=None is mmdet's MobileNetV2 exactly (same
# parameters and outputs); its siblings here gate every inverted residual's
# expanded features with DFC, SE, CBAM or coordinate attention, all else equal.
#   tools/dist_train.sh configs/dfc_attention/yolov3_mobilenetv2_8xb24-320-300e_coco.py 8
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py', '../_base_/crash_safe.py']
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

model = dict(backbone=dict(type='AttentionMobileNetV2', attention=None))

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = _base_.crash_safe_hooks
