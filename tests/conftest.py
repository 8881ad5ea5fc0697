"""Shared fixtures: where ../shared lives, and quiet, deterministic torch."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('GHOSTNETV2_SHARED', REPO.parent / 'shared'))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _require(path):
    if not path.exists():
        pytest.fail(
            f'{path} is missing: these tests need the read-only shared material '
            f'checked out beside the repo as ../shared (or set GHOSTNETV2_SHARED).')
    return path


@pytest.fixture(scope='session')
def reference_dir():
    return _require(SHARED / 'reference')


@pytest.fixture(scope='session')
def coco128_dir():
    return _require(SHARED / 'data' / 'coco128')


@pytest.fixture(scope='session')
def coco128_seg_dir():
    return _require(SHARED / 'data' / 'coco128_seg')


@pytest.fixture(scope='session')
def official_checkpoint(reference_dir):
    return _require(reference_dir / 'ghostnetv2_1.0_official_format.pth')


@pytest.fixture(scope='session')
def expected_outputs(reference_dir):
    return torch.load(_require(reference_dir / 'ghostnetv2_1.0_expected_outputs.pt'),
                      weights_only=True)
