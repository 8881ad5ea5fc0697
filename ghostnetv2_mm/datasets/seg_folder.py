"""ADE20K-style segmentation folders whose class names come from a text file.

mmseg's ``ADE20KDataset`` hard-codes ADE20K's 150 names. This dataset reads the
names from the data itself, so a data set such as ``coco128_seg`` (133 COCO
panoptic classes, 0 = unlabeled) is described by its folder alone.
"""
import os.path as osp

from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS


def read_class_names(path):
    """Class names from ``path``, one per line in class order; surrounding spaces
    and trailing empty lines are dropped. An empty line between names (which would
    shift every later label) and a repeated name are errors."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'class names file {path} does not exist')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f.read().splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ValueError(f'class names file {path} lists no class')
    if '' in names:
        raise ValueError(f'class names file {path}: line {names.index("") + 1} is '
                         f'empty; every line up to the last name must name a class')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'class names file {path} repeats {repeated}')
    return tuple(names)


@DATASETS.register_module()
class SegFolderDataset(BaseSegDataset):
    """``images/<split>/*.jpg`` + ``annotations/<split>/*.png`` label maps, with
    the class names read from ``classes_file`` (relative to ``data_root``).

    The layout and defaults are ADE20K's: ``.jpg`` images, ``.png`` single-channel
    label maps of the same stem, ``reduce_zero_label=True`` (label 0 is
    "unlabeled" and ignored; label k becomes class k - 1). Palette: mmseg's
    fixed-seed random palette unless ``metainfo`` gives one.

    Args:
        classes_file (str): text file of class names, one per line: the i-th
            line (from 0) names class i, i.e. label i + 1 in the PNGs when the
            zero label is reduced, label i otherwise. A relative path is taken
            from ``data_root``.
            Default: 'classes.txt'.
        data_root (str): root of the data set; must exist.
        **kwargs: the arguments of :class:`mmseg.datasets.BaseSegDataset`
            (``data_prefix``, ``pipeline``, ``indices``, ...).
    """

    def __init__(self,
                 classes_file='classes.txt',
                 data_root=None,
                 metainfo=None,
                 img_suffix='.jpg',
                 seg_map_suffix='.png',
                 reduce_zero_label=True,
                 **kwargs):
        if not data_root:
            raise ValueError('SegFolderDataset needs data_root (the folder that '
                             'holds images/, annotations/ and the class names file)')
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f'segmentation data_root {data_root} does not exist: point it at '
                f'the data set (the coco128_seg configs read $COCO128_SEG_ROOT; '
                f'tools/train.py and tools/test.py take --cfg-options data_root=DIR)')
        if not osp.isabs(classes_file):
            classes_file = osp.join(data_root, classes_file)
        self.classes_file = classes_file
        metainfo = dict(metainfo or {})
        if 'classes' in metainfo:
            raise ValueError('SegFolderDataset reads the class names from '
                             f'{classes_file}; do not also give metainfo.classes')
        metainfo['classes'] = read_class_names(classes_file)
        super().__init__(data_root=data_root, metainfo=metainfo,
                         img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

    def load_data_list(self):
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'no *{self.img_suffix} image found under '
                f'{self.data_prefix.get("img_path")}')
        return data_list
