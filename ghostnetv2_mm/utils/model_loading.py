"""Build a config's detector / segmentor and load a checkpoint into it (for tools)."""
import copy

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from .run_config import config_scope


def build_model_from_config(config, checkpoint=None, cfg_options=None):
    """Return ``(model, cfg)`` in eval mode on CPU; weights strictly loaded when given.

    The backbone's ImageNet ``init_cfg`` is not needed when a full checkpoint
    is loaded (nor for timing), so it is dropped to avoid looking for the file.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone.pop('init_cfg', None)
    model_cfg.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        logger='silent')
    return model.eval(), cfg
