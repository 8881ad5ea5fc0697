"""Fixtures: where ../shared lives, and quiet, deterministic torch."""
import os

import pytest
import torch

from helpers import CONFIGS, SHARED, THREADS, run_tool

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


# Trained small-data runs, shared by every slow test that needs a trained model
# (each trains once per session, only if a selected test asks for it).
YOLOV3_8IMG = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
SEG_16IMG = CONFIGS / 'coco128_seg' / \
    'fpn_ghostnetv2-1.0x_1xb4-300iter_coco128seg-16img-256x256.py'


@pytest.fixture(scope='session')
def yolov3_8img_run(tmp_path_factory, coco128_dir):
    """The YOLOv3 8-image learning check, run with tools/train.py as a user would
    (200 iterations, one thread); its work dir (``iter_200.pth``, ``last_checkpoint``,
    ``*/vis_data/scalars.json``)."""
    work_dir = tmp_path_factory.mktemp('yolov3_8img')
    run_tool('tools/train.py', YOLOV3_8IMG, '--work-dir', work_dir,
             '--cfg-options', f'data_root={coco128_dir}')
    return work_dir


@pytest.fixture(scope='session')
def seg_16img_run(tmp_path_factory, coco128_seg_dir):
    """The Semantic FPN 16-image learning check, evaluated every 50 iterations and
    stopped at the first mIoU >= 25 (150 iterations at the latest), keeping that
    checkpoint: dict(root, config, work, log, scalars, checkpoint, data)."""
    root = tmp_path_factory.mktemp('seg_16img')
    config = root / 'learning_check.py'  # the test's stopping rule, as a child config
    config.write_text(
        f"_base_ = {str(SEG_16IMG)!r}\n"
        "train_cfg = dict(max_iters=150, val_interval=50)\n"
        "default_hooks = dict(logger=dict(interval=10),\n"
        "                     checkpoint=dict(interval=50, max_keep_ckpts=1))\n"
        "custom_hooks = [dict(type='EarlyStoppingHook', monitor='mIoU', rule='greater',\n"
        "                     stopping_threshold=25.0, patience=1000)]\n")
    work = root / 'work'
    log = run_tool('tools/train.py', config, '--work-dir', work,
                   '--cfg-options', f'data_root={coco128_seg_dir}', env=dict(os.environ))
    from ghostnetv2_mm.analysis import read_scalars
    train, val = read_scalars(work)
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    return dict(root=root, config=config, work=work, log=log, scalars=train + val,
                checkpoint=checkpoint, data=coco128_seg_dir)
