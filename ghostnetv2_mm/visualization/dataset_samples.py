"""Samples of a config's dataset after its pipeline (augmentation included),
drawn with their ground truth by the toolbox's own visualizer: what the model
will be fed."""
import copy
import os.path as osp
import time

import numpy as np

from ..engine.config import config_scope
from ..engine.data_paths import check_data_roots
from .legend import add_legend

SPLITS = ('train', 'val', 'test')


def build_dataset_and_visualizer(cfg, split='train'):
    """The ``{split}_dataloader`` dataset and the config's visualizer, both
    from the config's toolbox, the visualizer knowing the class names and
    palette."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    loader = f'{split}_dataloader'
    if not isinstance(cfg.get(loader), dict):
        raise KeyError(f'the config has no {loader}')
    check_data_roots(cfg, [loader])
    scope = config_scope(cfg)
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import DATASETS, VISUALIZERS
    else:
        from mmseg.registry import DATASETS, VISUALIZERS
    dataset = DATASETS.build(copy.deepcopy(cfg[loader].dataset))
    vis_cfg = copy.deepcopy(cfg.visualizer)
    vis_cfg.name = f'browse_dataset_{time.time_ns()}'  # mmengine: one instance per name
    visualizer = VISUALIZERS.build(vis_cfg)
    if scope == 'mmdet':
        visualizer.dataset_meta = dataset.metainfo
    else:
        visualizer.set_dataset_meta(dataset.metainfo['classes'],
                                    dataset.metainfo['palette'])
    return dataset, visualizer


def draw_sample(item, visualizer, scope, opacity=0.5):
    """(the pipeline's image as RGB uint8, its ground truth drawn on it). Boxes and
    masks for detection; for segmentation the class colours blended at
    ``opacity`` and a legend (pixels marked ignore, e.g. 255, stay uncoloured)."""
    image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # packed BGR
    # photometric augmentation leaves floats, possibly beyond 0-255
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    sample = item['data_samples']
    if scope == 'mmdet':
        sample = _plain_instances(sample, image.shape)
        visualizer.add_datasample('sample', image, sample, draw_gt=True, draw_pred=False)
        return image, visualizer.get_image()
    visualizer.alpha = opacity
    visualizer.add_datasample('sample', image, sample, draw_gt=True, draw_pred=False,
                              with_labels=False)
    meta = visualizer.dataset_meta
    return image, add_legend(visualizer.get_image(), sample.gt_sem_seg.data[0].numpy(),
                             meta['classes'], meta['palette'])


def _plain_instances(sample, shape):
    """mmdet's visualizer draws tensors and boolean arrays, not box or mask
    structures; boxes are clipped to the image (a box reaching outside makes
    mmengine's visualizer widen its view, shifting the whole drawing)."""
    from mmdet.structures.bbox import BaseBoxes
    from mmdet.structures.mask import BitmapMasks, PolygonMasks
    sample = sample.clone()
    sample.gt_instances = gt = sample.gt_instances.clone()  # leave the item's as it is
    if isinstance(gt.get('bboxes'), BaseBoxes):
        gt.bboxes = gt.bboxes.tensor
    if 'bboxes' in gt:
        gt.bboxes = gt.bboxes.clone()
        gt.bboxes[:, 0::2] = gt.bboxes[:, 0::2].clamp(0, shape[1])
        gt.bboxes[:, 1::2] = gt.bboxes[:, 1::2].clamp(0, shape[0])
    if isinstance(gt.get('masks'), (BitmapMasks, PolygonMasks)):
        gt.masks = gt.masks.to_ndarray().astype(bool)
    return sample


def sample_name(index, item):
    path = item['data_samples'].metainfo.get('img_path') or f'sample{index}'
    return f'{index:04d}_{osp.splitext(osp.basename(path))[0]}'
