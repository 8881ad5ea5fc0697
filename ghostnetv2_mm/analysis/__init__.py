"""Cost figures: operation counts (``complexity``) and timings (``timing``)."""
from .complexity import ClassificationEquivalent, count_complexity

__all__ = ['ClassificationEquivalent', 'count_complexity']
