# The 8-image learning check shared by the detection configs in coco128/: train
# from scratch on the first 8 coco128 train2017 images at 256 px, batch 4, no
# augmentation, seeded and deterministic, and score the same 8 images two ways.
# It shows that a model and its pipeline learn; the numbers measure how well 8
# images are memorised, not COCO accuracy. A child inherits this file beside a
# full detector config and takes each entry of `learning_check` as the
# top-level setting of the same name (mmengine forbids the same key in two bases).
coco128_root = '{{$COCO128_ROOT:{{ fileDirname }}/../../../../shared/data/coco128}}/'
learning_check = dict(
    data_root=coco128_root,
    train_dataloader=dict(
        _delete_=True,
        batch_size=4,
        num_workers=0,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            type='CocoDataset',
            data_root=coco128_root,
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            indices=8,  # the first 8 annotated images
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[
                dict(type='LoadCheckedImageFromFile'),  # see docs/training.md
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='Resize', scale=(256, 256), keep_ratio=True),
                dict(type='PackDetInputs'),
            ])),
    val_dataloader=dict(
        _delete_=True,
        batch_size=4,
        num_workers=0,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='CocoDataset',
            data_root=coco128_root,
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            indices=8,
            test_mode=True,
            # 'instances' (the image's own annotations) travel with each
            # prediction, so the first metric scores exactly these images
            pipeline=[
                dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image')),
                dict(type='Resize', scale=(256, 256), keep_ratio=True),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs',
                     meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                'scale_factor', 'instances')),
            ])),
    val_evaluator=[
        # coco/bbox_mAP: the 8 images against their own annotations
        dict(type='CocoMetric', metric='bbox'),
        # coco128_train/bbox_mAP: the same predictions against the whole coco128
        # train json; the 118 images without predictions cap it near 0.05
        dict(type='CocoMetric', metric='bbox', prefix='coco128_train',
             ann_file=coco128_root + 'annotations/instances_train2017.json'),
    ],
    train_cfg=dict(_delete_=True, type='IterBasedTrainLoop', max_iters=200,
                   val_interval=200),
    # metrics logged at their iteration (mmdet's logger logs them by epoch)
    default_hooks=dict(logger=dict(interval=10, log_metric_by_epoch=False),
                       checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False,
                                       interval=200),
                       random_state=dict(type='RandomStateHook')),
    log_processor=dict(by_epoch=False, window_size=10),
    auto_scale_lr=dict(base_batch_size=4),
)
randomness = dict(seed=0, deterministic=True)
