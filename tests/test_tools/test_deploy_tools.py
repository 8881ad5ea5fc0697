"""tools/deploy: a deploy checkpoint + config that every loader reads, and the
ONNX export of a detector from config + checkpoint, checked in onnxruntime."""
import onnx
import pytest
import torch

from ghostnetv2_mm.apis import init_model
from ghostnetv2_mm.checkpoint import use_safe_checkpoint_loader
from ghostnetv2_mm.deploy import NetworkPart
from ghostnetv2_mm.deploy.layers import DeployGhostBottleneck
from helpers import CONFIGS, assert_close_to_scale, randomize_norms, run_tool

pytestmark = pytest.mark.slow


def trained_like_checkpoint(config, path):
    model = randomize_norms(init_model(str(config)))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model


def test_switch_to_deploy_tool_writes_a_checkpoint_init_model_loads(tmp_path):
    config = CONFIGS / 'ghostnetv2' / 'fpn_ghostnetv2-1.0x_4xb4-80k_ade20k-512x512.py'
    original = trained_like_checkpoint(config, tmp_path / 'seg.pth')
    out = run_tool('tools/deploy/switch_to_deploy.py', config, tmp_path / 'seg.pth',
                   tmp_path / 'deploy' / 'seg')
    assert 'max |deploy - original|' in out
    use_safe_checkpoint_loader()
    deployed = init_model(str(tmp_path / 'deploy' / 'seg.py'),
                          str(tmp_path / 'deploy' / 'seg.pth'))
    assert deployed.cfg.model.backbone.type == 'DeployedGhostNetV2'
    assert isinstance(deployed.backbone.blocks[3][0], DeployGhostBottleneck)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in deployed.backbone.modules())
    x = torch.randn(1, 3, 129, 191)
    with torch.no_grad():
        assert_close_to_scale(NetworkPart(deployed)(x), NetworkPart(original)(x))


def test_export_onnx_tool_from_config_and_checkpoint(tmp_path):
    config = CONFIGS / 'retinanet_ghostnetv2_coco.py'
    trained_like_checkpoint(config, tmp_path / 'det.pth')
    out = run_tool('tools/deploy/export_onnx.py', '--config', config, '--checkpoint',
                   tmp_path / 'det.pth', '--out', tmp_path / 'det.onnx',
                   '--verify', 320, 320, '--verify', 227, 301)
    assert 'onnxruntime vs PyTorch at 1x3x227x301' in out
    ops = [n.op_type for n in onnx.load(str(tmp_path / 'det.onnx')).graph.node]
    assert 'BatchNormalization' not in ops and ops.count('Resize') >= 14
