"""Datasets that the stock mmseg classes cannot express (registered in mmseg's DATASETS)."""
from .seg_folder import SegFolderDataset, read_class_names

__all__ = ['SegFolderDataset', 'read_class_names']
