"""Every shipped segmentation config: what it promises (stock base, recipes, small
data), that its FPN gets exactly the backbone's channels, and one real training
step (the config's own optimizer) on two coco128_seg images."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path

from ghostnetv2_mm.engine.config import load_config
from ghostnetv2_mm.engine.pretrained import fallback_missing_pretrained
from helpers import CONFIGS, REPO, optimizer_step_moves, plain, two_samples
from mmseg.registry import MODELS

ADE20K = 'ghostnetv2/fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'
ADE20K_CONFIGS = {  # config -> (widen_factor, dfc_stages, checkpoint)
    ADE20K: (1.0, (1, 2, 3, 4), 'ghostnetv2_1.0'),
    'ghostnetv2/fpn_ghostnetv2-1.0x_4xb4-160k_ade20k-512x512.py':
        (1.0, (1, 2, 3, 4), 'ghostnetv2_1.0'),
    'ghostnetv2/fpn_ghostnetv2-1.3x_4xb4-80k_ade20k-512x512.py':
        (1.3, (1, 2, 3, 4), 'ghostnetv2_1.3'),
    'ghostnetv2/fpn_ghostnetv2-1.6x_4xb4-80k_ade20k-512x512.py':
        (1.6, (1, 2, 3, 4), 'ghostnetv2_1.6'),
    'ghostnetv2/fpn_ghostnetv1-1.0x_4xb4-80k_ade20k-512x512.py': (1.0, (), 'ghostnetv1_1.0'),
}
SMALL = 'coco128_seg/fpn_ghostnetv2-1.0x_1xb4-2k_coco128seg-256x256.py'
LEARNING = 'coco128_seg/fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'
ALL_CONFIGS = sorted(list(ADE20K_CONFIGS) + [SMALL, LEARNING])
# the stock base, read as a plain file (mmengine.hub.get_config would add _scope_)
STOCK = str(Path(get_installed_path('mmsegmentation')) / '.mim' / 'configs' / 'sem_fpn'
            / 'fpn_r50_4xb4-160k_ade20k-512x512.py')


def test_the_shipped_set_is_the_expected_one():
    # the DeepLabV3 configs (deeplabv3_*) are checked by test_deeplabv3_configs.py
    found = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob('*.py')
                   if '_base_' not in p.parts and not p.name.startswith('deeplabv3_')
                   and Config.fromfile(p).get('default_scope') == 'mmseg')
    assert found == ALL_CONFIGS


def read(name, coco128_seg_dir=None):
    options = {'data_root': str(coco128_seg_dir)} \
        if name.startswith('coco128_seg/') and coco128_seg_dir else None
    return load_config(str(CONFIGS / name), options)


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_config_states_only_the_differences_from_the_stock_base(name, assert_crash_safe):
    cfg = read(name)
    assert_crash_safe(cfg)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)
    assert cfg.model.type == 'EncoderDecoder'
    assert cfg.model.pretrained is None  # the stock base's ResNet weights dropped
    assert cfg.model.neck.type == 'FPN' and cfg.model.decode_head.type == 'FPNHead'
    backbone = cfg.model.backbone
    assert backbone.type == 'GhostNetV2'
    assert tuple(backbone.out_indices) == (1, 2, 3, 4)
    assert backbone.norm_cfg == dict(type='SyncBN', requires_grad=True)
    stock = Config.fromfile(STOCK)
    assert plain(cfg.model.decode_head) == dict(
        plain(stock.model.decode_head), num_classes=cfg.model.decode_head.num_classes)
    assert cfg.model.neck.out_channels == stock.model.neck.out_channels == 256
    assert plain(cfg.model.test_cfg) == plain(stock.model.test_cfg)


@pytest.mark.parametrize('name', sorted(ADE20K_CONFIGS))
def test_ade20k_configs(name, with_stock_loaders):
    cfg, stock = read(name), Config.fromfile(STOCK)
    width, dfc_stages, weights = ADE20K_CONFIGS[name]
    backbone = cfg.model.backbone
    assert backbone.widen_factor == width
    assert tuple(backbone.get('dfc_stages', (1, 2, 3, 4))) == dfc_stages
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'checkpoints/{weights}_imagenet_mm.pth')
    assert cfg.model.decode_head.num_classes == 150
    # the data side is exactly mmseg's ADE20K 512x512 setting, images read with checks
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'train_pipeline', 'test_pipeline', 'crop_size'):
        assert with_stock_loaders(plain(cfg[key])) == with_stock_loaders(plain(stock[key])), key
    assert plain(cfg.model.data_preprocessor) == plain(stock.model.data_preprocessor)
    assert cfg.train_dataloader.batch_size * 4 == 16  # 4 GPUs x 4 images
    if '160k' in name:  # mmseg's own SGD recipe, to compare with its zoo
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg'):
            assert plain(cfg[key]) == plain(stock[key]), key
        assert cfg.default_hooks.checkpoint.interval == 16000
    else:
        assert cfg.optim_wrapper.optimizer == dict(
            type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4)
        assert cfg.param_scheduler == [dict(type='PolyLR', eta_min=0.0, power=0.9,
                                            begin=0, end=80000, by_epoch=False)]
        assert cfg.train_cfg.max_iters == 80000
        assert cfg.auto_scale_lr.base_batch_size == 16


@pytest.mark.parametrize('name', [SMALL, LEARNING])
def test_small_data_configs(name, coco128_seg_dir, with_stock_loaders):
    cfg = read(name)
    classes = [c for c in (coco128_seg_dir / 'classes.txt').read_text().split('\n')
               if c.strip()]
    # by default the data root is ../shared/data/coco128_seg beside the checkout
    assert Path(cfg.data_root).resolve() == (REPO.parent / 'shared' / 'data'
                                             / 'coco128_seg').resolve()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'SegFolderDataset' and dataset.data_root == cfg.data_root
    assert cfg.model.decode_head.num_classes == len(classes) == 133
    assert cfg.crop_size == (256, 256) == cfg.model.data_preprocessor.size
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    # the same model as the ADE20K config apart from the number of classes
    model, parent_model = plain(cfg.model), plain(read(ADE20K).model)
    for m in (model, parent_model):
        m['decode_head'].pop('num_classes')
        m['data_preprocessor'].pop('size')
        m['backbone'].pop('init_cfg')
    assert model == parent_model
    if name == LEARNING:
        assert cfg.model.backbone.init_cfg is None  # from scratch
        assert cfg.train_dataloader.dataset.indices == cfg.val_dataloader.dataset.indices == 16
        assert cfg.val_dataloader.dataset.data_prefix == \
            cfg.train_dataloader.dataset.data_prefix  # evaluated on the same images
        assert cfg.test_dataloader == cfg.val_dataloader
        assert cfg.train_cfg.max_iters == 300 and cfg.randomness.seed == 0
    else:
        assert cfg.val_dataloader.dataset.data_prefix.img_path == 'images/validation'
        # mmseg's ADE20K pipeline with its scales halved for 256x256 crops (the zero
        # label is reduced by the dataset, not by LoadAnnotations)
        stock = Config.fromfile(STOCK)
        for key in ('train_pipeline', 'test_pipeline'):
            expected = []
            for step in stock[key]:
                step = dict(step)
                if step['type'] == 'LoadAnnotations':
                    step.pop('reduce_zero_label')
                if step.get('scale') == (2048, 512):
                    step['scale'] = (1024, 256)
                if step.get('crop_size') == (512, 512):
                    step['crop_size'] = (256, 256)
                expected.append(step)
            assert with_stock_loaders(plain(cfg[key])) == with_stock_loaders(expected), key
        assert plain(cfg.train_dataloader.dataset.pipeline) == plain(cfg.train_pipeline)
        assert plain(cfg.val_dataloader.dataset.pipeline) == plain(cfg.test_pipeline)


def test_data_root_from_environment_and_cfg_options(coco128_seg_dir, tmp_path, monkeypatch):
    monkeypatch.setenv('COCO128_SEG_ROOT', str(tmp_path / 'env_root'))
    cfg = Config.fromfile(CONFIGS / LEARNING)
    assert cfg.data_root == str(tmp_path / 'env_root')
    assert cfg.val_dataloader.dataset.data_root == str(tmp_path / 'env_root')
    monkeypatch.delenv('COCO128_SEG_ROOT')
    cfg = read(LEARNING, coco128_seg_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == str(coco128_seg_dir)


def test_missing_imagenet_checkpoint_falls_back_with_a_warning():
    cfg = read(ADE20K)
    cfg.model.backbone.init_cfg.checkpoint = 'checkpoints/absent_for_this_test.pth'
    with pytest.warns(UserWarning, match='absent_for_this_test.pth does not exist.*'
                                         'FROM SCRATCH'):
        assert fallback_missing_pretrained(cfg) == 'checkpoints/absent_for_this_test.pth'
    assert cfg.model.backbone.init_cfg is None


def two_real_images(cfg, name, coco128_seg_dir):
    """Two coco128_seg training images through the config's own train pipeline."""
    if name.startswith('coco128_seg/'):
        dataset_cfg = cfg.train_dataloader.dataset
    else:  # ADE20K configs: their pipeline, on coco128_seg images (same layout)
        dataset_cfg = dict(type='SegFolderDataset', data_root=str(coco128_seg_dir),
                           data_prefix=cfg.train_dataloader.dataset.data_prefix,
                           pipeline=cfg.train_pipeline)
    return two_samples('mmseg', dataset_cfg)


@pytest.mark.slow
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_builds_and_trains_one_step_on_two_real_images(name, coco128_seg_dir, one_thread):
    torch.manual_seed(0)
    cfg = read(name, coco128_seg_dir)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    # the config's SyncBN is built as such; a single process (mmengine's Runner,
    # here by hand) runs it as BN
    assert isinstance(model.backbone.bn1, torch.nn.SyncBatchNorm)
    model = revert_sync_batchnorm(model)
    # the FPN is fed exactly what the backbone gives, at strides 4..32
    assert model.neck.in_channels == model.backbone.out_channels
    assert model.backbone.out_strides == [4, 8, 16, 32]
    assert list(model.decode_head.feature_strides) == [4, 8, 16, 32]
    if name == LEARNING:
        model.init_weights()  # from scratch: Kaiming init works without files
    model.train()
    data = model.data_preprocessor(two_real_images(cfg, name, coco128_seg_dir), True)
    assert tuple(data['inputs'].shape) == (2, 3, *cfg.crop_size)
    labels = torch.stack([s.gt_sem_seg.data for s in data['data_samples']])
    valid = labels[labels != 255]
    assert valid.numel() > 0 and int(valid.max()) < model.decode_head.num_classes
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert math.isfinite(loss.item()) and loss.item() > 0
    params = {'backbone': model.backbone.conv_stem.weight,
              'neck': model.neck.fpn_convs[0].conv.weight,
              'head': model.decode_head.conv_seg.weight}
    optimizer_step_moves(model, cfg, loss, params)
