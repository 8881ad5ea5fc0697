from ...registry import MODELS
from .ghostnetv2 import GhostNetV2


@MODELS.register_module(name='AttentionMobileNetV2')
def build_attention_mobilenetv2(**kwargs):
    """``type='AttentionMobileNetV2'``: mmdet's MobileNetV2 with an attention in
    its inverted residuals (:mod:`.attention_mobilenetv2`). Registered as this
    builder so that mmdet is imported only when such a backbone is built."""
    try:
        from .attention_mobilenetv2 import AttentionMobileNetV2
    except ModuleNotFoundError as err:
        if err.name is None or not err.name.startswith('mmdet'):
            raise
        raise ModuleNotFoundError(
            'AttentionMobileNetV2 extends mmdet\'s MobileNetV2, and mmdet is not '
            'installed: pip install -e .[det]', name=err.name) from err
    return AttentionMobileNetV2(**kwargs)


__all__ = ['GhostNetV2', 'build_attention_mobilenetv2']
