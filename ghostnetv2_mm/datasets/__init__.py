"""Datasets the stock mmseg classes cannot express; registered only where mmseg
is installed (a detection-only install has no use for them)."""
try:
    import mmseg  # noqa: F401
except ModuleNotFoundError as err:
    if err.name != 'mmseg':
        raise
    __all__ = []
else:
    from .seg_folder import SegFolderDataset, read_class_names
    __all__ = ['SegFolderDataset', 'read_class_names']
