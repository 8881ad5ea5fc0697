"""Image loading that names the file it cannot read (registered on import; needs
only mmcv, so it serves detection-only and segmentation-only installs alike)."""
from .loading import (CHECKED_BACKEND_ARGS, ImageCheckingBackend, LoadCheckedImageFromFile,
                      UnreadableImageError, check_image_bytes, decode_image)

__all__ = ['CHECKED_BACKEND_ARGS', 'ImageCheckingBackend', 'LoadCheckedImageFromFile',
           'UnreadableImageError', 'check_image_bytes', 'decode_image']
