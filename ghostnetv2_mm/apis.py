"""A config's detector or segmentor, built by its own toolbox's API."""
import copy

from mmengine.config import Config

from .checkpoint import use_safe_checkpoint_loader
from .engine.config import config_scope


def init_model(config, checkpoint=None, device='cpu', cfg_options=None):
    """``mmdet.apis.init_detector`` or ``mmseg.apis.init_model``, by the config's
    ``default_scope``: the model in eval mode on ``device``, its backbone's
    pretrained ``init_cfg`` dropped (the checkpoint, or nothing, provides the
    weights), ``dataset_meta`` from the checkpoint. mmengine's own checkpoints
    are read by :func:`~ghostnetv2_mm.checkpoint.use_safe_checkpoint_loader`'s
    reader, which this registers."""
    if checkpoint is not None:
        use_safe_checkpoint_loader()
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    cfg = copy.deepcopy(cfg)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.init_cfg = None
    if config_scope(cfg) == 'mmdet':
        from mmdet.apis import init_detector
        return init_detector(cfg, checkpoint, device=device)
    from mmseg.apis import init_model as init_segmentor
    return init_segmentor(cfg, checkpoint, device=device)
