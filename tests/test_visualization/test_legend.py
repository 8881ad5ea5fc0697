"""The segmentation legend: every drawn class, largest first, in its colour."""
import numpy as np

from ghostnetv2_mm.visualization.legend import add_legend, class_shares, legend_height

CLASSES = ['sky', 'road', 'car', 'person']
PALETTE = [(10, 200, 250), (200, 30, 210), (250, 20, 20), (20, 250, 20)]


def test_shares_count_the_pixels_of_each_class_largest_first():
    label_map = np.array([[1, 1, 1, 3], [0, 3, 255, 255]])  # 255: ignored, not a class
    assert class_shares(label_map, len(CLASSES)) == [(1, 3), (3, 2), (0, 1)]


def test_legend_strip_lists_every_class_in_its_colour():
    image = np.full((40, 450, 3), 128, np.uint8)
    label_map = np.zeros((40, 450), np.int64)
    label_map[:, 100:] = 2
    label_map[:, 400:] = 3
    out = add_legend(image, label_map, CLASSES, PALETTE)
    # two entries per row at 450 px: three classes take two rows
    assert legend_height(3, 450) == out.shape[0] - 40 == 2 * 20 + 3
    assert (out[:40] == image).all()
    strip = out[40:]
    for label in (0, 2, 3):
        assert (strip == PALETTE[label]).all(-1).sum() >= 14 * 14, CLASSES[label]
    assert not (strip == PALETTE[1]).all(-1).any()  # road is not in the picture
    # largest first: car (300 columns) top-left, sky next, person on the second row
    assert (strip[3 + 7, 3 + 7] == PALETTE[2]).all()
    assert (strip[3 + 7, 200 + 3 + 7] == PALETTE[0]).all()
    assert (strip[20 + 3 + 7, 3 + 7] == PALETTE[3]).all()


def test_no_class_no_strip():
    image = np.zeros((8, 8, 3), np.uint8)
    assert add_legend(image, np.full((8, 8), 255), CLASSES, PALETTE) is image
