"""What the inference tool reads: image files, folders, globs and videos, and
the names its outputs take (unique, and recognisable as their inputs)."""
import glob
import os
import os.path as osp
from dataclasses import dataclass

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.ppm',
                    '.pgm', '.pbm')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg',
                    '.wmv')
GLOB_CHARS = '*?['


@dataclass
class Source:
    """One input: ``kind`` is 'image' or 'video'; ``name`` is the path its
    outputs take under the output folders, without extension."""
    path: str
    kind: str
    name: str = ''


def kind_of(path):
    ext = osp.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return 'image'
    if ext in VIDEO_EXTENSIONS:
        return 'video'
    return None


def collect_sources(specs):
    """Sources for command-line inputs: files, folders (their images and
    videos, not recursing) and globs (``**`` recurses). Every spec must give
    at least one image or video; files of other kinds in a folder or glob are
    skipped and listed in the returned ``skipped``."""
    sources, skipped, seen = [], [], set()
    for spec in specs:
        if osp.isdir(spec):
            paths = sorted(osp.join(spec, f) for f in os.listdir(spec)
                           if osp.isfile(osp.join(spec, f)))
            found_in = f'folder {spec}'
        elif osp.isfile(spec):
            if kind_of(spec) is None:
                raise ValueError(
                    f'{spec}: not an image or video file name (extensions read: '
                    f'{", ".join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)}); rename it '
                    f'or convert it')
            paths, found_in = [spec], None
        elif any(c in spec for c in GLOB_CHARS):
            paths = sorted(p for p in glob.glob(spec, recursive=True) if osp.isfile(p))
            found_in = f'glob {spec!r}'
        else:
            raise FileNotFoundError(f'{spec}: no such file or folder, and no glob '
                                    f'pattern (* ? [) to expand')
        usable = [p for p in paths if kind_of(p)]
        skipped += [p for p in paths if not kind_of(p)]
        if not usable:
            raise FileNotFoundError(f'{found_in} holds no image or video '
                                    f'({", ".join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)})')
        for path in usable:
            key = osp.realpath(path)
            if key not in seen:
                seen.add(key)
                sources.append(Source(path, kind_of(path)))
    name_outputs(sources)
    return sources, skipped


def name_outputs(sources):
    """Give each source an output name: its path relative to the folder that
    holds all inputs, without extension; where two would coincide (``a.jpg``
    and ``a.png``) both keep their extension as ``a_jpg`` / ``a_png``."""
    paths = [osp.abspath(s.path) for s in sources]
    root = osp.commonpath([osp.dirname(p) for p in paths]) if paths else ''
    stems = [osp.splitext(osp.relpath(p, root))[0] for p in paths]
    for source, path, stem in zip(sources, paths, stems):
        if stems.count(stem) > 1:
            stem = stem + '_' + osp.splitext(path)[1].lstrip('.').lower()
        source.name = stem
    names = [s.name for s in sources]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:  # e.g. a.JPG and a.jpg
        raise ValueError(f'inputs {clash} would write the same output files; rename '
                         f'one of each pair')
    return sources


def open_video(path):
    """mmcv's ``VideoReader`` for ``path`` (BGR frames, ``fps``, ``frame_cnt``),
    refused by name when OpenCV cannot open the file."""
    import mmcv
    reader = mmcv.VideoReader(path)
    if not reader.opened:
        raise ValueError(f'{path}: OpenCV cannot open this video (its build '
                         f'lacks the codec, or the file is damaged); convert it, '
                         f'e.g. ffmpeg -i {path} -c:v libx264 out.mp4, or extract '
                         f'its frames as images')
    return reader
