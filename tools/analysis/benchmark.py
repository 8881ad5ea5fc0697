#!/usr/bin/env python
"""Latency of a GhostNetV2 backbone, or of a config's network, per runtime.

Runtimes: eager, deploy (``switch_to_deploy`` + channels_last), compiled
(deploy + ``torch.compile`` with freezing), onnxruntime (the deploy export)
and onnxruntime-unfused (the model exported as-is). Per runtime: median,
quartiles and min over ``--repeat`` runs spread over ``--rounds`` rounds,
page faults per run, and optionally throughput and peak tensor memory; on
CUDA it synchronises and adds fp16. Operation counts: tools/analysis/get_flops.py.

    python tools/analysis/benchmark.py --backbone widen_factor=1.0 --shape 320 320
    python tools/analysis/benchmark.py --config configs/retinanet_ghostnetv2_coco.py
    python tools/analysis/benchmark.py --compare     # vs mmdet MobileNetV2, ResNet-18
"""
import argparse
import sys

import torch
from mmengine.config import DictAction

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.analysis.timing import (RUNTIMES, Runner, environment_line,
                                           keep_freed_memory_in_heap, make_runners,
                                           peak_memory_mb, peer_backbones, time_runners)
from ghostnetv2_mm.apis import init_model

DEFAULT_RUNTIMES = ['eager', 'deploy', 'compiled', 'onnxruntime']


def fmt(s):
    return (f'{s["median"]:8.2f} ms  [p25 {s["p25"]:.2f}, p75 {s["p75"]:.2f}, '
            f'min {s["min"]:.2f}]  {s["faults"]:.0f} page faults/run')


def benchmark(model, args):
    """Every runtime of ``model`` at every ``--shape``, printed."""
    device = args.device
    print(f'# {environment_line(device)}; batch 1 latency')
    for shape in args.shape:
        x = torch.randn(1, 3, *shape, device=device)
        for half in ([False, True] if device == 'cuda' else [False]):
            runners = make_runners(model, args.runtimes, x.cpu(), device, half)
            xin = x.half() if half else x
            results = time_runners(runners, xin, args.warmup, args.repeat, device,
                                   args.rounds)
            base = results.get('eager', {}).get('median')
            label = ' fp16' if half else ''
            print(f'\n## 1x3x{shape[0]}x{shape[1]}{label}')
            for r in runners:
                ratio = f'  {results[r.name]["median"] / base:.2f}x eager' if base else ''
                print(f'latency {r.name:20s}{fmt(results[r.name])}{ratio}')
            if args.batch > 1:
                xb = torch.randn(args.batch, *x.shape[1:], device=device)
                xb = xb.half() if half else xb
                batched = time_runners(runners, xb, 1, max(3, args.repeat // 4), device)
                for r in runners:
                    print(f'throughput {r.name:17s}'
                          f'{args.batch * 1e3 / batched[r.name]["median"]:8.1f} img/s '
                          f'at batch {args.batch}')
            if args.memory:
                for r in runners:
                    if not r.is_onnx:
                        print(f'peak memory {r.name:16s}'
                              f'{peak_memory_mb(r, xin, device):8.1f} MB')


def compare(args):
    """Our eager and deploy backbone vs mmdet's peers, interleaved in one process."""
    shape = args.shape[0]
    x = torch.randn(1, 3, *shape)
    ours = GhostNetV2(**dict(args.backbone or {})).eval()
    runners = make_runners(ours, ['eager', 'deploy'], x)
    for r in runners:
        r.name = f'GhostNetV2 {r.name}'
    runners += [Runner(f'{name} eager', model) for name, model in peer_backbones().items()]
    results = time_runners(runners, x, args.warmup, args.repeat, 'cpu', args.rounds)
    print(f'# {environment_line()}; 1x3x{shape[0]}x{shape[1]}, fp32, interleaved')
    mnv2 = results['mmdet MobileNetV2 eager']
    for r in runners:
        s = results[r.name]
        print(f'{r.name:28s}{fmt(s)}  {s["median"] / mnv2["median"]:.2f}x MobileNetV2 '
              f'(min: {s["min"] / mnv2["min"]:.2f}x)')
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--config', help='mmdet / mmseg config: time its network part')
    source.add_argument('--backbone', nargs='*', action=DictAction,
                        help='GhostNetV2 arguments, e.g. widen_factor=1.3 '
                             '(default: the default backbone)')
    parser.add_argument('--shape', nargs=2, type=int, action='append', metavar=('H', 'W'),
                        help='input size; repeat for several (default 320 320)')
    parser.add_argument('--runtimes', nargs='+', default=DEFAULT_RUNTIMES,
                        choices=RUNTIMES, help=f'default: {DEFAULT_RUNTIMES}')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (torch, ORT)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=50)
    parser.add_argument('--rounds', type=int, default=25,
                        help='spread the timed runs over this many rounds')
    parser.add_argument('--batch', type=int, default=8, help='batch size for throughput '
                                                             '(1: skip)')
    parser.add_argument('--no-memory', dest='memory', action='store_false',
                        help='skip the peak-memory line')
    parser.add_argument('--compare', action='store_true',
                        help='our eager and deploy backbone vs mmdet MobileNetV2 and '
                             'ResNet-18, interleaved')
    parser.add_argument('--keep-heap', action='store_true',
                        help='glibc: keep freed memory in the heap, so no runner pays '
                             'page faults for memory an earlier run gave back')
    args = parser.parse_args(argv)
    args.shape = args.shape or [[320, 320]]
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    # compile in this process: an idle pool of compile workers slows every
    # runner timed after it on small CPUs
    torch._inductor.config.compile_threads = 1
    torch.set_flush_denormal(True)
    if args.keep_heap and not keep_freed_memory_in_heap():
        print('--keep-heap: mallopt is not available here (not glibc); ignored',
              file=sys.stderr)
    if args.compare:
        return compare(args)
    if args.config:
        return benchmark(init_model(args.config), args)
    return benchmark(GhostNetV2(**dict(args.backbone or {})).eval(), args)


if __name__ == '__main__':
    main()
