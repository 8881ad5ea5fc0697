"""tools/deploy: deploy checkpoints that reload, and ONNX export from config + checkpoint."""
import subprocess
import sys

import onnx
import torch

from ghostnetv2_mm.export import NetworkPart
from ghostnetv2_mm.utils.model_loading import build_model_from_config
from helpers import assert_close_to_scale, randomize_norms

REPO = __import__('pathlib').Path(__file__).resolve().parents[2]


def run_tool(*args):
    result = subprocess.run([sys.executable, *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def trained_like_checkpoint(config, path):
    model, _ = build_model_from_config(str(REPO / config))
    randomize_norms(model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model


def test_switch_to_deploy_tool_roundtrip(tmp_path):
    config = 'configs/fpn_ghostnetv2_ade20k.py'
    original = trained_like_checkpoint(config, tmp_path / 'seg.pth')
    out = run_tool('tools/deploy/switch_to_deploy.py', config, tmp_path / 'seg.pth',
                   tmp_path / 'deploy' / 'seg')
    assert 'max |deploy - original|' in out
    deployed, cfg = build_model_from_config(str(tmp_path / 'deploy' / 'seg.py'),
                                            str(tmp_path / 'deploy' / 'seg.pth'))
    assert cfg.model.backbone.deploy is True
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in deployed.backbone.modules())
    x = torch.randn(1, 3, 129, 191)
    with torch.no_grad():
        assert_close_to_scale(NetworkPart(deployed)(x), NetworkPart(original)(x))


def test_export_onnx_tool_from_config_and_checkpoint(tmp_path):
    config = 'configs/retinanet_ghostnetv2_coco.py'
    trained_like_checkpoint(config, tmp_path / 'det.pth')
    out = run_tool('tools/deploy/export_onnx.py', '--config', config, '--checkpoint',
                   tmp_path / 'det.pth', '--out', tmp_path / 'det.onnx',
                   '--verify', 320, 320, '--verify', 227, 301)
    assert 'onnxruntime vs PyTorch at 1x3x227x301' in out
    ops = [n.op_type for n in onnx.load(str(tmp_path / 'det.onnx')).graph.node]
    assert 'BatchNormalization' not in ops and ops.count('Resize') >= 14
