"""Latency, throughput and peak memory of a model under several runtimes.

Timing on a small shared CPU is noisy, so the timed runs are spread over
rounds (a burst of noise hits every runtime alike), each onnxruntime session
gets its own block per round after a short pause (its threads spin after a
run, and would slow whatever runs next), and page faults are counted per run
(with glibc's default heap trimming, whether a model pays them depends on
what the process allocated before; :func:`keep_freed_memory_in_heap`).
"""
import copy
import ctypes
import ctypes.util
import os
import platform
import statistics
import tempfile
import time

import torch

from ..deploy import compile_for_inference, export_onnx, exportable, onnx_session

RUNTIMES = ('eager', 'deploy', 'compiled', 'onnxruntime', 'onnxruntime-unfused')

try:
    import resource

    def minor_page_faults():
        """This process's minor page faults so far (all threads)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
except ImportError:  # not Unix: no counts
    def minor_page_faults():
        return 0


def keep_freed_memory_in_heap():
    """glibc only: stop returning freed memory to the OS between runs, so no
    runner pays page faults for memory an earlier run gave back (mmdet's
    MobileNetV2 at 320x320 pays ~7000 per run in some processes and none in
    others). Changes the whole process; returns whether it could."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c'))
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                    and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError, TypeError):
        return False


def environment_line(device='cpu'):
    """torch version, threads, CPU (and GPU): what a timing depends on."""
    line = (f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
            f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores')
    return line + (f', {torch.cuda.get_device_name()}' if device == 'cuda' else '')


class Runner:
    """A callable ``fn(x)`` for one runtime of one model, and its input layout."""

    def __init__(self, name, fn, channels_last=False, is_onnx=False):
        self.name, self.fn = name, fn
        self.channels_last, self.is_onnx = channels_last, is_onnx

    def prepare(self, x):
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def make_runners(model, runtimes, example, device='cpu', half=False):
    """Runners of ``model`` (a backbone or a detector / segmentor, whose network
    part is timed) for the named ``runtimes`` (see ``RUNTIMES``)."""
    unknown = sorted(set(runtimes) - set(RUNTIMES))
    if unknown:
        raise ValueError(f'unknown runtimes {unknown}; choose from {RUNTIMES}')
    dtype = torch.float16 if half else torch.float32
    runners = []
    if 'eager' in runtimes:
        eager = exportable(copy.deepcopy(model), deploy=False)
        runners.append(Runner('eager', eager.to(device, dtype)))
    for name in ('deploy', 'compiled'):
        if name in runtimes:
            net = exportable(copy.deepcopy(model), for_graph=False)
            net = net.to(device, dtype).to(memory_format=torch.channels_last)
            if name == 'compiled':
                torch._dynamo.reset()
                net = compile_for_inference(net)
            runners.append(Runner(name, net, channels_last=True))
    if device == 'cpu' and not half:
        for name, deploy in (('onnxruntime', True), ('onnxruntime-unfused', False)):
            if name in runtimes:
                net = exportable(copy.deepcopy(model), deploy=deploy)
                path = os.path.join(tempfile.mkdtemp(), f'{name}.onnx')
                outputs = export_onnx(net, example, path)
                session = onnx_session(path, torch.get_num_threads())
                runners.append(Runner(name, _onnx_callable(session, outputs),
                                      is_onnx=True))
    return runners


def _onnx_callable(session, outputs):
    def run(x):
        return session.run(outputs, {'input': x.numpy()})
    return run


def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def time_runners(runners, x, warmup=10, repeat=50, device='cpu', rounds=25):
    """Median, quartiles and min (ms) and page faults per run of every runner
    over ``repeat`` timed runs each, spread over ``rounds`` rounds. Within a
    round the torch runners alternate run by run; each onnxruntime runner then
    gets its own block after a 50 ms pause. The first run of every block is
    a warm-up and is not counted."""
    torch_runners = [r for r in runners if not r.is_onnx]
    onnx_runners = [r for r in runners if r.is_onnx]
    times = {r.name: [] for r in runners}
    faults = {r.name: 0 for r in runners}
    inputs = {r.name: r.prepare(x) for r in runners}

    def timed(r):
        before = minor_page_faults()
        start = time.perf_counter()
        r.fn(inputs[r.name])
        _sync(device)
        elapsed = (time.perf_counter() - start) * 1e3
        faults[r.name] += minor_page_faults() - before
        return elapsed

    rounds = max(1, min(rounds, repeat))
    per_round = [repeat // rounds + (i < repeat % rounds) for i in range(rounds)]
    with torch.inference_mode():
        for r in runners:
            for _ in range(warmup):
                r.fn(inputs[r.name])
        _sync(device)
        for count in per_round:
            for r in torch_runners:
                timed(r)
            for _ in range(count):
                for r in torch_runners:
                    times[r.name].append(timed(r))
            for r in onnx_runners:
                time.sleep(0.05)
                timed(r)
                times[r.name].extend(timed(r) for _ in range(count))
            time.sleep(0.05)
    calls = {name: len(ts) + rounds for name, ts in times.items()}
    return {name: dict(summarize(ts), faults=faults[name] / calls[name])
            for name, ts in times.items()}


def summarize(ts):
    ts = sorted(ts)
    q = statistics.quantiles(ts, n=4) if len(ts) >= 4 else [ts[0], ts[-1], ts[-1]]
    return dict(median=statistics.median(ts), p25=q[0], p75=q[2], min=ts[0], n=len(ts))


def peak_memory_mb(runner, x, device='cpu'):
    """Peak memory held by tensors during one forward, weights excluded: the
    CUDA allocator's peak, or on CPU the peak of the running sum of the
    allocations and frees the profiler records, op by op."""
    with torch.inference_mode():
        xin = runner.prepare(x)
        if device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            runner.fn(xin)
            torch.cuda.synchronize()
            return (torch.cuda.max_memory_allocated() - base) / 2**20
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            runner.fn(xin)
        events = sorted((e for e in prof.events() if e.cpu_parent is None),
                        key=lambda e: e.time_range.start)
        running = peak = 0
        for event in events:
            running += event.cpu_memory_usage
            peak = max(peak, running)
        return peak / 2**20


def peer_backbones():
    """mmdet's MobileNetV2 (stride-8/16/32 ends) and ResNet-18, in eval mode:
    the backbones light detectors are compared with."""
    from mmdet.models.backbones import MobileNetV2, ResNet
    peers = {'mmdet MobileNetV2': MobileNetV2(out_indices=(2, 4, 7)),
             'mmdet ResNet-18': ResNet(depth=18)}
    for model in peers.values():
        model.eval()  # mmdet's backbones' train() returns None
    return peers
