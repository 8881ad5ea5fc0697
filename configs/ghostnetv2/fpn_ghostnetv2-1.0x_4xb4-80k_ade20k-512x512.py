# Semantic FPN with a GhostNetV2-1.0 backbone on ADE20K (150 classes), 512x512 crops.
#
# Everything but the backbone and the schedule is mmseg's Semantic FPN on ADE20K
# (fpn_r50_4xb4-160k_ade20k-512x512: FPN 256 ch, FPNHead 128 ch, SyncBN, the ADE20K
# pipeline). The FPN is fed by the four stride-4/8/16/32 stage ends.
#
# Schedule: 80k iterations at batch 16 (4 GPUs x 4 images) with AdamW (lr 1e-4,
# weight decay 1e-4, poly decay power 0.9 to 0), the Semantic FPN protocol of
# PVT that later backbone papers (PoolFormer, EfficientFormer, ...) report light
# backbones with, so results compare with theirs. For mmseg's own SGD 160k
# recipe (to compare with its model zoo) use the 160k config.
#
# Weights: the authors' ImageNet GhostNetV2-1.0, converted once with
#   python tools/model_converters/ghostnetv2_to_mm.py ck_ghostnetv2_10.pth.tar \
#       checkpoints/ghostnetv2_1.0_imagenet_mm.pth
_base_ = [
    'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
    '../_base_/ghostnetv2_channels.py',  # stage-end channels per width
    '../_base_/crash_safe.py',
]
custom_imports = dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)

# SyncBN as mmseg's configs: synchronised across GPUs under DDP; mmengine's Runner
# turns it into plain BN for single-process runs.
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,  # the stock base's ResNet weights; ours come via init_cfg
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/ghostnetv2_1.0_imagenet_mm.pth')),
    # FPN inputs = channels of out_indices 1-4 (stride 4/8/16/32) at this width.
    neck=dict(in_channels=_base_.ghostnetv2_channels['w10'][1:5]))

optimizer = dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                 weight_decay=1e-4)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=80000, by_epoch=False)
]
train_cfg = dict(max_iters=80000, val_interval=8000)
default_hooks = dict(_base_.crash_safe_hooks,
                     checkpoint=dict(type='AtomicCheckpointHook', interval=8000))
# train_dataloader.batch_size (4 per GPU) x 4 GPUs; `--auto-scale-lr` rescales
# the lr linearly for other totals.
auto_scale_lr = dict(enable=False, base_batch_size=16)

# Checked image reading and crash-safe checkpoints (../_base_/crash_safe.py).
train_pipeline = [_base_.checked_train_loading] + _base_.train_pipeline[1:]
test_pipeline = [_base_.checked_test_loading] + _base_.test_pipeline[1:]
tta_pipeline = [test_pipeline[0]] + _base_.tta_pipeline[1:]  # --tta
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
