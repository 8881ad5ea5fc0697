"""Hooks and the CPU DDP wrapper (registered on import), and the run helpers
behind ``tools/``: ``config`` (command line to config), ``data_paths``,
``pretrained`` (missing weights) and ``distributed``."""
from .distributed import CPUDistributedDataParallel
from .hooks import DeployModeHook

__all__ = ['CPUDistributedDataParallel', 'DeployModeHook']
