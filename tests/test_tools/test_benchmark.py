"""tools/analysis/benchmark.py prints every figure it promises (values not timed)."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    result = subprocess.run([sys.executable, 'tools/analysis/benchmark.py', *map(str, args)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_backbone_report_lines():
    out = run('--shape', 64, 96, '--repeat', 3, '--warmup', 1, '--batch', 2,
              '--modes', 'eager', 'deploy', '--threads', 2)
    for needle in ('2 threads', 'params', 'MACs conv+linear', 'DFC elementwise',
                   'paper-comparable     167.0 M', 'latency eager', 'latency deploy',
                   'throughput deploy', 'peak memory eager'):
        assert needle in out, needle


def test_compare_mode_lists_peers():
    out = run('--compare', '--shape', 64, 64, '--repeat', 3, '--warmup', 1)
    for needle in ('GhostNetV2 eager', 'GhostNetV2 deploy', 'MobileNetV2 (2,4,7) eager',
                   'ResNet-18 eager', 'x MobileNetV2'):
        assert needle in out, needle


def test_readme_table_update(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('intro\n<!-- benchmark:start -->\nSTALE ROW\n<!-- benchmark:end -->\nend\n')
    run('--readme', '--update-readme', readme, '--shape', 64, 64, '--repeat', 3,
        '--warmup', 1, '--modes', 'eager', 'deploy', 'onnxruntime', 'onnxruntime-unfused')
    text = readme.read_text()
    assert 'STALE ROW' not in text and text.startswith('intro') and text.endswith('end\n')
    for row in ('| GhostNetV2 eager (unfused) |', '| GhostNetV2 deploy (folded, channels_last) |',
                "| GhostNetV2 deploy export, onnxruntime |", "| authors' graph (unfused, stock resize) export, onnxruntime |",
                '| mmdet MobileNetV2 eager |', '| mmdet ResNet-18 eager |'):
        assert row in text, row


def _benchmark_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'benchmark_tool', REPO / 'tools' / 'analysis' / 'benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_timed_runs_are_spread_over_rounds_alike():
    bench = _benchmark_module()
    calls = []

    def runner(name, onnx=False):
        def fn(x):
            calls.append(name)
        if onnx:
            fn.is_onnx = True
        return bench.Runner(name, fn)

    import torch
    runners = [runner('a'), runner('b'), runner('ort', onnx=True)]
    results = bench.time_runners(runners, torch.zeros(1), warmup=2, repeat=7, device='cpu',
                                 rounds=3)
    assert {name: r['n'] for name, r in results.items()} == {'a': 7, 'b': 7, 'ort': 7}
    timed = calls[6:]  # after 2 warm-up calls each
    # round 1: an untimed a, b; then a, b alternating 3 times; then ort's own block (1 + 3)
    assert timed[:8] == ['a', 'b'] * 4
    assert timed[8:12] == ['ort'] * 4
    assert timed[12:14] == ['a', 'b']  # round 2 starts with torch again
    assert len(calls) == 6 + 3 * 2 + 7 * 2 + 3 + 7


def test_page_faults_are_counted_per_runner():
    """A runner that touches fresh pages on every run is charged for them; one
    that allocates nothing is not."""
    import mmap

    import pytest
    import torch
    bench = _benchmark_module()
    if bench.minor_page_faults() == 0:
        pytest.skip('no page-fault counts on this platform')
    pages = 512

    def touch_fresh_pages(x):
        with mmap.mmap(-1, pages * mmap.PAGESIZE) as buf:
            for i in range(pages):
                buf[i * mmap.PAGESIZE] = 1

    runners = [bench.Runner('fresh', touch_fresh_pages), bench.Runner('idle', lambda x: None)]
    results = bench.time_runners(runners, torch.zeros(1), warmup=1, repeat=6, device='cpu',
                                 rounds=2)
    assert results['fresh']['faults'] >= pages
    assert results['idle']['faults'] < pages / 10


def test_keep_heap_sets_glibc_thresholds():
    import platform

    import pytest
    bench = _benchmark_module()
    if platform.libc_ver()[0] != 'glibc':
        pytest.skip('mallopt is glibc-only')
    assert bench.keep_freed_memory_in_heap()
