"""Evaluate the deploy-mode model with the ordinary test loop."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...deploy import switch_to_deploy
from ...registry import HOOKS


@HOOKS.register_module()
class DeployModeHook(Hook):
    """Switch the model to deploy mode once its checkpoint is loaded, before
    testing (``tools/test.py --deploy``), so the reported metrics are those
    of the model that will be shipped."""

    priority = 'VERY_HIGH'

    def before_test(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        switch_to_deploy(model)
