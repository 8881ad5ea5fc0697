#!/usr/bin/env python
"""Regenerate the latency table of docs/benchmark.md (between its markers).

    python .dev_scripts/benchmark_table.py [--keep-heap] [--update docs/benchmark.md]

One process, one run, every runtime of the default GhostNetV2 backbone and
mmdet's MobileNetV2 / ResNet-18 interleaved at 1x3x320x320 (two threads), so
every ratio in the table comes from the same measurement.
"""
import argparse
import copy
import os
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from ghostnetv2_mm import GhostNetV2  # noqa: E402
from ghostnetv2_mm.analysis import count_complexity  # noqa: E402
from ghostnetv2_mm.analysis.timing import (RUNTIMES, Runner, environment_line,  # noqa: E402
                                           keep_freed_memory_in_heap, make_runners,
                                           peer_backbones, time_runners)

START, END = '<!-- benchmark:start -->', '<!-- benchmark:end -->'
LABELS = {'eager': 'GhostNetV2 eager (training model)',
          'deploy': 'GhostNetV2 deploy (switch_to_deploy, channels_last)',
          'compiled': 'GhostNetV2 deploy + torch.compile (freezing)',
          'onnxruntime': 'GhostNetV2 deploy export, onnxruntime',
          'onnxruntime-unfused': "the training model's export (the authors' graph), "
                                 'onnxruntime'}


def table(args):
    x = torch.randn(1, 3, 320, 320)
    ours = GhostNetV2().eval()
    runners = make_runners(ours, RUNTIMES, x)
    runners += [Runner(f'{name} eager', model) for name, model in peer_backbones().items()]
    results = time_runners(runners, x, args.warmup, args.repeat, 'cpu', args.rounds)
    eager, mnv2 = results['eager'], results['mmdet MobileNetV2 eager']
    stats = count_complexity(copy.deepcopy(ours), (x,))
    heap = ('freed memory kept in the heap (`--keep-heap`)' if args.keep_heap
            else "glibc's default heap trimming")
    rows = [f'{environment_line()}; batch 1, 1x3x320x320, fp32, median of {args.repeat} '
            f'runs after {args.warmup} warm-up runs, {heap}; '
            f'`GhostNetV2()`: {stats["params"] / 1e6:.2f} M params, '
            f'{stats["macs"] / 1e9:.3f} GMACs, {stats["dfc_ops"] / 1e6:.2f} M DFC '
            f'elementwise ops. Ratios of medians / of the fastest runs (min).',
            '',
            '| runtime | median ms | min ms | p25-p75 ms | vs our eager | vs MobileNetV2 '
            '| page faults/run |',
            '|---|---|---|---|---|---|---|']
    for r in runners:
        s = results[r.name]
        rows.append(f'| {LABELS.get(r.name, r.name)} | {s["median"]:.2f} | {s["min"]:.2f} | '
                    f'{s["p25"]:.2f}-{s["p75"]:.2f} | '
                    f'{s["median"] / eager["median"]:.2f}x / {s["min"] / eager["min"]:.2f}x | '
                    f'{s["median"] / mnv2["median"]:.2f}x / {s["min"] / mnv2["min"]:.2f}x | '
                    f'{s["faults"]:.0f} |')
    return '\n'.join(rows)


def update(path, text):
    content = open(path).read()
    if START not in content or END not in content:
        raise SystemExit(f'{path} has no {START} ... {END} markers')
    head, rest = content.split(START, 1)
    with open(path, 'w') as f:
        f.write(f'{head}{START}\n{text}\n{END}{rest.split(END, 1)[1]}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--update', metavar='MD', help='replace the table between the '
                                                       'markers of this file')
    parser.add_argument('--keep-heap', action='store_true')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=50)
    parser.add_argument('--rounds', type=int, default=25)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    torch._inductor.config.compile_threads = 1
    torch.set_flush_denormal(True)
    if args.keep_heap and not keep_freed_memory_in_heap():
        print('--keep-heap: not glibc; ignored', file=sys.stderr)
    text = table(args)
    print(text)
    if args.update:
        update(args.update, text)


if __name__ == '__main__':
    main()
