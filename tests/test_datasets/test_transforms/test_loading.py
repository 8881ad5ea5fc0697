"""User images in every common layout decode to 3-channel 8-bit arrays; an image
that cannot be read stops with its file's name, or (training, on request) is
skipped with a count in the log. Checked through decode_image (the inference
path) and through the first transform of the shipped configs' pipelines."""
import logging

import cv2
import numpy as np
import pytest
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger
from mmengine.registry import TRANSFORMS, DefaultScope
from PIL import Image, ImageOps

from ghostnetv2_mm.datasets import LoadCheckedImageFromFile, UnreadableImageError, decode_image
from ghostnetv2_mm.engine.config import load_config
from helpers import CONFIGS

H, W = 40, 60


def reference_rgb():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img[:20, :30] = (250, 10, 10)  # a red block: orientation and channel order show
    return img


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """name -> (path, expected RGB array or None for unreadable, tolerance)."""
    root = tmp_path_factory.mktemp('images')
    rgb = reference_rgb()
    gray = rgb[..., 1]
    out = {}

    def save(name, save_fn, expected, tol=0):
        path = root / name
        save_fn(path)
        out[name] = (path, expected, tol)

    save('rgb.png', lambda p: Image.fromarray(rgb).save(p), rgb)
    save('grayscale.png', lambda p: Image.fromarray(gray).save(p), np.dstack([gray] * 3))
    save('grayscale.jpg', lambda p: Image.fromarray(gray).save(p, quality=95),
         np.dstack([gray] * 3), tol=6)
    rgba = np.dstack([rgb, np.linspace(0, 255, W, dtype=np.uint8)[None].repeat(H, 0)])
    save('rgba.png', lambda p: Image.fromarray(rgba).save(p), rgb)  # alpha dropped
    palette = Image.fromarray(rgb).quantize(64)
    save('palette.png', lambda p: palette.save(p), np.asarray(palette.convert('RGB')))
    save('gray16.png', lambda p: Image.fromarray(gray.astype(np.uint16) * 257).save(p),
         np.dstack([gray] * 3))
    save('rgb16.png', lambda p: cv2.imwrite(str(p), rgb[..., ::-1].astype(np.uint16) * 257),
         rgb)
    save('cmyk.jpg', lambda p: Image.fromarray(rgb).convert('CMYK').save(p, quality=95),
         rgb, tol=12)
    exif = Image.fromarray(rgb).getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    save('exif_rotated.jpg', lambda p: Image.fromarray(rgb).save(p, exif=exif, quality=95),
         None, tol=8)
    out['exif_rotated.jpg'] = (out['exif_rotated.jpg'][0], np.asarray(
        ImageOps.exif_transpose(Image.open(out['exif_rotated.jpg'][0])).convert('RGB')), 1)
    # a "motion photo": a complete JPEG followed by other data
    jpeg = root / 'grayscale.jpg'
    save('trailing_data.jpg', lambda p: p.write_bytes(jpeg.read_bytes() + b'\0ftypmp42' * 500),
         out['grayscale.jpg'][1], tol=6)
    # unreadable: expected None
    whole = (root / 'cmyk.jpg').read_bytes()
    save('truncated.jpg', lambda p: p.write_bytes(whole[:len(whole) * 2 // 3]), None)
    save('truncated_header.jpg', lambda p: p.write_bytes(whole[:100]), None)
    whole_png = (root / 'rgb.png').read_bytes()
    save('truncated.png', lambda p: p.write_bytes(whole_png[:len(whole_png) // 2]), None)
    save('empty.jpg', lambda p: p.write_bytes(b''), None)
    save('not_an_image.jpg', lambda p: p.write_text('<html>404 Not Found</html>'), None)
    out['missing.jpg'] = (root / 'missing.jpg', None, 0)
    return out


READABLE = ['rgb.png', 'grayscale.png', 'grayscale.jpg', 'rgba.png', 'palette.png',
            'gray16.png', 'rgb16.png', 'cmyk.jpg', 'exif_rotated.jpg', 'trailing_data.jpg']
UNREADABLE = ['truncated.jpg', 'truncated_header.jpg', 'truncated.png', 'empty.jpg',
              'not_an_image.jpg', 'missing.jpg']


def assert_image(img, expected, tol):
    assert img.dtype == np.uint8 and img.shape == expected.shape
    assert np.abs(img.astype(int) - expected.astype(int)).mean() <= tol


@pytest.mark.parametrize('name', READABLE)
def test_every_layout_decodes_to_three_channels(images, name):
    path, expected, tol = images[name]
    assert_image(decode_image(str(path)), expected, tol)
    assert_image(decode_image(str(path), channel_order='bgr'), expected[..., ::-1], tol)


def test_exif_rotation_is_applied(images):
    img = decode_image(str(images['exif_rotated.jpg'][0]))
    assert img.shape == (W, H, 3)  # stored 40x60, displayed 60x40


@pytest.mark.parametrize('name', UNREADABLE)
def test_unreadable_image_names_its_file(images, name):
    path = images[name][0]
    with pytest.raises(UnreadableImageError, match=f'^{path}: ') as err:
        decode_image(str(path))
    reason = {'truncated.jpg': 'truncated JPEG', 'truncated_header.jpg': 'truncated JPEG',
              'truncated.png': 'truncated PNG',
              'empty.jpg': 'empty file', 'not_an_image.jpg': 'not an image',
              'missing.jpg': 'No such file'}[name]
    assert reason in str(err.value)


@pytest.fixture(scope='module')
def config_loaders():
    """(name, first transform) of the train and test pipelines of a detection
    and a segmentation config, built as the runner builds them."""
    loaders = []
    for config in ('coco128/yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py',
                   'ghostnetv2/fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'):
        cfg = load_config(str(CONFIGS / config))
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            for split in ('train', 'test'):
                dataset = cfg[f'{split}_dataloader'].dataset
                while 'pipeline' not in dataset:
                    dataset = dataset.dataset
                loaders.append((f'{config}:{split}', TRANSFORMS.build(dataset.pipeline[0])))
    return loaders


def test_config_pipelines_decode_every_layout(images, config_loaders):
    for where, loader in config_loaders:
        for name in READABLE:
            path, expected, tol = images[name]
            results = loader(dict(img_path=str(path)))
            assert_image(results['img'], expected[..., ::-1], tol)  # BGR, as cv2
            assert results['ori_shape'] == expected.shape[:2], (where, name)


def test_config_pipelines_stop_naming_the_unreadable_file(images, config_loaders):
    for where, loader in config_loaders:
        for name in UNREADABLE:
            path = images[name][0]
            with pytest.raises((UnreadableImageError, AssertionError, FileNotFoundError),
                               match=str(path)):
                loader(dict(img_path=str(path)))


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_skip_mode_returns_none_and_counts_in_the_log(images):
    logger, collect = MMLogger.get_current_instance(), Collect()
    logger.addHandler(collect)
    loader = LoadCheckedImageFromFile(on_error='skip')
    before = LoadCheckedImageFromFile.skipped
    try:
        assert loader(dict(img_path=str(images['truncated.jpg'][0]))) is None
        assert loader(dict(img_path=str(images['empty.jpg'][0]))) is None
    finally:
        logger.removeHandler(collect)
    assert LoadCheckedImageFromFile.skipped == before + 2
    out = '\n'.join(collect.lines)
    assert f'({before + 2} skipped by this process so far)' in out
    assert f"{images['empty.jpg'][0]}: empty file" in out
    assert loader(dict(img_path=str(images['rgb.png'][0])))['img'].shape == (H, W, 3)
    with pytest.raises(ValueError, match="on_error must be one of \\('raise', 'skip'\\)"):
        LoadCheckedImageFromFile(on_error='ignore')


class FileListDataset(BaseDataset):
    def __init__(self, paths, **kwargs):
        self.paths = paths
        super().__init__(**kwargs)

    def load_data_list(self):
        return [dict(img_path=str(p)) for p in self.paths]


def test_skipping_in_training_draws_another_image(images):
    dataset = FileListDataset([images['truncated.png'][0], images['rgb.png'][0]],
                              pipeline=[dict(type='LoadCheckedImageFromFile', on_error='skip')])
    for _ in range(3):  # the bad one is replaced by a readable one, every time
        assert dataset[0]['img_path'] == str(images['rgb.png'][0])
    stopping = FileListDataset([images['truncated.png'][0]],
                               pipeline=[dict(type='LoadCheckedImageFromFile')])
    with pytest.raises(UnreadableImageError, match='truncated PNG'):
        stopping[0]
