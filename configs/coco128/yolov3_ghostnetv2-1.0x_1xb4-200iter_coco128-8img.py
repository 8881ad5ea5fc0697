# Learning check from scratch on CPU (`make demo`, tests): the YOLOv3-GhostNetV2
# model of ../ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py on the
# 8-image setting of ../_base_/datasets/coco128_8img.py, with AdamW 2e-3.
_base_ = [
    '../ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py',
    '../_base_/datasets/coco128_8img.py',
]
data_root = _base_.learning_check.data_root
model = dict(backbone=dict(init_cfg=None))  # from scratch: no ImageNet weights here

train_dataloader = _base_.learning_check.train_dataloader
val_dataloader = _base_.learning_check.val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.learning_check.val_evaluator
test_evaluator = val_evaluator
train_cfg = _base_.learning_check.train_cfg
default_hooks = _base_.learning_check.default_hooks
log_processor = _base_.learning_check.log_processor
auto_scale_lr = _base_.learning_check.auto_scale_lr

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20)]
