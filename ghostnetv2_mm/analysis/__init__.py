"""Cost figures (``complexity``, ``timing``) and run logs (``logs``)."""
from .complexity import ClassificationEquivalent, count_complexity
from .logs import read_scalars, scalars_file

__all__ = ['ClassificationEquivalent', 'count_complexity', 'read_scalars', 'scalars_file']
