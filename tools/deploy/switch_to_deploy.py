#!/usr/bin/env python
"""Switch a trained GhostNetV2 detector / segmentor to deploy mode and save it.

Builds the model from CONFIG, loads CHECKPOINT, switches its backbone to
deploy mode (``ghostnetv2_mm.deploy.switch_to_deploy``), checks that the raw
network outputs are unchanged at an odd, non-square size, and writes

* ``OUT.pth``: the deploy checkpoint (state dict + meta), and
* ``OUT.py``: the config with ``model.backbone.type='DeployedGhostNetV2'``,
  which builds the deployed structure, so that ``tools/test.py OUT.py
  OUT.pth`` (or ``init_detector`` / ``init_model``) evaluates it.

Neck and head norms stay as they are in the saved checkpoint (their configs
build them unfolded); ``tools/test.py --deploy`` and the ONNX export fold
those too, at load time.

    python tools/deploy/switch_to_deploy.py CONFIG CHECKPOINT work_dirs/deploy/model
"""
import argparse
import copy
import os
import sys

import torch
from mmengine.config import DictAction

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.apis import init_model
from ghostnetv2_mm.checkpoint import use_safe_checkpoint_loader
from ghostnetv2_mm.deploy import NetworkPart, switch_to_deploy


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

    use_safe_checkpoint_loader()
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    cfg = model.cfg
    if not isinstance(model.backbone, GhostNetV2):
        sys.exit(f'error: the backbone is a {type(model.backbone).__name__}, not a '
                 f'GhostNetV2')
    x = torch.randn(1, 3, *args.shape)
    with torch.no_grad():
        refs = NetworkPart(model)(x)
        switch_to_deploy(model.backbone)
        outs = NetworkPart(model)(x)
    diff = max_relative_diff(outs, refs)
    print(f'max |deploy - original| / output scale at 1x3x{args.shape[0]}x'
          f'{args.shape[1]}: {diff:.2e} over {len(outs)} outputs')
    if diff > args.tolerance:
        sys.exit(f'error: deploy outputs differ by {diff:.2e} > {args.tolerance}')

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(deploy=True, source=os.path.abspath(args.checkpoint))
    if getattr(model, 'dataset_meta', None):
        meta['dataset_meta'] = model.dataset_meta
    torch.save(dict(state_dict=model.state_dict(), meta=meta),
               args.out + '.pth')
    deploy_cfg = copy.deepcopy(cfg)
    deploy_cfg.model.backbone.type = 'DeployedGhostNetV2'
    deploy_cfg.model.backbone.init_cfg = None
    deploy_cfg.load_from = None
    deploy_cfg.dump(args.out + '.py')
    print(f'wrote {args.out}.pth and {args.out}.py')


if __name__ == '__main__':
    main()
