# Channels of GhostNetV2's stage ends per released width, written once here.
# Index = out_indices: 0 stem (stride 2), 1-4 stage ends (stride 4, 8, 16, 32),
# 5 final 1x1 conv (stride 32). Detection configs slice their neck inputs from
# this table; tests/test_configs/test_detection_configs.py checks it against
# GhostNetV2(widen_factor=w).out_channels and every built neck against its
# built backbone.
ghostnetv2_channels = {
    'w10': [16, 24, 40, 112, 160, 960],
    'w13': [20, 32, 52, 144, 208, 1248],
    'w16': [24, 40, 64, 180, 256, 1536],
}
