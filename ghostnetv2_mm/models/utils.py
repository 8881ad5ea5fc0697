"""Small helpers of the model definitions."""


def make_divisible(value, divisor=4, min_value=None):
    """The authors' channel rounding (``_make_divisible``): the nearest multiple
    of ``divisor``, at least ``min_value`` (default ``divisor``), and never more
    than 10% below ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
