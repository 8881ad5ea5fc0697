"""SegFolderDataset: ADE20K-layout folders whose class names come from the data."""
import numpy as np
import pytest
from PIL import Image

import ghostnetv2_mm  # noqa: F401  (registers SegFolderDataset)
from ghostnetv2_mm.datasets import SegFolderDataset, read_class_names
from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import DATASETS



def load_pipeline():
    # fresh objects: mmseg's LoadAnnotations remembers the first reduce_zero_label
    return [LoadImageFromFile(), LoadAnnotations()]


def make_folder(root, names=('cat', 'dog', 'sky'), classes_file='classes.txt',
                num_images=2):
    (root / 'images' / 'training').mkdir(parents=True)
    (root / 'annotations' / 'training').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(num_images):
        Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).save(
            root / 'images' / 'training' / f'{i:03d}.jpg')
        label = np.array([[0, 1, 2, 3, 1, 1, 0, 3]] * 6, dtype=np.uint8)
        Image.fromarray(label).save(root / 'annotations' / 'training' / f'{i:03d}.png')
    if names is not None:
        (root / classes_file).write_text('\n'.join(names) + '\n')
    return root


def build(root, **kwargs):
    kwargs.setdefault('data_prefix', dict(img_path='images/training',
                                          seg_map_path='annotations/training'))
    return DATASETS.build(dict(type='SegFolderDataset', data_root=str(root),
                               pipeline=load_pipeline(), **kwargs))


def test_coco128_seg_classes_come_from_its_classes_txt(coco128_seg_dir):
    ds = build(coco128_seg_dir, data_prefix=dict(
        img_path='images/validation', seg_map_path='annotations/validation'))
    lines = (coco128_seg_dir / 'classes.txt').read_text().splitlines()
    assert len(ds) == 100
    assert ds.metainfo['classes'] == tuple(lines) and len(lines) == 133
    assert ds.metainfo['classes'][0] == 'person'
    assert ds.metainfo['reduce_zero_label'] is True
    assert len(ds.metainfo['palette']) == 133
    # Label k of the PNG is class k - 1; 0 (unlabeled) becomes the ignore index.
    sample = ds[0]
    raw = np.array(Image.open(sample['seg_map_path']))
    gt = sample['gt_seg_map']
    assert gt.shape == raw.shape
    assert (gt[raw == 0] == 255).all()
    assert (gt[raw > 0] == raw[raw > 0] - 1).all()
    assert gt[gt != 255].max() <= 132


def test_reads_any_class_file_and_keeps_labels(tmp_path):
    root = make_folder(tmp_path, names=('a', 'b', 'c', 'd'), classes_file='n.txt')
    ds = build(root, classes_file='n.txt', reduce_zero_label=False)
    assert ds.metainfo['classes'] == ('a', 'b', 'c', 'd')
    assert len(ds) == 2
    assert ds[1]['gt_seg_map'][0].tolist() == [0, 1, 2, 3, 1, 1, 0, 3]


def test_spaces_and_trailing_empty_lines_are_dropped(tmp_path):
    (tmp_path / 'c.txt').write_text('  wall \nfloor\n\n  \n')
    assert read_class_names(str(tmp_path / 'c.txt')) == ('wall', 'floor')


@pytest.mark.parametrize('content, message', [
    ('', 'lists no class'),
    ('\n\n', 'lists no class'),
    ('cat\n\ndog\n', 'line 2 is empty'),  # would shift every later label
    ('cat\ndog\ncat\n', "repeats \\['cat'\\]"),
])
def test_bad_class_files_are_refused(tmp_path, content, message):
    (tmp_path / 'c.txt').write_text(content)
    with pytest.raises(ValueError, match=message):
        read_class_names(str(tmp_path / 'c.txt'))


def test_missing_data_root_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match='nowhere.*COCO128_SEG_ROOT'):
        build(missing)


def test_missing_classes_file(tmp_path):
    root = make_folder(tmp_path, names=None)
    with pytest.raises(FileNotFoundError, match='classes.txt does not exist'):
        build(root)


def test_no_images_is_an_error(tmp_path):
    root = make_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match='no \\*.jpg image'):
        build(root, data_prefix=dict(img_path='annotations/training',
                                     seg_map_path='annotations/training'))


def test_classes_cannot_also_be_hard_coded(tmp_path):
    root = make_folder(tmp_path)
    with pytest.raises(ValueError, match='do not also give metainfo.classes'):
        build(root, metainfo=dict(classes=('x', 'y', 'z')))


def test_is_an_mmseg_base_seg_dataset():
    from mmseg.datasets import BaseSegDataset
    assert issubclass(SegFolderDataset, BaseSegDataset)
    assert DATASETS.get('SegFolderDataset') is SegFolderDataset
