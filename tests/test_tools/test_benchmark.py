"""tools/analysis/get_flops.py and benchmark.py print every figure they promise
(values are not timed here), and the timing helpers behind them."""
import mmap
import platform

import pytest
import torch

from ghostnetv2_mm.analysis.timing import Runner, minor_page_faults, time_runners
from helpers import run_tool


def test_get_flops_lines_for_a_backbone_and_a_config():
    out = run_tool('tools/analysis/get_flops.py', '--shape', 64, 96)
    for needle in ('params', 'MACs conv+linear', 'DFC elementwise', 'all counted ops',
                   'paper-comparable     167.0 M'):
        assert needle in out, needle
    out = run_tool('tools/analysis/get_flops.py', '--config',
                   'configs/retinanet_ghostnetv2_coco.py', '--shape', 64, 64)
    assert 'MACs conv+linear' in out and 'paper-comparable' not in out


@pytest.mark.slow
def test_benchmark_lines_per_runtime():
    out = run_tool('tools/analysis/benchmark.py', '--shape', 64, 96, '--repeat', 3,
                   '--warmup', 1, '--batch', 2, '--runtimes', 'eager', 'deploy',
                   'onnxruntime', '--threads', 2)
    for needle in ('2 threads', 'latency eager', 'latency deploy', 'latency onnxruntime',
                   'x eager', 'page faults/run', 'throughput deploy', 'peak memory eager'):
        assert needle in out, needle


@pytest.mark.slow
def test_compare_mode_lists_peers():
    out = run_tool('tools/analysis/benchmark.py', '--compare', '--shape', 64, 64,
                   '--repeat', 3, '--warmup', 1)
    for needle in ('GhostNetV2 eager', 'GhostNetV2 deploy', 'mmdet MobileNetV2 eager',
                   'mmdet ResNet-18 eager', 'x MobileNetV2'):
        assert needle in out, needle


def test_timed_runs_are_spread_over_rounds_alike():
    calls = []

    def runner(name, onnx=False):
        return Runner(name, lambda x: calls.append(name), is_onnx=onnx)

    runners = [runner('a'), runner('b'), runner('ort', onnx=True)]
    results = time_runners(runners, torch.zeros(1), warmup=2, repeat=7, rounds=3)
    assert {name: r['n'] for name, r in results.items()} == {'a': 7, 'b': 7, 'ort': 7}
    timed = calls[6:]  # after 2 warm-up calls each
    # round 1: an untimed a, b; then a, b alternating 3 times; then ort's block (1 + 3)
    assert timed[:8] == ['a', 'b'] * 4
    assert timed[8:12] == ['ort'] * 4
    assert timed[12:14] == ['a', 'b']  # round 2 starts with torch again
    assert len(calls) == 6 + 3 * 2 + 7 * 2 + 3 + 7


def test_page_faults_are_counted_per_runner():
    """A runner that touches fresh pages on every run is charged for them; one
    that allocates nothing is not."""
    if minor_page_faults() == 0:
        pytest.skip('no page-fault counts on this platform')
    pages = 512

    def touch_fresh_pages(x):
        with mmap.mmap(-1, pages * mmap.PAGESIZE) as buf:
            for i in range(pages):
                buf[i * mmap.PAGESIZE] = 1

    runners = [Runner('fresh', touch_fresh_pages), Runner('idle', lambda x: None)]
    results = time_runners(runners, torch.zeros(1), warmup=1, repeat=6, rounds=2)
    assert results['fresh']['faults'] >= pages
    assert results['idle']['faults'] < pages / 10


MMAPPED_BLOCKS = """
import ctypes, sys
from ghostnetv2_mm.analysis.timing import keep_freed_memory_in_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks',
        'uordblks', 'fordblks', 'keepcost')]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
if sys.argv[1] == 'keep':
    assert keep_freed_memory_in_heap()
before = libc.mallinfo2().hblks
block = libc.malloc(16 << 20)
print('mmapped blocks', libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='mallopt is glibc-only')
@pytest.mark.parametrize('mode,mmapped', [('default', 1), ('keep', 0)])
def test_keep_heap_serves_large_blocks_from_the_heap(mode, mmapped):
    """In its own process (mallopt changes the whole process's heap): glibc
    mmaps a fresh 16 MB block (and unmaps it when freed, so its pages fault
    again next time) unless --keep-heap raised the threshold."""
    out = run_tool('-c', MMAPPED_BLOCKS, mode)
    assert f'mmapped blocks {mmapped}' in out
