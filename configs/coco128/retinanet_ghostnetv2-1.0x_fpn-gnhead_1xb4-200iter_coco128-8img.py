# Learning check from scratch on CPU: the RetinaNet-GhostNetV2 model of
# ../ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py on the 8-image
# setting of ../_base_/datasets/coco128_8img.py. Stock RetinaNet stalls there from
# scratch (focal-loss plateau: no box above the 0.05 score threshold after 500
# iterations); what makes it learn: GroupNorm in the head's conv towers, AdamW
# with a linear warm-up, no augmentation.
_base_ = [
    '../ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py',
    '../_base_/datasets/coco128_8img.py',
]
data_root = _base_.learning_check.data_root
model = dict(
    # from scratch: nothing frozen, BN in train mode, default init
    backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False),
    bbox_head=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))

train_dataloader = _base_.learning_check.train_dataloader
val_dataloader = _base_.learning_check.val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.learning_check.val_evaluator
test_evaluator = val_evaluator
train_cfg = dict(_base_.learning_check.train_cfg, val_interval=50)
default_hooks = _base_.learning_check.default_hooks
log_processor = _base_.learning_check.log_processor
auto_scale_lr = _base_.learning_check.auto_scale_lr

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50)]
