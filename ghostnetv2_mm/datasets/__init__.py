"""Image loading for every pipeline (mmcv only), and datasets the stock mmseg
classes cannot express, registered only where mmseg is installed (a
detection-only install has no use for them)."""
from .transforms import (LoadCheckedImageFromFile, UnreadableImageError,  # noqa: F401
                         decode_image)

__all__ = ['LoadCheckedImageFromFile', 'UnreadableImageError', 'decode_image']
try:
    import mmseg  # noqa: F401
except ModuleNotFoundError as err:
    if err.name != 'mmseg':
        raise
else:
    from .seg_folder import SegFolderDataset, read_class_names
    __all__ += ['SegFolderDataset', 'read_class_names']
