"""engine/config.py: what the tools do with a config before building the runner."""
import time

from mmengine.registry import VISUALIZERS, DefaultScope

from ghostnetv2_mm.engine.config import load_config
from helpers import CONFIGS

DET = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'


def test_each_run_gets_a_visualizer_of_its_own_toolbox():
    """mmdet's and mmseg's configs name their visualizer 'visualizer', and
    mmengine returns an existing instance of that name: a detection run after a
    segmentation run in one process drew with the segmentation visualizer."""
    from mmseg.visualization import SegLocalVisualizer
    SegLocalVisualizer.get_instance('visualizer')  # an earlier segmentation run
    cfg = load_config(str(DET))
    assert 'name' not in cfg.visualizer
    # what mmengine's Runner.build_visualizer does with it
    visualizer = dict(cfg.visualizer, name=f'run_{time.time_ns()}', save_dir=None)
    with DefaultScope.overwrite_default_scope('mmdet'):
        built = VISUALIZERS.build(visualizer)
    assert type(built).__name__ == 'DetLocalVisualizer'


def test_work_dir_and_the_package_import_are_set():
    cfg = load_config(str(DET))
    assert cfg.work_dir.endswith('work_dirs/' + DET.stem)
    assert 'ghostnetv2_mm' in cfg.custom_imports.imports
    assert cfg.launcher == 'none'
