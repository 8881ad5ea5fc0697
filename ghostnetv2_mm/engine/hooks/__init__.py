from .atomic_checkpoint_hook import AtomicCheckpointHook, write_atomically
from .deploy_mode_hook import DeployModeHook
from .random_state_hook import RandomStateHook, capture_random_state, restore_random_state

__all__ = ['AtomicCheckpointHook', 'DeployModeHook', 'RandomStateHook',
           'capture_random_state', 'restore_random_state', 'write_atomically']
