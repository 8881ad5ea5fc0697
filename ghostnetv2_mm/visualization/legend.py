"""A legend under a segmentation picture: colour swatch, class name and share of
the pixels for every class drawn, largest first (the colours alone do not say
which of 100+ classes a region is)."""
import numpy as np

ROW_HEIGHT = 20
SWATCH = 14
ENTRY_WIDTH = 200
PAD = 3


def class_shares(label_map, num_classes):
    """``[(class, pixel count), ...]`` of the labels < ``num_classes`` in
    ``label_map``, largest first (ties by class index)."""
    counts = np.bincount(label_map.ravel().astype(np.int64), minlength=num_classes)
    counts = counts[:num_classes]
    present = [(int(c), int(counts[c])) for c in np.flatnonzero(counts)]
    return sorted(present, key=lambda item: (-item[1], item[0]))


def legend_height(num_entries, width):
    """Height of the legend strip for ``num_entries`` classes under a picture
    ``width`` pixels wide."""
    if num_entries == 0:
        return 0
    per_row = max(1, width // ENTRY_WIDTH)
    return -(-num_entries // per_row) * ROW_HEIGHT + PAD


def add_legend(image, label_map, classes, palette):
    """``image`` (RGB, H x W) with the legend strip appended below it."""
    import cv2
    height, width = image.shape[:2]
    shares = class_shares(label_map, len(classes))
    strip = np.full((legend_height(len(shares), width), width, 3), 255, np.uint8)
    per_row = max(1, width // ENTRY_WIDTH)
    total = max(1, label_map.size)
    for i, (label, pixels) in enumerate(shares):
        x = (i % per_row) * ENTRY_WIDTH + PAD
        y = (i // per_row) * ROW_HEIGHT + PAD
        color = tuple(int(v) for v in palette[label])
        cv2.rectangle(strip, (x, y), (x + SWATCH - 1, y + SWATCH - 1), color, -1)
        text = f'{classes[label]} {100 * pixels / total:.0f}%'
        cv2.putText(strip, text, (x + SWATCH + 4, y + SWATCH - 2),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([image, strip]) if len(strip) else image
