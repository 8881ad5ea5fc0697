# Crash-safe reading and checkpointing, written once for every root config
# (docs/training.md). A root config takes these under its own keys, because
# mmengine refuses a key that two of its bases both set.
#
# Training reads through LoadCheckedImageFromFile, which stops at an unreadable
# image naming the file (on_error='skip' trains on another one instead, counting
# them in the log). Testing keeps the stock LoadImageFromFile, whose type mmdet's
# and mmseg's inferencers look for, with the checking file backend, which refuses
# empty and truncated images by name.
checked_train_loading = dict(type='LoadCheckedImageFromFile')
checked_test_loading = dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image'))

# Checkpoints written atomically (old ones deleted only after the new one is
# complete) that carry the random state, so that `--resume` continues as the
# uninterrupted run would have.
crash_safe_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'),
                        random_state=dict(type='RandomStateHook'))
