"""tools/analysis/browse_dataset.py on the real coco128 / coco128_seg data: the
pictures are the pipeline's (augmented) images with exactly their ground truth
drawn, and nothing else changed."""
import numpy as np
import pytest
from PIL import Image

from ghostnetv2_mm.visualization.legend import class_shares, legend_height
from helpers import CONFIGS, load_tool

DET = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb8-320-24e_coco128.py'
SEG = CONFIGS / 'coco128_seg' / 'fpn_ghostnetv2-1.0x_1xb4-2k_coco128seg-256x256.py'


@pytest.fixture(scope='module')
def browse():
    return load_tool('tools/analysis/browse_dataset.py')


def saved(sample):
    return np.array(Image.open(sample['file']).convert('RGB'))


def test_detection_samples_show_their_boxes(browse, tmp_path, coco128_dir):
    result = browse.main([str(DET), '--out-dir', str(tmp_path), '--num', '2', '--seed', '1',
                          '--cfg-options', f'data_root={coco128_dir}'])
    samples = result['samples']
    assert [p.name for p in sorted(tmp_path.glob('*.png'))] == \
        ['0000_000000000009.png', '0001_000000000025.png']
    for sample in samples:
        image, picture = sample['image'], saved(sample)
        assert (picture == sample['picture']).all() and picture.shape == image.shape
        boxes = sample['data_sample'].gt_instances.bboxes.tensor.numpy()
        assert len(boxes)
        height, width = image.shape[:2]
        changed = np.abs(picture.astype(int) - image).sum(-1) > 0
        drawn = np.zeros_like(changed)
        for x1, y1, x2, y2 in boxes.round().astype(int):
            x1, x2 = np.clip([x1, x2], 0, width - 1)
            y1, y2 = np.clip([y1, y2], 0, height - 1)
            for y in (y1, y2):  # the horizontal edges, drawn where they fall inside
                drawn[max(0, y - 4):y + 5, max(0, x1 - 4):x2 + 5] = True
            for x in (x1, x2):
                drawn[max(0, y1 - 4):y2 + 5, max(0, x - 4):x + 5] = True
            drawn[max(0, y1 - 4):y1 + 30, max(0, x1 - 4):x1 + 130] = True  # its label
            # every edge of a box is visible along its middle
            middle_x, middle_y = (x1 + x2) // 2, (y1 + y2) // 2
            assert changed[max(0, y1 - 3):y1 + 4, middle_x].any()
            assert changed[max(0, y2 - 3):y2 + 4, middle_x].any()
            assert changed[middle_y, max(0, x1 - 3):x1 + 4].any()
            assert changed[middle_y, max(0, x2 - 3):x2 + 4].any()
        # nothing drawn anywhere else: the rest is the pipeline's image, exactly
        assert not (changed & ~drawn).any()
        assert changed.mean() > 0.005


def test_segmentation_samples_show_their_label_map(browse, tmp_path, coco128_seg_dir):
    result = browse.main([str(SEG), '--out-dir', str(tmp_path), '--num', '2', '--shuffle',
                          '--cfg-options', f'data_root={coco128_seg_dir}'])
    palette = np.array(result['metainfo']['palette'])
    num_classes = len(result['metainfo']['classes'])
    assert num_classes == 133
    for sample in result['samples']:
        image, picture = sample['image'], saved(sample)
        labels = sample['data_sample'].gt_sem_seg.data[0].numpy()
        height, width = labels.shape
        assert image.shape[:2] == (height, width)
        # the augmented crop is at most 256x256
        assert height <= 256 and width <= 256
        # mmseg blends the class colours at 0.5; ignored pixels (255) get none
        colors = np.where((labels < num_classes)[..., None],
                          palette[np.minimum(labels, num_classes - 1)], 0)
        expected = (image * 0.5 + colors * 0.5).astype(np.uint8)
        assert np.abs(picture[:height].astype(int) - expected).max() <= 1
        present = class_shares(labels, num_classes)
        assert len(present) >= 1
        assert picture.shape == (height + legend_height(len(present), width), width, 3)
        for label, _ in present:  # each class's swatch in the legend
            assert (picture[height:] == palette[label]).all(-1).sum() >= 14 * 14


def test_bad_requests_are_named(browse, tmp_path, coco128_dir):
    with pytest.raises(ValueError, match=r'--num 500: the val dataset has only 8'):
        browse.main([str(CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_'
                                   'coco128-8img.py'), '--out-dir', str(tmp_path),
                     '--split', 'val', '--num', '500',
                     '--cfg-options', f'data_root={coco128_dir}'])
    with pytest.raises(FileNotFoundError, match='data root'):
        browse.main([str(DET), '--out-dir', str(tmp_path),
                     '--cfg-options', f'data_root={tmp_path / "nowhere"}'])
