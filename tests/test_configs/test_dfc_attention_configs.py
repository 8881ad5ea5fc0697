"""The configs of DFC attention as a plug-in (configs/dfc_attention/): the
MobileNetV2 attention ablation on mmdet's YOLOv3-MobileNetV2 320 recipe,
RetinaNet-R50 with DFC plug-ins, the 8-image learning check; each builds, its
neck is fed the backbone's channels, and it trains one real step."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdet
from ghostnetv2_mm.engine.config import load_config
from ghostnetv2_mm.models import DFCAttention
from helpers import CONFIGS, optimizer_step_moves, plain
from mmdet.registry import MODELS
from test_detection_configs import two_real_images

STOCK_DIR = Path(mmdet.__file__).parent / '.mim' / 'configs'
YOLO = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
RETINA = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
BASELINE = 'dfc_attention/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
ABLATION = {BASELINE: None}  # config -> attention
ABLATION.update({f'dfc_attention/yolov3_mobilenetv2-{a}_8xb24-320-300e_coco.py': a
                 for a in ('dfc', 'se', 'cbam', 'ca')})
RETINA_DFC = 'dfc_attention/retinanet_r50-dfc-c3-c5_fpn_8xb2-1x_coco.py'
LEARNING = 'dfc_attention/yolov3_mobilenetv2_1xb4-200iter_coco128-8img.py'
GHOST_LEARNING = 'coco128/yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
ALL_CONFIGS = sorted(list(ABLATION) + [RETINA_DFC, LEARNING])
# what a root config here changes besides the model, as every root config of
# the repo does: checked image loading and crash-safe checkpoints (conftest.py)
HOUSE_KEYS = ('train_pipeline', 'test_pipeline', 'tta_pipeline', 'train_dataloader',
              'val_dataloader', 'test_dataloader', 'default_hooks')
# the settings those keys are made from, inherited from configs/_base_/crash_safe.py
CRASH_SAFE_KEYS = tuple(Config.fromfile(CONFIGS / '_base_' / 'crash_safe.py'))


def test_the_shipped_set_is_the_expected_one():
    found = sorted(str(p.relative_to(CONFIGS)) for p in (CONFIGS / 'dfc_attention').rglob('*.py'))
    assert found == ALL_CONFIGS
    assert all(Config.fromfile(CONFIGS / name).default_scope == 'mmdet' for name in found)


def stock(base):
    return Config.fromfile(STOCK_DIR / base.split('::')[1])


def assert_only_differs_in(cfg, base_cfg, keys):
    """The configs agree on everything but ``keys`` (and the bookkeeping ones)."""
    skip = set(keys) | set(CRASH_SAFE_KEYS) | {'custom_imports', 'work_dir', 'launcher'}
    assert sorted(set(cfg) - skip) == sorted(set(base_cfg) - skip)
    for key in set(cfg) - skip:
        assert plain(cfg[key]) == plain(base_cfg[key]), key


def assert_stock_but_for_the_house_keys(cfg, base, assert_crash_safe, with_stock_loaders):
    assert_crash_safe(cfg)
    for key in HOUSE_KEYS:
        if key == 'default_hooks':  # the stock hooks, their checkpoint's type aside
            hooks, stock_hooks = plain(cfg[key]), plain(base[key])
            hooks.pop('random_state')
            hooks['checkpoint'].pop('type'), stock_hooks['checkpoint'].pop('type')
            assert hooks == stock_hooks
        elif key in base:
            assert with_stock_loaders(plain(cfg[key])) == \
                with_stock_loaders(plain(base[key])), key
    assert_only_differs_in(cfg, base, ('model',) + HOUSE_KEYS)


@pytest.mark.parametrize('name', sorted(ABLATION))
def test_ablation_changes_only_the_backbones_attention(name, assert_crash_safe,
                                                       with_stock_loaders):
    cfg = Config.fromfile(CONFIGS / name)
    assert YOLO in cfg.text and cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)
    base = stock(YOLO)
    backbone = plain(cfg.model.backbone)
    assert backbone.pop('type') == 'AttentionMobileNetV2'
    assert backbone.pop('attention') == ABLATION[name]
    stock_backbone = plain(base.model.backbone)
    assert stock_backbone.pop('type') == 'MobileNetV2'
    assert backbone == stock_backbone  # out_indices, LeakyReLU, ImageNet weights
    model, stock_model = plain(cfg.model), plain(base.model)
    model.pop('backbone'), stock_model.pop('backbone')
    assert model == stock_model
    assert_stock_but_for_the_house_keys(cfg, base, assert_crash_safe, with_stock_loaders)


def test_retinanet_r50_gets_dfc_plugins_and_nothing_else(assert_crash_safe,
                                                         with_stock_loaders):
    cfg = Config.fromfile(CONFIGS / RETINA_DFC)
    base = stock(RETINA)
    assert RETINA in cfg.text
    plugins = cfg.model.backbone.plugins
    assert plain(plugins) == [dict(
        cfg=dict(type='DFCAttention', norm_cfg=dict(type='GN', num_groups=32,
                                                    requires_grad=True)),
        stages=(False, True, True, True), position='after_conv2')]
    backbone = plain(cfg.model.backbone)
    backbone.pop('plugins')
    assert backbone == plain(base.model.backbone)  # frozen_stages=1, norm_eval, weights
    model, stock_model = plain(cfg.model), plain(base.model)
    model.pop('backbone'), stock_model.pop('backbone')
    assert model == stock_model
    assert_stock_but_for_the_house_keys(cfg, base, assert_crash_safe, with_stock_loaders)


def test_learning_check_is_the_ghostnetv2_checks_protocol_with_the_baseline_model(
        assert_crash_safe):
    cfg = load_config(str(CONFIGS / LEARNING))
    assert_crash_safe(cfg)
    ghost = load_config(str(CONFIGS / GHOST_LEARNING))
    baseline = load_config(str(CONFIGS / BASELINE))
    assert_only_differs_in(cfg, ghost, ('model',))
    model, full = plain(cfg.model), plain(baseline.model)
    assert model['backbone'].pop('init_cfg', None) is None  # from scratch
    full['backbone'].pop('init_cfg')
    assert model == full


def read(name, coco128_dir):
    options = {'data_root': str(coco128_dir)} if name == LEARNING else None
    return load_config(str(CONFIGS / name), options)


@pytest.mark.slow
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_builds_and_trains_one_step_on_two_real_images(name, coco128_dir, one_thread):
    torch.manual_seed(0)
    cfg = read(name, coco128_dir)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    backbone = model.backbone
    if name == RETINA_DFC:
        gates = [m for m in backbone.modules() if isinstance(m, DFCAttention)]
        assert len(gates) == 13 and all(isinstance(g[1], torch.nn.GroupNorm) for g in gates)
        assert list(model.neck.in_channels) == [256, 512, 1024, 2048]
    else:
        attention = cfg.model.backbone.attention
        assert backbone.attention_type == attention
        assert any('.attention.' in k for k in backbone.state_dict()) == (attention is not None)
        # YOLOV3Neck takes the deepest map first
        assert list(model.neck.in_channels)[::-1] == backbone.out_channels == [32, 96, 320]

    if name == RETINA_DFC:  # a ResNet-50 step at 1333x800 takes a minute on one thread
        for step in cfg.train_dataloader.dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (333, 200)
    model.train()
    data = model.data_preprocessor(two_real_images(cfg, coco128_dir), training=True)
    assert max(data['inputs'].shape[-2:]) <= 352  # real, resized images
    assert all(len(s.gt_instances) > 0 for s in data['data_samples'])
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert math.isfinite(loss.item()) and loss.item() > 0, log_vars
    trained = {n: p for n, p in backbone.named_parameters() if p.requires_grad}
    optimizer_step_moves(model, cfg, loss, trained, min_moved=0.5)
