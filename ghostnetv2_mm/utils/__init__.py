from .run_config import (apply_train_args, apply_tta, config_scope,
                         enable_visualization, load_config, save_test_predictions)

__all__ = ['apply_train_args', 'apply_tta', 'config_scope', 'enable_visualization',
           'load_config', 'save_test_predictions']
