"""Hooks and the CPU DDP wrapper (registered on import), and the run helpers
behind ``tools/``: ``config`` (command line to config), ``config_checks``
(contradictory settings), ``data_paths``, ``pretrained`` (missing weights),
``resume`` (the newest readable checkpoint) and ``distributed``."""
from .distributed import CPUDistributedDataParallel
from .hooks import AtomicCheckpointHook, DeployModeHook, RandomStateHook

__all__ = ['AtomicCheckpointHook', 'CPUDistributedDataParallel', 'DeployModeHook',
           'RandomStateHook']
