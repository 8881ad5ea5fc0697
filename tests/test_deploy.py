"""Deploy mode: folded norms give the eval-mode outputs; channels_last; compile."""
import copy

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.deploy import switch_model_to_deploy
from helpers import assert_close_to_scale, randomize_norms

ALL = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope='module')
def official_model(official_checkpoint):
    model = GhostNetV2(out_indices=ALL, init_cfg=dict(
        type='Pretrained', checkpoint=str(official_checkpoint)))
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('hw', [(33, 65), (227, 301), (64, 64)])
def test_deploy_matches_eval_model(official_model, hw):
    x = torch.randn(2, 3, *hw)
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    with torch.no_grad():
        assert_close_to_scale(deployed(x), official_model(x))
    assert not any(isinstance(m, _BatchNorm) for m in deployed.modules())
    assert not any(isinstance(child, torch.nn.Identity)
                   for m in deployed.modules() if isinstance(m, torch.nn.Sequential)
                   for child in m)
    names = dict(deployed.named_modules())
    assert 'blocks.3.0.ghost1.short_conv.0' in names  # DFC convs kept, norms folded
    assert names['blocks.3.0.ghost1.short_conv.0'].bias is not None
    assert 'blocks.3.0.ghost1.short_conv.1' not in names


@pytest.mark.parametrize('width', [1.3, 1.6])
def test_deploy_other_widths(width):
    model = randomize_norms(GhostNetV2(widen_factor=width, out_indices=ALL)).eval()
    x = torch.randn(1, 3, 97, 131)
    with torch.no_grad():
        ref = model(x)
        assert_close_to_scale(copy.deepcopy(model).switch_to_deploy()(x), ref)


def test_deploy_checkpoint_reloads_into_deploy_built_model(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    rebuilt = GhostNetV2(out_indices=ALL, deploy=True)
    rebuilt.load_state_dict(deployed.state_dict(), strict=True)
    x = torch.randn(1, 3, 75, 51)
    with torch.no_grad():
        for a, b in zip(rebuilt(x), deployed(x)):
            assert torch.equal(a, b)


def test_training_after_deploy_is_refused(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    assert deployed.switch_to_deploy() is deployed  # idempotent
    with pytest.raises(RuntimeError, match='deploy mode .* cannot be trained'):
        deployed.train()


def test_unfoldable_norm_is_named():
    model = GhostNetV2(norm_cfg=dict(type='GN', num_groups=4), out_indices=(1,))
    with pytest.raises(ValueError, match=r"\['GroupNorm'\] cannot be folded"):
        model.switch_to_deploy()


def test_channels_last_matches(official_model):
    x = torch.randn(1, 3, 227, 301)
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    cl = copy.deepcopy(deployed).to(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = official_model(x)
        assert_close_to_scale(cl(x.contiguous(memory_format=torch.channels_last)), ref)
        assert_close_to_scale(cl(x), ref)


@pytest.mark.parametrize('deploy', [False, True])
def test_dynamo_sees_no_graph_breaks(deploy):
    model = randomize_norms(GhostNetV2(out_indices=ALL)).eval()
    if deploy:
        model.switch_to_deploy()
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(torch.randn(1, 3, 96, 128))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_compiled_deploy_backbone_matches(official_model):
    deployed = copy.deepcopy(official_model).switch_to_deploy()
    deployed = deployed.to(memory_format=torch.channels_last)
    torch._dynamo.reset()
    compiled = torch.compile(deployed)
    x = torch.randn(1, 3, 161, 97).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert_close_to_scale(compiled(x), official_model(x))


def test_switch_model_to_deploy_folds_neck_and_head():
    """A whole YOLOv3 (BN in neck and head): same raw head outputs after the switch."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(dict(
            type='YOLOV3',
            data_preprocessor=dict(type='DetDataPreprocessor'),
            backbone=dict(type='GhostNetV2', out_indices=(2, 3, 4)),
            neck=dict(type='YOLOV3Neck', num_scales=3, in_channels=[160, 112, 40],
                      out_channels=[96, 96, 96]),
            bbox_head=dict(type='YOLOV3Head', num_classes=80, in_channels=[96, 96, 96],
                           out_channels=[96, 96, 96])))
    randomize_norms(model).eval()
    x = torch.randn(1, 3, 160, 224)
    with torch.no_grad():
        ref = model._forward(x)[0]
        switch_model_to_deploy(model)
        out = model._forward(x)[0]
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert_close_to_scale(out, ref)
