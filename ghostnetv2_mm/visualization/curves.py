"""Training curves of one or more runs from their ``vis_data/scalars.json``:
losses and learning rate per iteration, evaluation metrics per evaluation,
runs overlaid so that backbones can be compared."""
import json
import os.path as osp
import re

from ..analysis import scalars_file

# the headline metric of each evaluator this project's configs use
DEFAULT_METRICS = r'(^|/)(bbox_mAP|segm_mAP|mAP|mIoU|accuracy/top1)$'


def load_run(work_dir, label=None):
    """One run: its label (default: the work dir's name), its training records
    and its evaluation records, each evaluation placed at the iteration it
    followed. mmengine logs an evaluation's ``step`` as the iteration or as
    the epoch (``LoggerHook(log_metric_by_epoch=True)``, mmdet's default, even
    in iteration-based runs), so an evaluation logged with a step below the
    last training record before it is placed at that record's iteration."""
    with open(scalars_file(work_dir)) as f:
        records = [json.loads(line) for line in f if line.strip()]
    train, val, last_iter = [], [], 0
    for record in records:  # the same split as analysis.read_scalars, in file order
        if 'loss' in record:
            train.append(record)
            last_iter = record['step']
        elif 'lr' not in record:
            val.append(dict(record, step=max(record['step'], last_iter)))
    return dict(label=label or osp.basename(osp.normpath(work_dir)), train=train, val=val)


def pick_keys(runs, losses=None, metrics=None):
    """The loss keys (default ``loss``) and metric keys (default: each
    evaluator's headline metric) to draw; a key no run logged is an error."""
    train_keys = {k for run in runs for r in run['train'] for k in r}
    val_keys = {k for run in runs for r in run['val'] for k in r} - {'step', 'time',
                                                                      'data_time'}
    losses = list(losses or (['loss'] if 'loss' in train_keys else []))
    if metrics is None:
        metrics = sorted(k for k in val_keys if re.search(DEFAULT_METRICS, k))
    for keys, logged, what in ((losses, train_keys, 'training'),
                               (metrics, val_keys, 'evaluation')):
        missing = [k for k in keys if k not in logged]
        if missing:
            raise KeyError(f'no run logged the {what} scalars {missing}; logged: '
                           f'{sorted(logged - {"step", "iter", "epoch"})}')
    return losses, list(metrics)


PANEL_SIZE = (400, 360)


def plot_curves(runs, losses=None, metrics=None, size=None, dpi=100, with_lr=True):
    """A figure of ``size`` (W, H) pixels (default ``PANEL_SIZE`` per panel):
    one panel per loss key, the learning rate, and one per metric; every run a
    colour, a legend in the first panel. Returns the figure and the panels'
    scalar names."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    losses, metrics = pick_keys(runs, losses, metrics)
    with_lr = with_lr and any('lr' in r for run in runs for r in run['train'])
    panels = [(k, 'train') for k in losses] + ([('lr', 'train')] if with_lr else []) \
        + [(k, 'val') for k in metrics]
    if not panels:
        raise ValueError('nothing to plot: the runs logged no loss, learning rate or '
                         'evaluation metric')
    size = size or (PANEL_SIZE[0] * len(panels), PANEL_SIZE[1])
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    colors = [f'C{i % 10}' for i in range(len(runs))]
    for ax, (key, part) in zip(axes, panels):
        for run, color in zip(runs, colors):
            points = [(r['step'], r[key]) for r in run[part] if key in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, color=color, label=run['label'],
                        marker='o' if part == 'val' else None, markersize=4)
        ax.set_title(key if part == 'train' else f'{key} (evaluation)', fontsize=10)
        ax.set_xlabel('iteration', fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if key == 'lr':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(-2, 2))
    last = max((r['step'] for run in runs for r in run['train'] + run['val']), default=0)
    for ax in axes:  # one iteration axis for every panel
        ax.set_xlim(0, max(1, last) * 1.03)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig, [title for title, _ in panels]
