#!/usr/bin/env python
"""Switch a trained GhostNetV2 detector / segmentor to deploy mode and save it.

Builds the model from CONFIG, loads CHECKPOINT, folds every BatchNorm of the
backbone into its conv (``backbone.switch_to_deploy()``), checks that the raw
network outputs are unchanged at an odd, non-square size, and writes

* ``OUT.pth``: the deploy checkpoint (state dict + meta), and
* ``OUT.py``: the config with ``model.backbone.deploy=True``, which builds the
  folded structure so that ``tools/test.py OUT.py OUT.pth`` evaluates it.

Neck and head norms are left as they are in the saved checkpoint (their
configs build them unfolded); ``tools/test.py --deploy`` and the ONNX export
fold those too, at load time.

    python tools/deploy/switch_to_deploy.py CONFIG CHECKPOINT work_dirs/deploy/model
"""
import argparse
import copy
import os
import sys

import torch
from mmengine.config import DictAction

import ghostnetv2_mm  # noqa: F401
from ghostnetv2_mm.export import NetworkPart
from ghostnetv2_mm.utils.model_loading import build_model_from_config
from ghostnetv2_mm.utils.run_config import trust_local_checkpoints


def max_relative_diff(outs, refs):
    return max(((o - r).abs().max() / r.abs().max().clamp_min(1e-12)).item()
               for o, r in zip(outs, refs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output prefix: writes OUT.pth and OUT.py')
    parser.add_argument('--shape', nargs=2, type=int, default=[227, 301],
                        metavar=('H', 'W'), help='input size for the check')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='max difference relative to the output scale')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)

    trust_local_checkpoints()
    model, cfg = build_model_from_config(args.config, args.checkpoint, args.cfg_options)
    if not hasattr(model.backbone, 'switch_to_deploy'):
        sys.exit(f'error: the backbone {type(model.backbone).__name__} has no '
                 f'switch_to_deploy()')
    x = torch.randn(1, 3, *args.shape)
    with torch.no_grad():
        refs = NetworkPart(model)(x)
        model.backbone.switch_to_deploy()
        outs = NetworkPart(model)(x)
    diff = max_relative_diff(outs, refs)
    print(f'max |deploy - original| / output scale at 1x3x{args.shape[0]}x'
          f'{args.shape[1]}: {diff:.2e} over {len(outs)} outputs')
    if diff > args.tolerance:
        sys.exit(f'error: deploy outputs differ by {diff:.2e} > {args.tolerance}')

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(deploy=True, source=os.path.abspath(args.checkpoint))),
               args.out + '.pth')
    deploy_cfg = copy.deepcopy(cfg)
    deploy_cfg.model.backbone.deploy = True
    deploy_cfg.model.backbone.init_cfg = None
    deploy_cfg.load_from = None
    deploy_cfg.dump(args.out + '.py')
    print(f'wrote {args.out}.pth and {args.out}.py')


if __name__ == '__main__':
    main()
