"""Every shipped detection config: what it promises (stock base, width, ablation,
small data), that its neck gets exactly the backbone's channels, and one real
training step (the config's own optimizer) on two coco128 images."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdet
from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.engine.config import load_config
from ghostnetv2_mm.engine.data_paths import check_data_roots
from ghostnetv2_mm.engine.pretrained import fallback_missing_pretrained
from helpers import CONFIGS, REPO, optimizer_step_moves, plain, two_samples
from mmdet.registry import MODELS

STOCK_DIR = Path(mmdet.__file__).parent / '.mim' / 'configs'
RETINA = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
YOLO320 = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
YOLO416 = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'
V2 = (1, 2, 3, 4)
# full-COCO config -> (stock base, widen_factor, dfc_stages, ImageNet checkpoint)
COCO_CONFIGS = {}
for algo, base in (('retinanet', RETINA), ('yolov3', YOLO320), ('yolov3', YOLO416)):
    sched = {RETINA: 'fpn_8xb2-1x', YOLO320: '8xb24-320-300e',
             YOLO416: '8xb24-ms-416-300e'}[base]
    for arch, width, stages in (('ghostnetv2', 1.0, V2), ('ghostnetv2', 1.3, V2),
                                ('ghostnetv2', 1.6, V2), ('ghostnetv1', 1.0, ())):
        name = f'ghostnetv2/{algo}_{arch}-{width}x_{sched}_coco.py'
        COCO_CONFIGS[name] = (base, width, stages, f'{arch}_{width}')
# small-data config -> the full-COCO config whose model and pipelines it keeps
SMALL_CONFIGS = {
    'coco128/retinanet_ghostnetv2-1.0x_fpn_1xb4-12e_coco128.py':
        'ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py',
    'coco128/yolov3_ghostnetv2-1.0x_1xb8-320-24e_coco128.py':
        'ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py',
    'coco128/yolov3_ghostnetv2-1.0x_1xb8-ms-416-24e_coco128.py':
        'ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-ms-416-300e_coco.py',
    'coco128/yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py':
        'ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py',
    'coco128/retinanet_ghostnetv2-1.0x_fpn-gnhead_1xb4-200iter_coco128-8img.py':
        'ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py',
}
ENTRY_POINT = 'retinanet_ghostnetv2_coco.py'
ALL_CONFIGS = sorted(list(COCO_CONFIGS) + list(SMALL_CONFIGS) + [ENTRY_POINT])
LEARNING = [name for name in SMALL_CONFIGS if name.endswith('-8img.py')]


def test_the_shipped_set_is_the_expected_one():
    # configs/dfc_attention/ is checked by test_dfc_attention_configs.py
    found = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob('*.py')
                   if '_base_' not in p.parts and 'dfc_attention' not in p.parts
                   and Config.fromfile(p).get('default_scope') == 'mmdet')
    assert found == ALL_CONFIGS


def test_channel_table_is_the_backbones():
    table = Config.fromfile(CONFIGS / '_base_' / 'ghostnetv2_channels.py').ghostnetv2_channels
    assert set(table) == {'w10', 'w13', 'w16'}
    for key, width in (('w10', 1.0), ('w13', 1.3), ('w16', 1.6)):
        for dfc_stages in (V2, ()):
            model = GhostNetV2(widen_factor=width, out_indices=(0, 1, 2, 3, 4, 5),
                               dfc_stages=dfc_stages)
            assert table[key] == model.out_channels


def read(name, coco128_dir=None):
    """A shipped config as the tools read it (small-data ones rooted at coco128_dir)."""
    options = {'data_root': str(coco128_dir)} if name.startswith('coco128/') else None
    return load_config(str(CONFIGS / name), options)


def build_model(cfg):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


def inner_dataset(dataset_cfg):
    while dataset_cfg.get('type') in ('RepeatDataset', 'ClassBalancedDataset'):
        dataset_cfg = dataset_cfg.dataset
    return dataset_cfg


def test_entry_point_is_the_retinanet_1x_config(assert_crash_safe):
    assert_crash_safe(Config.fromfile(CONFIGS / ENTRY_POINT))
    entry = plain(Config.fromfile(CONFIGS / ENTRY_POINT).to_dict())
    full = plain(Config.fromfile(
        CONFIGS / 'ghostnetv2/retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py').to_dict())
    assert entry == full


@pytest.mark.parametrize('name', sorted(COCO_CONFIGS))
def test_full_coco_config_states_the_paper_setting(name, assert_crash_safe,
                                                   with_stock_loaders):
    base, width, dfc_stages, weights = COCO_CONFIGS[name]
    cfg = Config.fromfile(CONFIGS / name)
    stock = Config.fromfile(STOCK_DIR / base.split('::')[1])
    assert base in cfg.text  # inherits the stock mmdet base (directly or via a parent)
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(imports=['ghostnetv2_mm'], allow_failed_imports=False)
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.widen_factor) == ('GhostNetV2', width)
    assert tuple(backbone.get('dfc_stages', V2)) == dfc_stages
    assert tuple(backbone.out_indices) == (2, 3, 4)  # stride 8 / 16 / 32 stage ends
    assert backbone.init_cfg == dict(type='Pretrained',
                                     checkpoint=f'checkpoints/{weights}_imagenet_mm.pth')
    # everything but the backbone and the neck inputs is the stock recipe, with
    # checked image loading and crash-safe checkpoints
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'auto_scale_lr'):
        if key in stock:
            assert plain(cfg[key]) == plain(stock[key]), key
    for key in ('train_pipeline', 'test_pipeline', 'tta_pipeline'):
        if key in stock:
            assert with_stock_loaders(plain(cfg[key])) == with_stock_loaders(plain(stock[key]))
    assert plain(inner_dataset(cfg.train_dataloader.dataset).pipeline) == \
        plain(cfg.train_pipeline)
    for loader in ('val_dataloader', 'test_dataloader'):
        assert plain(cfg[loader].dataset.pipeline) == plain(cfg.test_pipeline), loader
    assert_crash_safe(cfg)
    assert cfg.train_dataloader.batch_size == stock.train_dataloader.batch_size
    assert plain(cfg.model.bbox_head) == plain(stock.model.bbox_head)
    if base == RETINA:
        assert cfg.train_cfg.max_epochs == 12 and cfg.train_dataloader.batch_size == 2
        assert cfg.model.neck.start_level == 0 and cfg.model.neck.num_outs == 5
        assert (backbone.frozen_stages, backbone.norm_eval) == (1, True)
        assert 'tta_model' in cfg  # --tta works
    else:
        assert cfg.train_cfg.max_epochs == 30 and cfg.train_dataloader.batch_size == 24
        assert cfg.train_dataloader.dataset.times == 10
        assert cfg.model.neck.out_channels == [96, 96, 96]


@pytest.mark.parametrize('name', sorted(SMALL_CONFIGS))
def test_small_config_keeps_the_model_and_reads_coco128(name, coco128_dir, assert_crash_safe):
    cfg = read(name, coco128_dir)
    assert_crash_safe(cfg)
    full = Config.fromfile(CONFIGS / SMALL_CONFIGS[name])
    root = str(coco128_dir) + '/'
    assert cfg.data_root == root
    datasets = [inner_dataset(cfg[k].dataset)
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    assert all(d.data_root == root for d in datasets)
    check_data_roots(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'])
    model, full_model = cfg.model.to_dict(), full.model.to_dict()
    if name in LEARNING:  # the same detector, from scratch
        assert model['backbone'].pop('init_cfg') is None
        full_model['backbone'].pop('init_cfg')
        for m in (model, full_model):
            m['backbone'].update(frozen_stages=-1, norm_eval=False)
            m['bbox_head'].pop('norm_cfg', None)
        assert cfg.randomness == dict(seed=0, deterministic=True)
        assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 200
        assert cfg.train_dataloader.dataset.indices == cfg.val_dataloader.dataset.indices == 8
        assert cfg.val_dataloader.dataset.ann_file == cfg.train_dataloader.dataset.ann_file
        assert [m.get('prefix') for m in cfg.val_evaluator] == [None, 'coco128_train']
    else:
        assert inner_dataset(cfg.train_dataloader.dataset).pipeline == \
            inner_dataset(full.train_dataloader.dataset).pipeline
        assert cfg.test_dataloader.dataset.pipeline == full.test_dataloader.dataset.pipeline
        assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val2017.json'
    assert model == full_model


def test_small_config_data_root_from_env_and_cfg_options(monkeypatch, tmp_path, coco128_dir):
    name = str(CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb8-320-24e_coco128.py')
    default = load_config(name)  # ../shared beside the checkout
    assert Path(default.data_root).resolve() == (REPO.parent / 'shared' / 'data' /
                                                 'coco128').resolve()
    monkeypatch.setenv('COCO128_ROOT', str(tmp_path / 'elsewhere'))
    cfg = load_config(name)
    assert cfg.train_dataloader.dataset.dataset.data_root == str(tmp_path / 'elsewhere') + '/'
    assert cfg.val_evaluator.ann_file == \
        str(tmp_path / 'elsewhere') + '/annotations/instances_val2017.json'
    with pytest.raises(FileNotFoundError, match=r'(?s)elsewhere.*COCO128_ROOT'):
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    cfg = load_config(name, {'data_root': str(coco128_dir)})  # wins over the env
    root = str(coco128_dir) + '/'
    assert cfg.train_dataloader.dataset.dataset.data_root == root
    assert cfg.test_dataloader.dataset.data_root == root
    assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val2017.json'
    check_data_roots(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'])
    # an explicit option for one path still wins over the re-rooting
    cfg = load_config(name, {'data_root': str(coco128_dir),
                             'val_evaluator.ann_file': '/x/y.json'})
    assert cfg.val_evaluator.ann_file == '/x/y.json'


def test_full_coco_config_without_data_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(str(CONFIGS / ENTRY_POINT))
    with pytest.raises(FileNotFoundError, match=r'(?s)data root data/coco .*'
                                                r'--cfg-options data_root=DIR'):
        check_data_roots(cfg, ['train_dataloader'])


def test_missing_imagenet_checkpoint_falls_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkpoints/ here
    cfg = load_config(str(CONFIGS / ENTRY_POINT))
    assert cfg.model.backbone.frozen_stages == 1 and cfg.model.backbone.norm_eval
    with pytest.warns(UserWarning, match=r'ghostnetv2_1.0_imagenet_mm.pth does not '
                                         r'exist.*FROM SCRATCH'):
        assert fallback_missing_pretrained(cfg) == \
            'checkpoints/ghostnetv2_1.0_imagenet_mm.pth'
    backbone = cfg.model.backbone
    assert (backbone.init_cfg, backbone.frozen_stages, backbone.norm_eval) == (None, -1, False)
    model = build_model(cfg)
    model.init_weights()  # default init, nothing frozen
    assert all(p.requires_grad for p in model.backbone.parameters())


def test_present_imagenet_checkpoint_is_kept_and_loaded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = GhostNetV2(out_indices=(2, 3, 4))
    (tmp_path / 'checkpoints').mkdir()
    torch.save(source.state_dict(), tmp_path / 'checkpoints' / 'ghostnetv2_1.0_imagenet_mm.pth')
    cfg = load_config(str(CONFIGS / 'ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py'))
    assert fallback_missing_pretrained(cfg) is None
    model = build_model(cfg)
    model.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[key], value)


def half_hd(pipeline):
    """The pipeline with RetinaNet's 1333x800 resize halved (same transforms)."""
    pipeline = [dict(t) for t in pipeline]
    for transform in pipeline:
        if transform.get('type') == 'Resize' and max(transform['scale']) > 800:
            transform['scale'] = tuple(s // 2 for s in transform['scale'])
    return pipeline


def two_real_images(cfg, coco128_dir):
    """The first two coco128 train images through the config's own train pipeline
    (1333x800 resizes halved to keep the step short on CPU)."""
    dataset_cfg = inner_dataset(cfg.train_dataloader.dataset)
    dataset_cfg = dict(dataset_cfg, data_root=str(coco128_dir) + '/',
                       ann_file='annotations/instances_train2017.json',
                       data_prefix=dict(img='train2017/'), indices=2,
                       pipeline=half_hd(dataset_cfg.pipeline))
    return two_samples('mmdet', dataset_cfg)


@pytest.mark.slow
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_builds_and_trains_one_step_on_two_real_images(name, coco128_dir, one_thread):
    torch.manual_seed(0)
    cfg = read(name, coco128_dir)
    model = build_model(cfg)
    # asserted on the built modules, not assumed from the config
    neck_in = list(model.neck.in_channels)
    if cfg.model.type == 'YOLOV3':  # YOLOV3Neck takes the deepest map first
        neck_in = neck_in[::-1]
    assert neck_in == list(model.backbone.out_channels)
    assert model.backbone.out_strides == [8, 16, 32]

    model.train()
    data = model.data_preprocessor(two_real_images(cfg, coco128_dir), training=True)
    assert max(data['inputs'].shape[-2:]) <= 672  # real, resized images
    assert all(len(s.gt_instances) > 0 for s in data['data_samples'])
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert math.isfinite(loss.item()) and loss.item() > 0, log_vars
    trained = {n: p for n, p in model.backbone.named_parameters() if p.requires_grad}
    optimizer_step_moves(model, cfg, loss, trained, min_moved=0.5)
