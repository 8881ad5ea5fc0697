"""Reading user images: every common layout decoded to 3 channels, and every
image that cannot be read named, with the reason.

OpenCV (what mmcv's ``LoadImageFromFile`` decodes with) already turns grayscale,
RGBA, palette and 16-bit PNGs, CMYK JPEGs and EXIF-rotated photos into 8-bit
3-channel arrays. What it does not do is say *which* file failed: a 0-byte file
raises an anonymous OpenCV assertion, and, depending on the OpenCV build, a
truncated JPEG either decodes to nothing or silently to a grey-padded picture.
So image bytes are first checked for completeness (cheaply, from the file
structure: no pixel is decoded twice), then decoded by OpenCV through mmcv.

Three ways in:

* :func:`decode_image` -- one file to an array (inference tools);
* ``backend_args=CHECKED_BACKEND_ARGS`` on the stock ``LoadImageFromFile``
  (test pipelines, whose transform type mmdet's and mmseg's inferencers look
  for by name): the checking file backend refuses incomplete images;
* :class:`LoadCheckedImageFromFile` (training pipelines): the same check, and
  ``on_error='raise'`` (stop, naming the file; the default) or ``'skip'``
  (train on another image instead, with a warning and a running count).
"""
import logging

import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import print_log

from ...registry import TRANSFORMS

BACKEND_NAME = 'checked_image'
CHECKED_BACKEND_ARGS = dict(backend=BACKEND_NAME)
ON_ERROR = ('raise', 'skip')

_JPEG_START = b'\xff\xd8\xff'
_JPEG_END = b'\xff\xd9'
_JPEG_SCAN = 0xDA
_JPEG_STANDALONE = {0x01, 0xD8} | set(range(0xD0, 0xD8))  # markers without a length
_PNG_START = b'\x89PNG\r\n\x1a\n'


class UnreadableImageError(ValueError):
    """An image file that cannot be decoded; the message starts with its path."""


def _jpeg_problem(data):
    """Why a JPEG byte string is incomplete, or None.

    Header segments carry their length up to the first scan (SOS); after it,
    entropy-coded bytes never contain ``FF D9`` except as the end-of-image
    marker, so its absence after the first scan means the file was cut short.
    Bytes after the end marker (e.g. the video of a "motion photo") are fine;
    a header this walk does not understand is left to the decoder.
    """
    pos = 2
    while True:
        if pos + 2 > len(data):
            return (f'truncated JPEG: the file ends at byte {len(data)}, inside its '
                    f'header, before any image data')
        if data[pos] != 0xFF:
            return None  # an unusual header: OpenCV decides
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker in _JPEG_STANDALONE:
            pos += 2
        elif marker == _JPEG_SCAN:
            break
        else:
            if pos + 4 > len(data):
                return f'truncated JPEG: cut inside its header ({len(data)} bytes)'
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')
    if data.find(_JPEG_END, pos) < 0:
        return (f'truncated JPEG: no end-of-image marker after the image data '
                f'({len(data)} bytes; an interrupted download or copy?)')
    return None


def _png_problem(data):
    """Why a PNG byte string is incomplete (no IEND chunk), or None."""
    pos = len(_PNG_START)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], 'big')
        if data[pos + 4:pos + 8] == b'IEND':
            return None
        pos += 12 + length  # length, type, data, CRC
    return (f'truncated PNG: no IEND chunk ({len(data)} bytes; an interrupted '
            f'download or copy?)')


def check_image_bytes(data, path):
    """Raise :class:`UnreadableImageError` naming ``path`` if ``data`` is empty,
    or a JPEG / PNG that was cut short. Other formats are left to the decoder."""
    if len(data) == 0:
        raise UnreadableImageError(f'{path}: empty file (0 bytes)')
    problem = None
    if data.startswith(_JPEG_START):
        problem = _jpeg_problem(data)
    elif data.startswith(_PNG_START):
        problem = _png_problem(data)
    if problem:
        raise UnreadableImageError(f'{path}: {problem}')
    return data


def _decode(data, path, channel_order):
    try:
        img = mmcv.imfrombytes(data, flag='color', backend='cv2')  # BGR
    except Exception as err:  # OpenCV raises its own error type on odd input
        raise UnreadableImageError(f'{path}: OpenCV cannot decode it ({err})') from err
    if img is None:
        raise UnreadableImageError(
            f'{path}: not an image OpenCV can decode (another file type, or an '
            f'image format this OpenCV build lacks)')
    return mmcv.bgr2rgb(img) if channel_order == 'rgb' else img


def decode_image(path, channel_order='rgb'):
    """The image at ``path`` as an (H, W, 3) uint8 array in ``channel_order``
    ('rgb' or 'bgr', the order of arrays that mmcv's loaders produce).

    Grayscale, RGBA (alpha dropped), palette and 16-bit images become 8-bit
    3-channel; EXIF orientation is applied. A missing, empty, truncated or
    undecodable file raises :class:`UnreadableImageError` naming it.
    """
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise UnreadableImageError(f'{path}: cannot read it ({err.strerror})') from err
    return _decode(check_image_bytes(data, path), path, channel_order)


class ImageCheckingBackend(LocalBackend):
    """mmengine's local file backend whose reads refuse incomplete images.

    Selected with ``backend_args=dict(backend='checked_image')`` on mmcv's
    ``LoadImageFromFile``; only image reads should go through it.
    """

    def get(self, filepath):
        return check_image_bytes(super().get(filepath), filepath)


register_backend(BACKEND_NAME, ImageCheckingBackend, force=True)


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments) reading through the checking
    backend, whose failures name the image file.

    Args:
        on_error (str): what an unreadable image does: 'raise' stops with an
            :class:`UnreadableImageError` naming the file (default); 'skip'
            logs a warning with the file, the reason and how many images this
            process has skipped, and returns None, so that an mmengine dataset
            in training draws another image instead. Evaluation cannot skip
            (mmengine refuses a missing test sample), so use it in training
            pipelines only.
        **kwargs: the arguments of mmcv's ``LoadImageFromFile``; without
            ``backend_args`` (or ``file_client_args``) files are read through
            :class:`ImageCheckingBackend`.
    """

    skipped = 0  # per process: each data loader worker counts its own

    def __init__(self, on_error='raise', **kwargs):
        if on_error not in ON_ERROR:
            raise ValueError(f'LoadCheckedImageFromFile: on_error must be one of '
                             f'{ON_ERROR}, got {on_error!r}')
        if kwargs.get('backend_args') is None and kwargs.get('file_client_args') is None:
            kwargs['backend_args'] = dict(CHECKED_BACKEND_ARGS)
        super().__init__(**kwargs)
        self.on_error = on_error

    def transform(self, results):
        try:
            return super().transform(results)
        except Exception as err:
            path = results.get('img_path')
            if isinstance(err, UnreadableImageError):
                error = err
            elif isinstance(err, AssertionError):  # mmcv's "failed to load image"
                error = UnreadableImageError(f'{path}: not an image OpenCV can decode')
            else:
                error = UnreadableImageError(f'{path}: {type(err).__name__}: {err}')
            if self.on_error == 'raise':
                raise error from err
        LoadCheckedImageFromFile.skipped += 1
        print_log(f'skipped an unreadable training image ({LoadCheckedImageFromFile.skipped} '
                  f'skipped by this process so far): {error}. Set on_error=\'raise\' on '
                  f'LoadCheckedImageFromFile to stop instead.',
                  logger='current', level=logging.WARNING)
        return None

    def __repr__(self):
        return f'{super().__repr__()[:-1]}, on_error={self.on_error!r})'
