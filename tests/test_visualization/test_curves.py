"""Training curves: the plotted lines are the logged scalars, evaluations sit at
the iteration they followed (whether logged by epoch or by iteration), bad keys
are named."""
import json

import numpy as np
import pytest
from PIL import Image

from ghostnetv2_mm.visualization.curves import load_run, plot_curves
from helpers import load_tool


def write_run(work_dir, records):
    vis = work_dir / '20240101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    return work_dir


@pytest.fixture
def runs(tmp_path):
    iter_based = [dict(lr=1e-3 * (1 - i / 40), loss=3.0 / i, loss_cls=1.0 / i, iter=i, step=i)
                  for i in range(10, 41, 10)]
    # mmdet's LoggerHook logs evaluations by epoch (0 here), mmseg's by iteration
    iter_based[2:2] = [{'coco/bbox_mAP': 0.1, 'coco/bbox_mAP_50': 0.3, 'data_time': 0.01,
                        'time': 0.2, 'step': 0}]
    iter_based.append({'coco/bbox_mAP': 0.25, 'coco/bbox_mAP_50': 0.5, 'step': 40})
    # epoch-based: 5 iterations per epoch, logged every 5, evaluated each epoch
    epoch_based = []
    for epoch in (1, 2):
        epoch_based.append(dict(lr=0.01, loss=2.0 / epoch, epoch=epoch, iter=5 * epoch,
                                step=5 * epoch))
        epoch_based.append(dict(mIoU=10.0 * epoch, step=epoch))
    return [write_run(tmp_path / 'ghostnetv2', iter_based),
            write_run(tmp_path / 'mobilenetv2', epoch_based)]


def test_lines_are_the_logged_scalars(runs):
    loaded = [load_run(runs[0]), load_run(runs[1], 'MobileNetV2')]
    assert [r['label'] for r in loaded] == ['ghostnetv2', 'MobileNetV2']
    fig, panels = plot_curves(loaded)
    assert panels == ['loss', 'lr', 'coco/bbox_mAP', 'mIoU']
    axes = fig.axes
    lines = {(ax.get_title(), line.get_label()): line for ax in axes for line in ax.lines}
    loss = lines['loss', 'ghostnetv2']
    assert list(loss.get_xdata()) == [10, 20, 30, 40]
    assert np.allclose(loss.get_ydata(), [0.3, 0.15, 0.1, 0.075])
    assert list(lines['loss', 'MobileNetV2'].get_ydata()) == [2.0, 1.0]
    assert lines['loss', 'ghostnetv2'].get_color() != lines['loss', 'MobileNetV2'].get_color()
    assert list(lines['coco/bbox_mAP (evaluation)', 'ghostnetv2'].get_xdata()) == [20, 40]
    # the epoch-based run evaluated after epochs 1 and 2: iterations 5 and 10
    miou = lines['mIoU (evaluation)', 'MobileNetV2']
    assert list(miou.get_xdata()) == [5, 10] and list(miou.get_ydata()) == [10.0, 20.0]
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend == ['ghostnetv2', 'MobileNetV2']


def test_chosen_keys_and_missing_ones(runs):
    loaded = [load_run(r) for r in runs]
    _, panels = plot_curves(loaded, losses=['loss_cls'], metrics=['coco/bbox_mAP_50'],
                            with_lr=False)
    assert panels == ['loss_cls', 'coco/bbox_mAP_50']
    with pytest.raises(KeyError, match=r"evaluation scalars \['mAcc'\].*'mIoU'"):
        plot_curves(loaded, metrics=['mAcc'])


def test_tool_writes_the_stated_size(runs, tmp_path):
    out = tmp_path / 'curves.png'
    tool = load_tool('tools/analysis/plot_curves.py')
    result = tool.main([str(runs[0]), str(runs[1]), '--out', str(out),
                        '--labels', 'GhostNetV2', 'MobileNetV2', '--size', '900', '300'])
    picture = np.array(Image.open(out).convert('RGB'))
    assert picture.shape == (300, 900, 3) and result['size'] == [900, 300]
    # both runs' colours (matplotlib's C0 and C1) are drawn
    for color in ((31, 119, 180), (255, 127, 14)):
        assert (np.abs(picture.astype(int) - color).sum(-1) < 30).sum() > 50
    with pytest.raises(SystemExit):
        tool.parse_args([str(runs[0]), '--out', str(out), '--labels', 'a', 'b'])
