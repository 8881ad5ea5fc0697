"""The DeepLabV3 configs (the paper's ADE20K setting): mmseg's MobileNetV2
DeepLabV3 with only the backbone changed, heads fed exactly the stages they
name, the small-data check on the Semantic FPN check's data, and one real
training step each (the config's own optimizer) on coco128_seg images."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path

from ghostnetv2_mm.engine.config import load_config
from helpers import CONFIGS, REPO, optimizer_step_moves, plain, two_samples
from mmseg.registry import MODELS

V2 = (1, 2, 3, 4)
ADE20K = 'ghostnetv2/deeplabv3_ghostnetv2-1.0x-d8_4xb4-160k_ade20k-512x512.py'
ADE20K_CONFIGS = {  # config -> (widen_factor, dfc_stages, output_stride, checkpoint)
    ADE20K: (1.0, V2, 8, 'ghostnetv2_1.0'),
    'ghostnetv2/deeplabv3_ghostnetv2-1.3x-d8_4xb4-160k_ade20k-512x512.py':
        (1.3, V2, 8, 'ghostnetv2_1.3'),
    'ghostnetv2/deeplabv3_ghostnetv2-1.6x-d8_4xb4-160k_ade20k-512x512.py':
        (1.6, V2, 8, 'ghostnetv2_1.6'),
    'ghostnetv2/deeplabv3_ghostnetv1-1.0x-d8_4xb4-160k_ade20k-512x512.py':
        (1.0, (), 8, 'ghostnetv1_1.0'),
    'ghostnetv2/deeplabv3_ghostnetv2-1.0x-d16_4xb4-160k_ade20k-512x512.py':
        (1.0, V2, 16, 'ghostnetv2_1.0'),
}
LEARNING = 'coco128_seg/deeplabv3_ghostnetv2-1.0x-d8_1xb4-300iter_coco128seg-16img-256x256.py'
FPN_LEARNING = 'coco128_seg/fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'
ALL_CONFIGS = sorted(list(ADE20K_CONFIGS) + [LEARNING])
BASE = 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'
# the stock base, read as a plain file (mmengine.hub.get_config would add _scope_)
STOCK = str(Path(get_installed_path('mmsegmentation')) / '.mim' / 'configs'
            / BASE.split('::')[1])


def test_the_shipped_set_is_the_expected_one():
    """Every mmseg config named deeplabv3_* (test_segmentation_configs.py covers
    the other mmseg configs)."""
    found = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob('deeplabv3_*.py')
                   if Config.fromfile(p).get('default_scope') == 'mmseg')
    assert found == ALL_CONFIGS


def read(name, coco128_seg_dir=None):
    options = {'data_root': str(coco128_seg_dir)} \
        if name.startswith('coco128_seg/') and coco128_seg_dir else None
    return load_config(str(CONFIGS / name), options)


@pytest.mark.parametrize('name', sorted(ADE20K_CONFIGS))
def test_only_the_backbone_differs_from_mmsegs_mobilenetv2_deeplabv3(
        name, assert_crash_safe, with_stock_loaders):
    width, dfc_stages, output_stride, weights = ADE20K_CONFIGS[name]
    cfg, stock = read(name), Config.fromfile(STOCK)
    assert BASE in cfg.text  # inherits the stock base (directly or via a parent)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)
    assert cfg.model.pretrained is None  # the base's MobileNetV2 weights dropped
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.widen_factor) == ('GhostNetV2', width)
    assert tuple(backbone.get('dfc_stages', V2)) == dfc_stages
    assert backbone.output_stride == output_stride
    assert tuple(backbone.out_indices) == (1, 2, 3, 4)
    assert backbone.norm_cfg == dict(type='SyncBN', requires_grad=True)
    assert backbone.init_cfg == dict(type='Pretrained',
                                     checkpoint=f'checkpoints/{weights}_imagenet_mm.pth')
    # the heads are the stock ones but for their input channels, and read the
    # same out_indices positions: ASPP the last stage, the auxiliary FCN the
    # stride-16 stage end
    for head in ('decode_head', 'auxiliary_head'):
        ours, theirs = plain(cfg.model[head]), plain(stock.model[head])
        ours.pop('in_channels'), theirs.pop('in_channels')
        assert ours == theirs, head
    assert (cfg.model.decode_head.in_index, cfg.model.auxiliary_head.in_index) == (3, 2)
    # everything outside the model is the stock recipe, but for the checked image
    # loading and crash-safe checkpoints of every root config (conftest.py)
    assert_crash_safe(cfg)
    for key in ('val_evaluator', 'test_evaluator', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'crop_size'):
        assert plain(cfg[key]) == plain(stock[key]), key
    for key in ('train_pipeline', 'test_pipeline', 'tta_pipeline', 'train_dataloader',
                'val_dataloader', 'test_dataloader'):
        assert with_stock_loaders(plain(cfg[key])) == with_stock_loaders(plain(stock[key]))
    hooks, stock_hooks = plain(cfg.default_hooks), plain(stock.default_hooks)
    hooks.pop('random_state')
    hooks['checkpoint'].pop('type'), stock_hooks['checkpoint'].pop('type')
    assert hooks == stock_hooks
    for key in ('type', 'data_preprocessor', 'train_cfg', 'test_cfg'):
        assert plain(cfg.model[key]) == plain(stock.model[key]), key
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 4


def test_small_data_check_is_the_fpn_checks_data_with_the_deeplabv3_model(
        coco128_seg_dir, assert_crash_safe):
    cfg, fpn = read(LEARNING), read(FPN_LEARNING)
    assert_crash_safe(cfg)
    assert Path(cfg.data_root).resolve() == (REPO.parent / 'shared' / 'data'
                                             / 'coco128_seg').resolve()
    # everything but the model (and the work dir) is the FPN check's
    assert sorted(cfg) == sorted(fpn)
    for key in set(cfg) - {'model', 'work_dir'}:
        assert plain(cfg[key]) == plain(fpn[key]), key
    assert plain(cfg.model.data_preprocessor) == plain(fpn.model.data_preprocessor)
    # the DeepLabV3 model of the ADE20K config, from scratch, 133 classes
    model, parent = plain(cfg.model), plain(read(ADE20K).model)
    assert model['backbone'].pop('init_cfg') is None
    parent['backbone'].pop('init_cfg')
    for m in (model, parent):
        m.pop('data_preprocessor')
        for head in ('decode_head', 'auxiliary_head'):
            m[head].pop('num_classes')
    assert model == parent
    assert cfg.model.decode_head.num_classes == cfg.model.auxiliary_head.num_classes == 133
    rerooted = read(LEARNING, coco128_seg_dir)
    assert all(rerooted[k].dataset.data_root == str(coco128_seg_dir)
               for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'))


def small_crops(pipeline):
    """The pipeline with its crops made 128x128 (and its scale to match)."""
    pipeline = [dict(t) for t in pipeline]
    for t in pipeline:
        if 'crop_size' in t:
            t['crop_size'] = (128, 128)
        if 'scale' in t:
            t['scale'] = (512, 128)
    return pipeline


def two_real_images(cfg, coco128_seg_dir):
    """Two coco128_seg training images through the config's own train pipeline,
    its crops made 128x128: the ASPP head at output stride 8 takes half a minute
    a step on 512x512 crops on one CPU thread."""
    dataset_cfg = dict(type='SegFolderDataset', data_root=str(coco128_seg_dir),
                       data_prefix=cfg.train_dataloader.dataset.data_prefix,
                       pipeline=small_crops(cfg.train_pipeline))
    return two_samples('mmseg', dataset_cfg)


@pytest.mark.slow
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_builds_and_trains_one_step_on_two_real_images(name, coco128_seg_dir, one_thread):
    torch.manual_seed(0)
    cfg = read(name, coco128_seg_dir)
    cfg.model.data_preprocessor.size = (128, 128)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    # each head is fed exactly the channels of the stage it reads
    backbone = model.backbone
    assert model.decode_head.in_channels == backbone.out_channels[3]
    assert model.auxiliary_head.in_channels == backbone.out_channels[2]
    stride = cfg.model.backbone.output_stride
    assert backbone.out_strides == [4, 8, min(16, stride), stride]
    last = backbone.blocks[8][0].ghost1  # the stride-32 stage, dilated 32 // stride
    assert last.cheap_operation[0].dilation == (32 // stride,) * 2
    if backbone.dfc_stages:
        assert last.short_conv[2].dilation == (1, 32 // stride)

    model.train()
    data = model.data_preprocessor(two_real_images(cfg, coco128_seg_dir), True)
    assert tuple(data['inputs'].shape) == (2, 3, 128, 128)
    labels = torch.stack([s.gt_sem_seg.data for s in data['data_samples']])
    valid = labels[labels != 255]
    assert valid.numel() > 0 and int(valid.max()) < model.decode_head.num_classes
    losses = model(**data, mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    loss, _ = model.parse_losses(losses)
    assert math.isfinite(loss.item()) and loss.item() > 0
    params = {'stem': backbone.conv_stem.weight,
              'dilated stage': (last.short_conv[2] if backbone.dfc_stages
                                else last.cheap_operation[0]).weight,
              'ASPP': model.decode_head.aspp_modules[1].conv.weight,
              'auxiliary': model.auxiliary_head.conv_seg.weight}
    optimizer_step_moves(model, cfg, loss, params)
