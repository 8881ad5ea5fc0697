"""Helpers shared by the test modules (tests/ is on sys.path through conftest)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from torch.nn.modules.batchnorm import _BatchNorm

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs'
SHARED = Path(os.environ.get('GHOSTNETV2_SHARED', REPO.parent / 'shared'))
THREADS = max(1, min(2, os.cpu_count() or 1))
ALL_INDICES = (0, 1, 2, 3, 4, 5)
# For tool runs in subprocesses: one intra-op thread. On a busy 2-core machine
# two threads wait on each other at every op (several times slower); on these
# small models they gain little, and one thread pins the summation order.
ONE_THREAD = dict(os.environ, OMP_NUM_THREADS='1')


def randomize_norms(model, seed=0):
    """Non-trivial BN statistics and affine parameters, as trained models have."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def assert_close_to_scale(outs, refs, tol=1e-4):
    """Every output within ``tol`` of its reference, relative to the reference's scale."""
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        scale = ref.abs().max().item()
        assert (out - ref).abs().max().item() <= tol * max(scale, 1e-6)


def channels_last(*shape):
    return torch.randn(*shape).contiguous(memory_format=torch.channels_last)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_tool(*args, env=None, timeout=1200, check=True):
    """``python TOOL ARGS...`` from the repository root; its combined output
    (the return code must be 0 when ``check``)."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env or ONE_THREAD,
                          capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, output[-6000:]
    return output if check else (proc.returncode, output)


def run_dist(script, *args, timeout=900, env=None, check=True):
    """``bash tools/dist_*.sh ...`` with CPU processes (the gloo path, even
    where a GPU exists) on a free port; the combined output (the return code
    must be 0 when ``check``; otherwise ``(returncode, output)``)."""
    env = dict(env or ONE_THREAD, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(['bash', script, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, output[-6000:]
    return output if check else (proc.returncode, output)


def plain(node):
    """Config values without the ``_scope_`` marks of cross-package bases."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(plain(v) for v in node)
    return node


def load_tool(relpath):
    """A tool script under tools/ as a module, to call its ``main(argv)`` in
    this process (faster than a subprocess, and its return value is visible)."""
    import importlib.util
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(f'tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def optimizer_step_moves(model, cfg, loss, params, min_moved=1.0):
    """Backward on ``loss`` and one step of the config's own optimizer
    (``cfg.optim_wrapper``); every parameter stays finite and at least
    ``min_moved`` of ``params`` (name -> parameter) change."""
    from mmengine.optim import build_optim_wrapper
    before = {name: p.detach().clone() for name, p in params.items()}
    build_optim_wrapper(model, cfg.optim_wrapper).update_params(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    still = [name for name, p in params.items() if torch.equal(p, before[name])]
    assert len(params) - len(still) >= min_moved * len(params), \
        f'{len(still)} of {len(params)} parameters did not move: {still[:5]}'


def two_samples(scope, dataset_cfg):
    """The first two samples of ``dataset_cfg`` (an mmdet or mmseg dataset,
    ``scope``) through its pipeline, collated as a dataloader does."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        dataset = DATASETS.build(dict(dataset_cfg, indices=2))
        return pseudo_collate([dataset[0], dataset[1]])
