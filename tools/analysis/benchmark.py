#!/usr/bin/env python
"""Cost figures for GhostNetV2 backbones and GhostNetV2 detectors/segmentors.

Parameters, MACs (conv + linear, the paper's convention) and the DFC
elementwise operations on their own line, then latency (warm-up, median and
spread over repeats, threads stated), throughput at a batch size and peak
memory, for each runtime: eager, deploy (norms folded + channels_last),
compiled (deploy + torch.compile with freezing) and onnxruntime (exported
deploy model; the README table adds the authors' graph exported as-is).

    # a bare backbone (any GhostNetV2 argument as key=value)
    python tools/analysis/benchmark.py --backbone widen_factor=1.0 --shape 320 320
    # the network part (backbone, neck, head) of a config
    python tools/analysis/benchmark.py --config configs/retinanet_ghostnetv2_coco.py
    # ours vs mmdet's MobileNetV2 and ResNet-18, interleaved in one process
    python tools/analysis/benchmark.py --compare
    # the README table
    python tools/analysis/benchmark.py --readme --update-readme README.md
"""
import argparse
import copy
import ctypes
import ctypes.util
import os
import platform
import statistics
import sys
import tempfile
import time

import torch
import torch.nn as nn
from mmengine.config import DictAction

import ghostnetv2_mm  # noqa: F401
from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.analysis import ClassificationEquivalent, count_complexity
from ghostnetv2_mm.deploy import compile_for_inference
from ghostnetv2_mm.export import authors_graph, export_onnx, exportable, onnx_session
from ghostnetv2_mm.utils.model_loading import build_model_from_config

README_START = '<!-- benchmark:start -->'
README_END = '<!-- benchmark:end -->'
DEFAULT_MODES = ['eager', 'deploy', 'compiled', 'onnxruntime']
README_MODES = DEFAULT_MODES + ['onnxruntime-unfused']


try:
    import resource

    def minor_page_faults():
        """This process's minor page faults so far (all threads)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
except ImportError:  # not Unix: no counts
    def minor_page_faults():
        return 0


def keep_freed_memory_in_heap():
    """glibc only: stop returning freed memory to the OS between runs.

    By default glibc gives the top of the heap back once it exceeds a trim
    threshold that it adapts to the process's history, so a model with large
    activations may pay page faults (the kernel zeroing fresh pages) on every
    run in one process and none in another. mmdet's MobileNetV2 at 320x320
    is such a model (~7000 faults, ~28 MB, per run here); the deploy
    GhostNetV2 is not. Setting the thresholds makes every runner fault-free.
    Returns whether it could."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                    and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError, TypeError):
        return False


# ----------------------------------------------------------------- building
def build_backbone(options):
    kwargs = dict(options or {})
    return GhostNetV2(**kwargs).eval()


def build_from_config(path):
    """The config's detector / segmentor (random weights: timing needs none)."""
    return build_model_from_config(path)[0]


class Runner:
    """A callable ``f(x)`` for one runtime of one model."""

    def __init__(self, name, fn, channels_last=False):
        self.name, self.fn, self.channels_last = name, fn, channels_last

    def prepare(self, x):
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def make_runners(model, modes, example, device, half=False):
    """Eager / deploy / compiled / onnxruntime callables for ``model``."""
    net = exportable(copy.deepcopy(model), deploy=False)  # backbone or network part
    runners = []
    dtype = torch.float16 if half else torch.float32
    if 'eager' in modes:
        eager = copy.deepcopy(net).to(device, dtype)
        runners.append(Runner('eager', eager))
    deployed = None  # deployed for PyTorch (eager, compiled)
    if {'deploy', 'compiled'} & set(modes):
        deployed = exportable(copy.deepcopy(model), deploy=True, for_graph=False)
    if 'deploy' in modes:
        dep = copy.deepcopy(deployed).to(device, dtype).to(memory_format=torch.channels_last)
        runners.append(Runner('deploy', dep, channels_last=True))
    if 'compiled' in modes:
        dep = copy.deepcopy(deployed).to(device, dtype).to(memory_format=torch.channels_last)
        torch._dynamo.reset()
        runners.append(Runner('compiled', compile_for_inference(dep), channels_last=True))
    if 'onnxruntime' in modes and device == 'cpu' and not half:
        for label, module in (('onnxruntime', exportable(copy.deepcopy(model))),
                              ('onnxruntime-unfused', authors_graph(net))):
            if label == 'onnxruntime-unfused' and 'onnxruntime-unfused' not in modes:
                continue
            path = os.path.join(tempfile.mkdtemp(), f'{label}.onnx')
            names = export_onnx(module, example, path)
            session = onnx_session(path, torch.get_num_threads())
            runners.append(Runner(label, _ort_callable(session, names)))
    return runners


def _ort_callable(session, names):
    def run(x):
        return session.run(names, {'input': x.numpy()})
    run.is_onnx = True
    return run


# ------------------------------------------------------------------ timing
def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def time_runners(runners, x, warmup, repeat, device, rounds=5):
    """Median and spread (ms) per runner over ``repeat`` timed runs each.

    The runs are spread over ``rounds`` rounds so that a burst of machine
    noise hits every runner alike instead of whichever was being timed. Within
    a round the torch runners alternate run by run; each onnxruntime runner
    then gets its own block, after a short pause, because its thread pool spins
    after each run and would slow whatever runs next. The first run of every
    block is a warm-up and is not counted."""
    torch_runners = [r for r in runners if not getattr(r.fn, 'is_onnx', False)]
    ort_runners = [r for r in runners if getattr(r.fn, 'is_onnx', False)]
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
            for r in ort_runners:
                time.sleep(0.05)  # let the other pool's spinning threads go idle
                timed(r)
                times[r.name].extend(timed(r) for _ in range(count))
            time.sleep(0.05)
    # every timed call counted its faults, warm-ups of blocks included
    calls = {name: len(ts) + rounds for name, ts in times.items()}
    return {name: dict(summarize(ts), faults=faults[name] / calls[name])
            for name, ts in times.items()}


def summarize(ts):
    ts = sorted(ts)
    q = statistics.quantiles(ts, n=4) if len(ts) >= 4 else [ts[0], ts[-1], ts[-1]]
    return dict(median=statistics.median(ts), p25=q[0], p75=q[2], min=ts[0], n=len(ts))


def peak_memory_mb(runner, x, device):
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


# ------------------------------------------------------------------ reports
def complexity_lines(model, shape, is_backbone):
    x = torch.randn(1, 3, *shape)
    target = exportable(copy.deepcopy(model), deploy=False)
    stats = count_complexity(target, (x,))
    lines = [f'params            {stats["params"] / 1e6:8.3f} M',
             f'MACs conv+linear  {stats["macs"] / 1e9:8.3f} G  @ {shape[0]}x{shape[1]}',
             f'DFC elementwise   {stats["dfc_ops"] / 1e6:8.3f} M  '
             f'(pool, sigmoid, resize, product: '
             + ', '.join(f'{k} {v / 1e6:.2f}M' for k, v in stats['dfc_by_operator'].items())
             + ')',
             f'all counted ops   {stats["total_ops"] / 1e9:8.3f} G  (MACs + norms, '
             f'activations, adds, pooling, DFC)']
    if is_backbone and model.out_indices[-1] >= 4:
        full = GhostNetV2(widen_factor=model.widen_factor, out_indices=(5,),
                          dfc_stages=model.dfc_stages)
        cls = count_complexity(ClassificationEquivalent(full),
                               (torch.randn(1, 3, 224, 224),))
        lines.append(f'paper-comparable  {cls["macs"] / 1e6:8.1f} M  MACs of the '
                     f'classification network at 224x224 (paper: 167M for 1.0x)')
    return lines


def fmt_time(s):
    return f'{s["median"]:8.2f} ms  [p25 {s["p25"]:.2f}, p75 {s["p75"]:.2f}, min {s["min"]:.2f}]'


def environment_line(device):
    line = (f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
            f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores')
    if device == 'cuda':
        line += f', {torch.cuda.get_device_name()}'
    return line


def benchmark(model, args, is_backbone):
    device = args.device
    print(f'# {environment_line(device)}; batch 1 latency; fp32 unless noted')
    for shape in args.shape:
        print(f'\n## input 1x3x{shape[0]}x{shape[1]}')
        for line in complexity_lines(model, shape, is_backbone):
            print(line)
        x = torch.randn(1, 3, *shape, device=device)
        precisions = [False, True] if device == 'cuda' else [False]
        for half in precisions:
            runners = make_runners(model, args.modes, x.cpu(), device, half)
            xin = x.half() if half else x
            results = time_runners(runners, xin, args.warmup, args.repeat, device,
                                   args.rounds)
            base = results.get('eager', {}).get('median')
            label = ' fp16' if half else ''
            for r in runners:
                ratio = f'  {results[r.name]["median"] / base:.2f}x eager' if base else ''
                print(f'latency {r.name + label:22s}{fmt_time(results[r.name])}{ratio}')
            if args.batch > 1:
                xb = torch.randn(args.batch, *x.shape[1:], device=device)
                xb = xb.half() if half else xb
                tb = time_runners(runners, xb, 1, max(3, args.repeat // 4), device)
                for r in runners:
                    print(f'throughput {r.name + label:19s}'
                          f'{args.batch * 1e3 / tb[r.name]["median"]:8.1f} img/s at batch {args.batch}')
            if args.memory:
                for r in runners:
                    if not getattr(r.fn, 'is_onnx', False):
                        print(f'peak memory {r.name + label:18s}'
                              f'{peak_memory_mb(r, xin, device):8.1f} MB')


# ----------------------------------------------------------------- compare
def compare_models(args):
    """Ours (eager, deploy) vs mmdet MobileNetV2 and ResNet-18, interleaved."""
    from mmdet.models.backbones import MobileNetV2, ResNet
    shape = args.shape[0]
    x = torch.randn(1, 3, *shape)
    ours = GhostNetV2(**dict(args.backbone or {})).eval()
    runners = make_runners(ours, ['eager', 'deploy'], x, 'cpu')
    for r in runners:
        r.name = f'GhostNetV2 {r.name}'
    others = [('MobileNetV2 (2,4,7)', MobileNetV2(out_indices=(2, 4, 7))),
              ('ResNet-18', ResNet(depth=18, out_indices=(0, 1, 2, 3)))]
    for name, model in others:
        model.eval()  # mmdet's backbones' train() returns None
        runners.append(Runner(f'{name} eager', model))
    results = time_runners(runners, x, args.warmup, args.repeat, 'cpu', args.rounds)
    print(f'# {environment_line("cpu")}; 1x3x{shape[0]}x{shape[1]}, fp32, interleaved')
    mnv2 = results['MobileNetV2 (2,4,7) eager']['median']
    mnv2_min = results['MobileNetV2 (2,4,7) eager']['min']
    for r in runners:
        med = results[r.name]['median']
        print(f'{r.name:28s}{fmt_time(results[r.name])}  {med / mnv2:.2f}x MobileNetV2 '
              f'(min: {results[r.name]["min"] / mnv2_min:.2f}x)  '
              f'{results[r.name]["faults"]:.0f} page faults/run')
    return results


# ------------------------------------------------------------------ readme
def readme_table(args):
    """One run, one table: every ratio in it comes from the same process."""
    shape = args.shape[0]
    x = torch.randn(1, 3, *shape)
    ours = GhostNetV2(**dict(args.backbone or {})).eval()
    runners = make_runners(ours, args.modes or README_MODES, x, 'cpu')
    from mmdet.models.backbones import MobileNetV2, ResNet
    for name, model in (('mmdet MobileNetV2 eager', MobileNetV2(out_indices=(2, 4, 7))),
                        ('mmdet ResNet-18 eager', ResNet(depth=18))):
        model.eval()  # mmdet's backbones' train() returns None
        runners.append(Runner(name, model))
    results = time_runners(runners, x, args.warmup, args.repeat, 'cpu', args.rounds)
    eager = results['eager']['median']
    mnv2 = results['mmdet MobileNetV2 eager']['median']
    eager_min = results['eager']['min']
    mnv2_min = results['mmdet MobileNetV2 eager']['min']
    stats = count_complexity(copy.deepcopy(ours), (x,))
    heap = ('freed memory kept in the heap (`--keep-heap`)' if args.keep_heap
            else "glibc's default heap trimming")
    rows = [f'Measured on this development machine ({environment_line("cpu")}), batch 1, '
            f'1x3x{shape[0]}x{shape[1]}, fp32, median of {args.repeat} runs after '
            f'{args.warmup} warm-up runs, {heap}; '
            f'backbone `GhostNetV2({_kwargs_text(args.backbone)})`, '
            f'{stats["params"] / 1e6:.2f} M params, {stats["macs"] / 1e9:.3f} GMACs, '
            f'{stats["dfc_ops"] / 1e6:.2f} M DFC elementwise ops.',
            '',
            'Ratios are of medians, with the ratio of the fastest runs (min) after the slash: '
            'on a shared machine the noise only ever adds time, so both are shown.',
            '',
            '| runtime | median ms | min ms | p25-p75 ms | vs our eager | vs MobileNetV2 '
            '| page faults/run |',
            '|---|---|---|---|---|---|---|']
    labels = {'eager': 'GhostNetV2 eager (unfused)',
              'deploy': 'GhostNetV2 deploy (folded, channels_last)',
              'compiled': 'GhostNetV2 deploy + torch.compile (freezing)',
              'onnxruntime': 'GhostNetV2 deploy export, onnxruntime',
              'onnxruntime-unfused': "authors' graph (unfused, stock resize) export, onnxruntime"}
    for r in runners:
        s = results[r.name]
        rows.append(f'| {labels.get(r.name, r.name)} | {s["median"]:.2f} | {s["min"]:.2f} | '
                    f'{s["p25"]:.2f}-{s["p75"]:.2f} | '
                    f'{s["median"] / eager:.2f}x / {s["min"] / eager_min:.2f}x | '
                    f'{s["median"] / mnv2:.2f}x / {s["min"] / mnv2_min:.2f}x | '
                    f'{s["faults"]:.0f} |')
    rows += ['', 'Regenerate: `python tools/analysis/benchmark.py --readme '
             f'{"--keep-heap " if args.keep_heap else ""}--update-readme README.md`']
    return '\n'.join(rows)


def _kwargs_text(options):
    return ', '.join(f'{k}={v!r}' for k, v in (options or {}).items())


def update_readme(path, table):
    text = open(path).read()
    if README_START not in text or README_END not in text:
        raise SystemExit(f'{path} has no {README_START} ... {README_END} markers')
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    with open(path, 'w') as f:
        f.write(f'{head}{README_START}\n{table}\n{README_END}{tail}')


# --------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    src = parser.add_mutually_exclusive_group()
    src.add_argument('--config', help='mmdet / mmseg config: benchmark its network part')
    src.add_argument('--backbone', nargs='*', action=DictAction,
                     help='GhostNetV2 arguments, e.g. widen_factor=1.3 '
                          'out_indices="(2,3,4)" (default: the default backbone)')
    parser.add_argument('--shape', nargs=2, type=int, action='append', metavar=('H', 'W'),
                        help='input size; repeat for several (default 320 320)')
    parser.add_argument('--modes', nargs='+', default=None,
                        help=f'runtimes (default {DEFAULT_MODES}; the README table '
                             f'adds onnxruntime-unfused)',
                        choices=['eager', 'deploy', 'compiled', 'onnxruntime',
                                 'onnxruntime-unfused'])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (torch and ORT)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=50)
    parser.add_argument('--rounds', type=int, default=25,
                        help='spread the timed runs over this many rounds (noise fairness)')
    parser.add_argument('--batch', type=int, default=8, help='batch size for throughput')
    parser.add_argument('--no-memory', dest='memory', action='store_false')
    parser.add_argument('--compare', action='store_true',
                        help='ours vs mmdet MobileNetV2 and ResNet-18, interleaved')
    parser.add_argument('--readme', action='store_true', help='print the README table')
    parser.add_argument('--update-readme', metavar='README',
                        help='with --readme: replace the table between the markers')
    parser.add_argument('--keep-heap', action='store_true',
                        help='glibc: keep freed memory in the heap so no runner pays '
                             'page faults for memory an earlier run gave back (see '
                             'keep_freed_memory_in_heap)')
    args = parser.parse_args(argv)
    args.shape = args.shape or [[320, 320]]
    if args.modes is None and not args.readme:
        args.modes = DEFAULT_MODES
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    # Compile in this process: an idle pool of compile workers left behind by
    # torch.compile measurably slows every runner timed after it on small CPUs.
    torch._inductor.config.compile_threads = 1
    torch.set_flush_denormal(True)
    if args.keep_heap and not keep_freed_memory_in_heap():
        print('--keep-heap: mallopt is not available here (not glibc); ignored',
              file=sys.stderr)
    if args.readme:
        table = readme_table(args)
        print(table)
        if args.update_readme:
            update_readme(args.update_readme, table)
        return
    if args.compare:
        compare_models(args)
        return
    if args.config:
        model = build_from_config(args.config)
        benchmark(model, args, is_backbone=False)
    else:
        benchmark(build_backbone(args.backbone), args, is_backbone=True)


if __name__ == '__main__':
    sys.exit(main())
