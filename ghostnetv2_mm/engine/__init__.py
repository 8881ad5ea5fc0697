from .deploy_hook import DeployModeHook

__all__ = ['DeployModeHook']
