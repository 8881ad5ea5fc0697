"""Issue 3, bar 1: every shipped detection config builds, trains one step on two
real coco128 images on CPU with a finite loss, and feeds its neck exactly the
backbone's channels. Also what each config promises (stock base, widths,
ablations, small-data data root) and the tools' config plumbing."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

import ghostnetv2_mm  # noqa: F401  (registers GhostNetV2)
import mmdet
from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.utils.run_config import (check_data_roots, fallback_missing_pretrained,
                                            load_config)
from mmdet.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
STOCK_DIR = Path(mmdet.__file__).parent / '.mim' / 'configs'
# full-COCO config -> (stock base, widen_factor, dfc_stages, ImageNet checkpoint)
RETINA = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
YOLO320 = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
YOLO416 = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'
V2 = (1, 2, 3, 4)
COCO_CONFIGS = {
    'retinanet_ghostnetv2_coco.py': (RETINA, 1.0, V2, 'ghostnetv2_1.0'),
    'retinanet_ghostnetv2-w13_coco.py': (RETINA, 1.3, V2, 'ghostnetv2_1.3'),
    'retinanet_ghostnetv2-w16_coco.py': (RETINA, 1.6, V2, 'ghostnetv2_1.6'),
    'retinanet_ghostnetv1_coco.py': (RETINA, 1.0, (), 'ghostnetv1_1.0'),
    'yolov3_ghostnetv2_320_coco.py': (YOLO320, 1.0, V2, 'ghostnetv2_1.0'),
    'yolov3_ghostnetv2-w13_320_coco.py': (YOLO320, 1.3, V2, 'ghostnetv2_1.3'),
    'yolov3_ghostnetv2-w16_320_coco.py': (YOLO320, 1.6, V2, 'ghostnetv2_1.6'),
    'yolov3_ghostnetv1_320_coco.py': (YOLO320, 1.0, (), 'ghostnetv1_1.0'),
    'yolov3_ghostnetv2_416_coco.py': (YOLO416, 1.0, V2, 'ghostnetv2_1.0'),
    'yolov3_ghostnetv2-w13_416_coco.py': (YOLO416, 1.3, V2, 'ghostnetv2_1.3'),
    'yolov3_ghostnetv2-w16_416_coco.py': (YOLO416, 1.6, V2, 'ghostnetv2_1.6'),
    'yolov3_ghostnetv1_416_coco.py': (YOLO416, 1.0, (), 'ghostnetv1_1.0'),
}
# coco128 config -> the full-COCO config whose model and pipelines it keeps
SMALL_CONFIGS = {
    'coco128/retinanet_ghostnetv2_coco128.py': 'retinanet_ghostnetv2_coco.py',
    'coco128/yolov3_ghostnetv2_320_coco128.py': 'yolov3_ghostnetv2_320_coco.py',
    'coco128/yolov3_ghostnetv2_416_coco128.py': 'yolov3_ghostnetv2_416_coco.py',
    'coco128/yolov3_ghostnetv2_8img_coco128.py': 'yolov3_ghostnetv2_320_coco.py',
    'coco128/retinanet_ghostnetv2_8img_coco128.py': 'retinanet_ghostnetv2_coco.py',
}
ALL_CONFIGS = sorted(list(COCO_CONFIGS) + list(SMALL_CONFIGS))
LEARNING = ('coco128/yolov3_ghostnetv2_8img_coco128.py',
            'coco128/retinanet_ghostnetv2_8img_coco128.py')


def test_the_shipped_set_is_the_expected_one():
    found = sorted(str(p.relative_to(CONFIGS)) for p in
                   list(CONFIGS.glob('retinanet_*.py')) + list(CONFIGS.glob('yolov3_*.py'))
                   + list((CONFIGS / 'coco128').glob('*.py')))
    assert found == ALL_CONFIGS


def test_channel_table_is_the_backbones():
    table = Config.fromfile(CONFIGS / '_base_' / 'ghostnetv2_channels.py').ghostnetv2_channels
    assert set(table) == {'w10', 'w13', 'w16'}
    for key, width in (('w10', 1.0), ('w13', 1.3), ('w16', 1.6)):
        for dfc_stages in (V2, ()):
            model = GhostNetV2(widen_factor=width, out_indices=(0, 1, 2, 3, 4, 5),
                               dfc_stages=dfc_stages)
            assert table[key] == model.out_channels


def plain(node):
    """Config values without the ``_scope_`` marks of cross-package bases."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(plain(v) for v in node)
    return node


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


def at_most_half_hd(pipeline):
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
                       pipeline=at_most_half_hd(dataset_cfg.pipeline))
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(dataset_cfg)
        return pseudo_collate([dataset[0], dataset[1]])


@pytest.mark.parametrize('name', sorted(COCO_CONFIGS))
def test_full_coco_config_states_the_paper_setting(name):
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
    # Everything but the backbone and neck inputs is the stock recipe.
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'auto_scale_lr',
                'train_pipeline', 'test_pipeline'):
        if key in stock:
            assert plain(cfg[key]) == plain(stock[key]), key
    assert cfg.train_dataloader.batch_size == stock.train_dataloader.batch_size
    assert plain(cfg.model.bbox_head) == plain(stock.model.bbox_head)
    if base == RETINA:
        assert cfg.train_cfg.max_epochs == 12 and cfg.train_dataloader.batch_size == 2
        assert cfg.optim_wrapper.optimizer.type == 'SGD'
        assert cfg.optim_wrapper.optimizer.lr == 0.01
        assert cfg.model.neck.start_level == 0 and cfg.model.neck.num_outs == 5
        assert (backbone.frozen_stages, backbone.norm_eval) == (1, True)
        assert 'tta_model' in cfg  # --tta works
    else:
        assert cfg.train_cfg.max_epochs == 30 and cfg.train_dataloader.batch_size == 24
        assert cfg.train_dataloader.dataset.type == 'RepeatDataset'
        assert cfg.train_dataloader.dataset.times == 10
        assert cfg.model.neck.out_channels == [96, 96, 96]


@pytest.mark.parametrize('name', sorted(SMALL_CONFIGS))
def test_small_config_keeps_the_model_and_reads_coco128(name, coco128_dir):
    cfg = read(name, coco128_dir)
    full = Config.fromfile(CONFIGS / SMALL_CONFIGS[name])
    root = str(coco128_dir) + '/'
    assert cfg.data_root == root
    datasets = [inner_dataset(cfg[k].dataset)
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    assert all(d.data_root == root for d in datasets)
    check_data_roots(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'])
    # Same detector; the learning configs only drop the ImageNet weights.
    model, full_model = cfg.model.to_dict(), full.model.to_dict()
    if name in LEARNING:
        assert model['backbone'].pop('init_cfg') is None
        full_model['backbone'].pop('init_cfg')
        model['backbone'].update(frozen_stages=-1, norm_eval=False)
        full_model['backbone'].update(frozen_stages=-1, norm_eval=False)
        for head in (model['bbox_head'], full_model['bbox_head']):
            head.pop('norm_cfg', None)
            head.pop('init_cfg', None)
        for key in ('test_cfg', 'train_cfg'):
            model.pop(key), full_model.pop(key)
        assert cfg.randomness == dict(seed=0, deterministic=True)
        assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters <= 1000
        assert cfg.train_dataloader.dataset.indices == 8
        assert cfg.val_dataloader.dataset.indices == 8
        assert cfg.val_dataloader.dataset.ann_file == cfg.train_dataloader.dataset.ann_file
    else:
        assert inner_dataset(cfg.train_dataloader.dataset).pipeline == \
            inner_dataset(full.train_dataloader.dataset).pipeline
        assert cfg.test_dataloader.dataset.pipeline == full.test_dataloader.dataset.pipeline
        assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val2017.json'
    assert model == full_model


def test_small_config_data_root_from_env_and_cfg_options(monkeypatch, tmp_path, coco128_dir):
    name = str(CONFIGS / 'coco128' / 'yolov3_ghostnetv2_320_coco128.py')
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
    # An explicit option for one path still wins over the re-rooting.
    cfg = load_config(name, {'data_root': str(coco128_dir),
                             'val_evaluator.ann_file': '/x/y.json'})
    assert cfg.val_evaluator.ann_file == '/x/y.json'


def test_full_coco_config_without_data_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(str(CONFIGS / 'retinanet_ghostnetv2_coco.py'))
    with pytest.raises(FileNotFoundError, match=r'(?s)data root data/coco .*'
                                                r'--cfg-options data_root=DIR'):
        check_data_roots(cfg, ['train_dataloader'])


def test_missing_imagenet_checkpoint_falls_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkpoints/ here
    cfg = load_config(str(CONFIGS / 'retinanet_ghostnetv2_coco.py'))
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
    cfg = load_config(str(CONFIGS / 'yolov3_ghostnetv2_320_coco.py'))
    assert fallback_missing_pretrained(cfg) is None
    model = build_model(cfg)
    model.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[key], value)


@pytest.fixture
def one_thread():
    """One intra-op thread: on a busy 2-core machine two threads wait on each
    other at every op (several times slower); on an idle one they save little
    for these small steps."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_builds_and_trains_one_step_on_two_real_images(name, coco128_dir, one_thread):
    torch.manual_seed(0)
    cfg = read(name, coco128_dir)
    model = build_model(cfg)
    # Asserted on the built modules, not assumed from the config.
    neck_in = list(model.neck.in_channels)
    if cfg.model.type == 'YOLOV3':  # YOLOV3Neck takes the deepest map first
        neck_in = neck_in[::-1]
    assert neck_in == list(model.backbone.out_channels)
    assert model.backbone.out_strides == [8, 16, 32]

    model.train()
    data = two_real_images(cfg, coco128_dir)
    data = model.data_preprocessor(data, training=True)
    assert max(data['inputs'].shape[-2:]) <= 672  # real, resized images
    assert all(len(s.gt_instances) > 0 for s in data['data_samples'])
    losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    assert math.isfinite(loss.item()) and loss.item() > 0, log_vars
    loss.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
