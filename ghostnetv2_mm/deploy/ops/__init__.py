"""Compiled CPU kernels for deploy mode, built once per machine on first use.

One kernel for now: :func:`depthwise_conv_nhwc` (``depthwise_nhwc.cpp``), a
depthwise conv with bias and activation fused, for the small channels_last
maps where oneDNN's per-call setup costs several times the arithmetic. It is
compiled with the host's C++ compiler through ``torch.utils.cpp_extension``
(about 40 s, once) into a cache directory keyed on the source, torch, Python
and the CPU's instruction set, so a cached build is never run on a CPU it
was not compiled for. ``make install`` builds it ahead of time.

Without a compiler (or with ``GHOSTNETV2_MM_KERNELS=0``) nothing breaks:
:func:`load_kernels` returns ``None`` (with one warning saying why, when the
build failed) and deploy mode runs those convs through oneDNN.
"""
import hashlib
import os
import platform
import shutil
import sys
import threading
import warnings

import torch

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'depthwise_nhwc.cpp')
SWITCH = 'GHOSTNETV2_MM_KERNELS'  # '0' disables the compiled kernels
CACHE_ENV = 'GHOSTNETV2_MM_CACHE'  # where builds go (default ~/.cache/ghostnetv2_mm)
MODULE_NAME = 'ghostnetv2_mm_kernels'

# Activation codes of the kernel (``kNone`` ... in depthwise_nhwc.cpp).
ACT_NONE, ACT_CLAMP, ACT_SIGMOID = 0, 1, 2

_lock = threading.Lock()
_loaded = {}  # 'module': the extension or None, once tried


def _cpu_signature():
    """The CPU's instruction-set flags (the build uses -march=native)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return ' '.join(sorted(line.split(':', 1)[1].split()))
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_directory():
    """This machine's build directory for the current source and torch."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ghostnetv2_mm')
    digest = hashlib.sha256()
    with open(SOURCE, 'rb') as f:
        digest.update(f.read())
    for part in (torch.__version__, sys.version, platform.machine(), _cpu_signature()):
        digest.update(part.encode())
    return os.path.join(root, f'kernels-{digest.hexdigest()[:16]}')


def kernels_enabled():
    return os.environ.get(SWITCH, '1').strip().lower() not in ('0', 'false', 'no', 'off')


def _ninja_on_path():
    """torch's builder runs ``ninja``; the pip package's binary may not be on PATH."""
    if shutil.which('ninja'):
        return
    try:
        import ninja
        os.environ['PATH'] = ninja.BIN_DIR + os.pathsep + os.environ.get('PATH', '')
    except (ImportError, AttributeError):
        pass


def load_kernels():
    """The compiled kernels module, building it on first use; ``None`` when
    disabled or when it cannot be built here (warns once, saying why)."""
    if 'module' in _loaded:
        return _loaded['module']
    with _lock:
        if 'module' in _loaded:
            return _loaded['module']
        module = None
        if kernels_enabled():
            try:
                module = _build()
            except Exception as exc:  # no compiler, no headers, unsupported platform
                reason = str(exc).strip().splitlines()
                warnings.warn(
                    f'ghostnetv2_mm: could not build the compiled CPU kernels '
                    f'({type(exc).__name__}: {reason[0] if reason else ""}); deploy '
                    f'mode runs depthwise convs through oneDNN instead (exact, '
                    f'slower on small maps). Building needs a C++ compiler (g++ or '
                    f'clang++), ninja and the torch headers; set {SWITCH}=0 to skip '
                    f'the build and this warning.', RuntimeWarning, stacklevel=2)
        _loaded['module'] = module
        return module


def _build():
    from torch.utils.cpp_extension import load
    _ninja_on_path()
    directory = build_directory()
    os.makedirs(directory, exist_ok=True)
    return load(MODULE_NAME, [SOURCE], build_directory=directory, verbose=False,
                extra_cflags=['-O3', '-march=native', '-fopenmp'],
                extra_ldflags=['-fopenmp'])


def kernels_built():
    """Whether this machine already has a build for the current source (no build)."""
    directory = build_directory()
    return os.path.isdir(directory) and any(
        name.startswith(MODULE_NAME) and name.endswith('.so') for name in os.listdir(directory))


def depthwise_conv_nhwc(x, weight_khwc, bias, stride, padding, dilation,
                        act=ACT_NONE, lo=0.0, hi=float('inf'), keep_input=False, gate=None):
    """``act(depthwise_conv2d(x) + bias)`` for a channels_last float32 CPU ``x``;
    with ``keep_input``, ``cat([x, that], dim=1)`` in one pass (the conv must
    keep the size), which is a Ghost module's output; with a ``gate`` of half
    the output's (even) height and width, the result multiplied by the gate
    resized by repetition (nearest 2x: the DFC attention's product).

    ``weight_khwc`` is the ``(C, 1, KH, KW)`` weight as a contiguous
    ``(KH, KW, C)`` tensor (:func:`pack_depthwise_weight`); ``act`` is
    ``ACT_CLAMP`` (to ``[lo, hi]``: ReLU, ReLU6) or ``ACT_SIGMOID``. Raises
    RuntimeError if the kernels are not available."""
    module = load_kernels()
    if module is None:
        raise RuntimeError(f'the compiled kernels are not available (disabled by '
                           f'{SWITCH}=0, or the build failed: see the warning)')
    return module.depthwise_conv_nhwc(x, weight_khwc, bias, stride[0], stride[1],
                                      padding[0], padding[1], dilation[0], dilation[1],
                                      act, lo, hi, keep_input, gate)


def pack_depthwise_weight(weight):
    """A ``(C, 1, KH, KW)`` depthwise weight as the kernel's ``(KH, KW, C)``."""
    return weight.detach()[:, 0].permute(1, 2, 0).contiguous()

