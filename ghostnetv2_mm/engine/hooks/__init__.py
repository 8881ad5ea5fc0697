from .deploy_mode_hook import DeployModeHook

__all__ = ['DeployModeHook']
