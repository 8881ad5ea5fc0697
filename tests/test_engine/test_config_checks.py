"""Contradictory settings are refused before anything is built, naming the values:
neck channels, class counts, unknown backbone arguments, segmentation ignore
labels; and tools/train.py stops on them before the first iteration."""
import copy
import functools

import pytest

from ghostnetv2_mm.engine.config import load_config
from ghostnetv2_mm.engine.config_checks import ConfigError, check_config
from helpers import CONFIGS, load_tool

RETINANET = CONFIGS / 'ghostnetv2' / 'retinanet_ghostnetv2-1.0x_fpn_8xb2-1x_coco.py'
YOLOV3 = CONFIGS / 'ghostnetv2' / 'yolov3_ghostnetv2-1.3x_8xb24-320-300e_coco.py'
FPN_ADE = CONFIGS / 'ghostnetv2' / 'fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'
FPN_SMALL = CONFIGS / 'coco128_seg' / 'fpn_ghostnetv2-1.0x_1xb4-2k_coco128seg-256x256.py'
DET_8IMG = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'


@functools.lru_cache(maxsize=None)
def _loaded(config, data_root=None):
    return load_config(str(config), {'data_root': data_root} if data_root else None)


def read(config, options=None, data_root=None):
    """A shipped config as the tools read it (read once per session), with ``options``."""
    cfg = copy.deepcopy(_loaded(config, str(data_root) if data_root else None))
    cfg.merge_from_dict(options or {})
    return cfg


def refused(config, options, data_root=None):
    with pytest.raises(ConfigError) as err:
        check_config(read(config, options, data_root))
    return str(err.value)


@pytest.mark.parametrize('config', [RETINANET, YOLOV3, FPN_ADE])
def test_shipped_configs_pass(config):
    check_config(read(config))


def test_small_seg_config_passes_with_its_classes_file(coco128_seg_dir):
    check_config(read(FPN_SMALL, data_root=coco128_seg_dir))


def test_neck_channels_that_miss_the_backbone_name_both_lists():
    text = refused(RETINANET, {'model.neck.in_channels': [40, 112, 999]})
    assert 'in_channels [40, 112, 999]' in text and "out_channels [40, 112, 160]" in text
    assert 'model.neck.in_channels=[40, 112, 160]' in text  # the fix
    text = refused(FPN_ADE, {'model.backbone.widen_factor': 1.3})
    assert 'in_channels [24, 40, 112, 160]' in text and 'out_channels [32, 52, 144, 208]' in text


def test_yolov3_neck_takes_the_channels_deepest_first():
    text = refused(YOLOV3, {'model.neck.in_channels': [52, 144, 208]})  # backbone order
    assert 'out_channels [52, 144, 208]' in text
    assert 'YOLOV3Neck takes them deepest first: [208, 144, 52]' in text


def test_head_classes_must_match_the_dataset():
    text = refused(RETINANET, {'model.bbox_head.num_classes': 20})
    assert 'model.bbox_head.num_classes is 20' in text
    assert 'the dataset of train_dataloader (CocoDataset) has 80 classes' in text
    assert 'model.bbox_head.num_classes=80' in text and '1 mistake(s)' in text


def test_seg_head_classes_must_match_the_classes_file(coco128_seg_dir):
    text = refused(FPN_SMALL, {'model.decode_head.num_classes': 150}, coco128_seg_dir)
    assert 'model.decode_head.num_classes is 150' in text
    assert '(SegFolderDataset) has 133 classes' in text


def test_unknown_backbone_argument_lists_the_valid_ones():
    text = refused(RETINANET, {'model.backbone.width': 1.3})
    assert 'model.backbone: GhostNetV2 has no argument(s) width' in text
    assert 'widen_factor' in text and 'out_indices' in text and 'dfc_stages' in text


def test_ignore_labels_of_an_11_class_set_must_agree():
    """As a new user with 11 classes and void label 11 would set it: the head
    and the metric, but not the data preprocessor's padding."""
    text = refused(FPN_ADE, {'model.decode_head.num_classes': 11,
                             'model.decode_head.ignore_index': 11,
                             'val_evaluator.ignore_index': 11,
                             'test_evaluator.ignore_index': 11,
                             'train_dataloader.dataset.metainfo': dict(classes=list('abcdefghijk')),
                             'val_dataloader.dataset.metainfo': dict(classes=list('abcdefghijk')),
                             'test_dataloader.dataset.metainfo': dict(classes=list('abcdefghijk'))})
    assert 'model.decode_head.ignore_index=11' in text
    assert 'model.data_preprocessor.seg_pad_val=255' in text
    assert 'val_evaluator.ignore_index=11' in text
    assert 'Target ... is out of bounds' in text
    assert text.count('mistake') == 1 and '1 mistake(s)' in text  # nothing else flagged


def test_train_tool_stops_before_the_first_iteration(tmp_path, coco128_dir):
    train = load_tool('tools/train.py')
    work = tmp_path / 'work'
    with pytest.raises(ConfigError, match=r'in_channels \[160, 112, 999\]'):
        train.main([str(DET_8IMG), '--work-dir', str(work), '--cfg-options',
                    f'data_root={coco128_dir}', 'model.neck.in_channels=[160,112,999]'])
    assert not work.exists()  # no runner, no log, no iteration
