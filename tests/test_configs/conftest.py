"""What every shipped config must state about crash safety and image reading
(docs/training.md), checked by each config test on the configs it reads."""
import pytest

TRAIN_LOADER = dict(type='LoadCheckedImageFromFile')
# the stock type, which mmdet's / mmseg's inferencers look for by name
TEST_LOADER = dict(type='LoadImageFromFile', backend_args=dict(backend='checked_image'))


def _plain(node):
    return {k: v for k, v in node.items() if k != '_scope_'}


def _pipeline(dataset):
    while 'pipeline' not in dataset:
        dataset = dataset['dataset']
    return dataset['pipeline']


def check_crash_safe_and_checked(cfg):
    """Atomic checkpoints with the random state, and checked image loading in the
    training, validation, test (and TTA) pipelines."""
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.random_state.type == 'RandomStateHook'
    assert _plain(_pipeline(cfg.train_dataloader.dataset)[0]) == TRAIN_LOADER
    for loader in ('val_dataloader', 'test_dataloader'):
        assert _plain(_pipeline(cfg[loader].dataset)[0]) == TEST_LOADER, loader
    if 'tta_pipeline' in cfg:
        assert _plain(cfg.tta_pipeline[0]) == TEST_LOADER


@pytest.fixture(scope='session')
def assert_crash_safe():
    return check_crash_safe_and_checked


def stock_loaders(node):
    """``node`` with the image loaders above put back to the stock
    ``LoadImageFromFile`` (what the stock bases use), for comparisons."""
    if isinstance(node, dict):
        if node.get('type') in ('LoadCheckedImageFromFile', 'LoadImageFromFile'):
            return dict(type='LoadImageFromFile')
        return {k: stock_loaders(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(stock_loaders(v) for v in node)
    return node


@pytest.fixture(scope='session')
def with_stock_loaders():
    return stock_loaders
