"""docs/paper_rows.md: every row's command names a shipped config and the GPU
count of its recipe, and (slow tier) each config builds through its toolbox."""
import copy
import re
import shlex

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from helpers import REPO

DOC = REPO / 'docs' / 'paper_rows.md'
TEXT = DOC.read_text()
COMMANDS = re.findall(r'`(bash tools/dist_train\.sh [^`]+)`', TEXT)
CONFIGS = sorted({shlex.split(c)[2] for c in COMMANDS})


def test_every_row_has_one_launch_command_of_a_shipped_config():
    assert len(COMMANDS) >= 20
    for command in COMMANDS:
        bash, script, config, gpus, *more = shlex.split(command)
        assert (bash, script, more) == ('bash', 'tools/dist_train.sh', []), command
        assert (REPO / config).is_file(), config
        # the recipe's GPU count, as its name states ({N}xb{B}), 8 or 4
        recipe_gpus = re.search(r'_(\d+)xb\d+', config).group(1)
        assert gpus == recipe_gpus and gpus in ('4', '8'), command
    assert len(COMMANDS) == len(set(COMMANDS))


def test_each_section_names_its_sources():
    for source in ('mmdet model zoo', 'mmseg model zoo', 'get_flops.py'):
        assert source in TEXT, source
    # the rows that cannot be produced here say so and why
    assert 'ImageNet' in TEXT and 'mmpretrain' in TEXT


@pytest.mark.slow
def test_every_config_builds_through_its_toolbox():
    for config in CONFIGS:
        cfg = Config.fromfile(REPO / config)
        scope = cfg.default_scope
        registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.backbone.init_cfg = None  # no weight files here
        model_cfg.pop('pretrained', None)
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.build(model_cfg)
        assert sum(p.numel() for p in model.parameters()) > 0, config
