# RetinaNet-GhostNetV2-1.0x on COCO 2017, mmdet's 1x schedule: the documented
# entry point, the same as ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py.
_base_ = './ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py'
