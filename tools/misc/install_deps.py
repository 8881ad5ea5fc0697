#!/usr/bin/env python
"""Install whatever the project needs that this Python does not have yet.

Idempotent and quiet: every check is an import/version probe, and pip only
runs for what is missing. An existing torch (CPU or CUDA) is always kept.
mmcv 2.1.0 is built from source with its compiled ops, which mmdet needs
(about 7 minutes on 2 cores the first time; pip caches the wheel after).
"""
import argparse
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORCH_PIN = 'torch==2.13.0'  # the CPU build that lies on this workplace's disk
RUNTIME_SETUPTOOLS = 'setuptools>=77,<81'  # torch wants >= 77; mmengine needs pkg_resources

EXTRA_NAMES = ('det', 'seg', 'deploy', 'tests')  # setup.py's extras, requirements/*.txt


def requirements(name):
    """(distribution, pip spec) pairs of requirements/<name>.txt; a ``==`` pin
    is checked against the installed version."""
    with open(os.path.join(ROOT, 'requirements', f'{name}.txt')) as f:
        specs = [line.split('#', 1)[0].strip() for line in f]
    return [(re.split(r'[=<>!~\[ ]', spec, 1)[0], spec) for spec in specs if spec]


def log(msg):
    print(f'[install_deps] {msg}', flush=True)


def installed_version(dist):
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def satisfied(dist, spec):
    version = installed_version(dist)
    if version is None:
        return False
    if '==' in spec:
        return version == spec.split('==', 1)[1]
    return True


def pip(*args, env=None):
    cmd = [sys.executable, '-m', 'pip', 'install', '-qq', '--root-user-action=ignore',
           '--disable-pip-version-check', *args]
    log('pip install ' + ' '.join(args))
    subprocess.check_call(cmd, env=env)


def probe(code):
    """Run `code` in a fresh interpreter outside the checkout; True on success."""
    return subprocess.call([sys.executable, '-c', code], cwd=os.path.expanduser('~'),
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0


def ensure_torch():
    if installed_version('torch') is None:
        pip(TORCH_PIN, RUNTIME_SETUPTOOLS)


def ensure_runtime_setuptools():
    """mmengine finds ``mmdet::``/``mmseg::`` base configs through pkg_resources,
    which setuptools 81 removed; torch 2.13 asks for setuptools >= 77."""
    major = int((installed_version('setuptools') or '0').split('.')[0])
    if not 77 <= major < 81 or not probe('import pkg_resources'):
        pip(RUNTIME_SETUPTOOLS)


def ensure_mmcv():
    if installed_version('mmcv') == '2.1.0' and probe('import mmcv.ops; mmcv.ops.nms'):
        return
    # mmcv 2.1.0's setup.py needs pkg_resources from setuptools < 70, while torch
    # wants a newer setuptools: the old one goes to a private folder that only
    # this build sees, so the environment itself stays consistent.
    missing_build = [spec for dist, spec in [('ninja', 'ninja'), ('psutil', 'psutil')]
                     if not satisfied(dist, spec)]
    if missing_build:
        pip(*missing_build)
    build_tools = os.path.join(tempfile.gettempdir(), 'ghostnetv2_mm-mmcv-build-tools')
    if not os.path.isdir(os.path.join(build_tools, 'pkg_resources')):
        pip('--upgrade', '--no-warn-conflicts', '--target', build_tools,
            'setuptools<70', 'wheel')
    log('building mmcv 2.1.0 with ops (first time: about 7 minutes on 2 cores)')
    # -O1 -g0 (appended, so they win over Python's "-g -O3") roughly halves the
    # compile time; the ops mmdet calls on CPU (NMS, RoI ops) are not hot here.
    env = dict(os.environ, MMCV_WITH_OPS='1',
               CFLAGS=(os.environ.get('CFLAGS', '') + ' -O1 -g0').strip(),
               PYTHONPATH=os.pathsep.join(
                   p for p in (build_tools, os.environ.get('PYTHONPATH')) if p))
    pip('--no-build-isolation', 'mmcv==2.1.0', env=env)


def ensure(pairs):
    missing = [spec for dist, spec in pairs if not satisfied(dist, spec)]
    if missing:
        pip(*missing)


def ensure_project():
    """Editable install of this checkout (no dependency resolution: done above)."""
    code = ('import ghostnetv2_mm, os, sys; sys.exit(0 if os.path.dirname(os.path.dirname('
            f'ghostnetv2_mm.__file__)) == {ROOT!r} else 1)')
    if not probe(code):
        pip('--no-deps', '--no-build-isolation', '-e', ROOT)


def ensure_kernels():
    """Build the compiled deploy kernels once (about 40 s), so the first
    switch_to_deploy() does not; a machine that cannot build them gets a
    warning and deploy mode runs without them."""
    check = ('import sys; from ghostnetv2_mm.deploy import ops; '
             'sys.exit(0 if not ops.kernels_enabled() or ops.kernels_built() else 1)')
    if not probe(check):
        log('building the compiled deploy kernels (once per machine, ~40 s)')
        subprocess.call([sys.executable, '-m', 'ghostnetv2_mm.deploy.ops'],
                        cwd=os.path.expanduser('~'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--extras', nargs='*', default=[], choices=EXTRA_NAMES,
                        help='optional groups to install as well')
    args = parser.parse_args()
    ensure_torch()
    ensure_runtime_setuptools()
    ensure([('numpy', 'numpy'), ('mmengine', 'mmengine==0.10.7')])
    ensure_mmcv()
    for extra in args.extras:
        ensure(requirements(extra))
    ensure_project()
    if 'deploy' in args.extras:
        ensure_kernels()


if __name__ == '__main__':
    main()
