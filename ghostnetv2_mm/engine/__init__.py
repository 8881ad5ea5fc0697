"""Hooks (registered on import) and the run helpers behind ``tools/``."""
from .hooks import DeployModeHook

__all__ = ['DeployModeHook']
