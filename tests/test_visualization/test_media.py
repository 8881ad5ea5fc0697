"""What the inference tool reads: files, folders, globs and videos, output names
that are unique and recognisable, and clear errors for inputs it cannot use."""
import cv2
import numpy as np
import pytest

from ghostnetv2_mm.datasets import UnreadableImageError
from ghostnetv2_mm.visualization.inference import run_inference
from ghostnetv2_mm.visualization.media import Source, collect_sources, open_video


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'x')
    return path


def test_files_folders_and_globs(tmp_path):
    a = touch(tmp_path / 'photos' / 'a.jpg')
    touch(tmp_path / 'photos' / 'b.PNG')
    touch(tmp_path / 'photos' / 'clip.mp4')
    touch(tmp_path / 'photos' / 'notes.txt')
    touch(tmp_path / 'photos' / 'deeper' / 'c.jpeg')
    sources, skipped = collect_sources([str(tmp_path / 'photos')])
    # a folder: its images and videos, sorted, not recursing; other files listed
    assert [(s.name, s.kind) for s in sources] == [('a', 'image'), ('b', 'image'),
                                                   ('clip', 'video')]
    assert skipped == [str(tmp_path / 'photos' / 'notes.txt')]
    # a recursive glob, and a file given twice (once by glob) is read once
    sources, _ = collect_sources([str(tmp_path / 'photos' / '**' / '*.jp*g'), str(a)])
    assert [s.name for s in sources] == ['a', 'deeper/c']
    assert sources[0].path.endswith('a.jpg')


def test_outputs_never_overwrite_each_other(tmp_path):
    paths = [touch(tmp_path / 'x' / 'img.jpg'), touch(tmp_path / 'x' / 'img.png'),
             touch(tmp_path / 'y' / 'img.jpg')]
    sources, _ = collect_sources([str(p) for p in paths])
    assert [s.name for s in sources] == ['x/img_jpg', 'x/img_png', 'y/img']


@pytest.mark.parametrize('make, message', [
    (lambda d: d / 'missing.jpg', 'no such file or folder'),
    (lambda d: touch(d / 'doc.pdf'), 'not an image or video'),
    (lambda d: (touch(d / 'empty' / 'a.txt').parent), 'holds no image or video'),
    (lambda d: d / '*.bmp', "glob '"),
])
def test_unusable_inputs_are_named(tmp_path, make, message):
    spec = str(make(tmp_path))
    with pytest.raises((FileNotFoundError, ValueError), match=message) as err:
        collect_sources([spec])
    assert spec in str(err.value)


def test_videos_are_read_frame_by_frame_and_bad_ones_named(tmp_path):
    clip = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*'MJPG'), 5, (32, 24))
    for value in (0, 120, 240):
        writer.write(np.full((24, 32, 3), (value, 0, 255 - value), np.uint8))
    writer.release()
    video = open_video(clip)
    assert video.fps == 5 and video.frame_cnt == 3
    frames = list(video)
    assert len(frames) == 3 and frames[0].shape == (24, 32, 3)
    assert frames[2][..., 0].mean() > 200 > frames[2][..., 2].mean()  # BGR, as written
    broken = touch(tmp_path / 'broken.mp4')
    with pytest.raises(ValueError, match=f'{broken}: OpenCV cannot open this video'):
        open_video(str(broken))


def test_an_unreadable_image_stops_the_run_naming_it(tmp_path):
    empty = touch(tmp_path / 'empty.jpg')
    empty.write_bytes(b'')
    with pytest.raises(UnreadableImageError, match=str(empty)):
        run_inference(None, [Source(str(empty), 'image', 'empty')], str(tmp_path))
