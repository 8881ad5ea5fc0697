# Semantic FPN + GhostNetV2-1.0 on ADE20K with mmseg's own recipe, exactly that of
# mmseg's fpn_r50_4xb4-160k_ade20k-512x512 (R-50: 37.49 mIoU in its model zoo):
# SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly decay (power 0.9) to 1e-4
# over 160k iterations at batch 16 (4 GPUs x 4). Only the backbone differs.
_base_ = './fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'

optimizer = dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9,
                 weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)
]
train_cfg = dict(max_iters=160000, val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
