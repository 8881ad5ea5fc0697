"""The missing-weights policy: a config naming absent ImageNet weights trains
from scratch, with a warning, instead of crashing."""
import logging
import os
import os.path as osp
import warnings

from mmengine.logging import print_log


def fallback_missing_pretrained(cfg):
    """Train the backbone from scratch, with a warning, if its weights are absent.

    The full-dataset configs name a converted ImageNet checkpoint
    (``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)``);
    when ``PATH`` is a local file that does not exist, ``init_cfg`` is dropped
    (default initialisation) and, since nothing pretrained is left to protect,
    ``frozen_stages`` and ``norm_eval`` are turned off. Returns the missing
    path, or None when nothing changed.
    """
    backbone = cfg.get('model', {}).get('backbone')
    if not isinstance(backbone, dict):
        return None
    init_cfg = backbone.get('init_cfg')
    if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
        return None
    checkpoint = init_cfg.get('checkpoint')
    if not isinstance(checkpoint, str) or '://' in checkpoint \
            or osp.isfile(checkpoint):
        return None
    changes = ['init_cfg=None']
    backbone.init_cfg = None
    if backbone.get('frozen_stages', -1) != -1:
        backbone.frozen_stages = -1
        changes.append('frozen_stages=-1')
    if backbone.get('norm_eval'):
        backbone.norm_eval = False
        changes.append('norm_eval=False')
    msg = (f'backbone checkpoint {checkpoint} does not exist (cwd {os.getcwd()}): the '
           f'backbone is trained FROM SCRATCH ({", ".join(changes)}); expect far '
           f'lower accuracy than with ImageNet weights. Convert them with '
           f'tools/model_converters/ghostnetv2_to_mm.py to that path, or set '
           f'model.backbone.init_cfg.checkpoint.')
    warnings.warn(msg, UserWarning, stacklevel=2)
    print_log(msg, logger='current', level=logging.WARNING)
    return checkpoint
