"""Fixtures: where ../shared lives, and quiet, deterministic torch."""
import pytest
import torch

from helpers import SHARED, THREADS

torch.set_num_threads(THREADS)


def _require(path):
    if not path.exists():
        pytest.fail(f'{path} is missing: these tests need the read-only shared material '
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


@pytest.fixture(scope='session')
def official_model(official_checkpoint):
    """The authors' width-1.0 model with the reference weights, all stage ends,
    in eval mode. Tests must not modify it (deepcopy first)."""
    from ghostnetv2_mm import GhostNetV2
    model = GhostNetV2(out_indices=(0, 1, 2, 3, 4, 5), init_cfg=dict(
        type='Pretrained', checkpoint=str(official_checkpoint)))
    model.init_weights()
    return model.eval()


@pytest.fixture
def one_thread():
    """One intra-op thread for in-process training steps (see helpers.ONE_THREAD),
    and torch's global determinism flag put back afterwards (configs with
    ``randomness.deterministic=True`` set it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)
