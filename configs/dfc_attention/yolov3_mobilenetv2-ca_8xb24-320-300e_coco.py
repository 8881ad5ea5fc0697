# The attention ablation: YOLOv3-MobileNetV2 320 whose inverted residuals gate
# their expanded features (after the depthwise conv) with
# coordinate attention (ratio 32, at least 8 channels).
# Everything else is the baseline's (mmdet's recipe). The MobileNetV2 ImageNet
# weights load with the attention keys reported missing: the gates start
# from their default init.
#   tools/dist_train.sh configs/dfc_attention/yolov3_mobilenetv2-ca_8xb24-320-300e_coco.py 8
_base_ = './yolov3_mobilenetv2_8xb24-320-300e_coco.py'

model = dict(backbone=dict(attention='ca'))
