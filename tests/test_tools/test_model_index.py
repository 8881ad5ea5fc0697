"""model-index.yml and the metafiles: OpenMMLab's mim format, read by mmengine's
own metafile reader; every entry's config builds, with the parameter count the
entry states (FLOPs: one config per detector / segmentor, slow tier); every
config of an indexed family is indexed; packaging puts the index where mim
looks for it."""
import copy
import re
import subprocess
import sys

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.infer import BaseInferencer
from mmengine.registry import DefaultScope

from helpers import CONFIGS, REPO

INDEX = yaml.safe_load((REPO / 'model-index.yml').read_text())
METAFILES = [REPO / path for path in INDEX['Import']]
MODELS = list(BaseInferencer._get_models_from_metafile(str(REPO)))
COLLECTIONS = {c['Name']: c for path in METAFILES
               for c in yaml.safe_load(path.read_text()).get('Collections', [])}
TASKS = {'mmdet': 'Object Detection', 'mmseg': 'Semantic Segmentation'}


def test_index_lists_every_family_metafile():
    assert METAFILES and all(p.is_file() for p in METAFILES)
    assert sorted(p.relative_to(REPO) for p in METAFILES) == \
        sorted(p.relative_to(REPO) for p in CONFIGS.glob('*/metafile.yml'))
    names = [m['Name'] for m in MODELS]
    assert len(names) == len(set(names)) >= 24


def test_collections_follow_mims_format():
    assert COLLECTIONS
    for collection in COLLECTIONS.values():
        assert {'Name', 'Metadata', 'Paper', 'README', 'Code'} <= set(collection)
        assert collection['Paper']['URL'].startswith('https://arxiv.org/')
        assert (REPO / collection['README']).is_file()
        assert (REPO / collection['Code']['URL']).is_file()


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_model_entry_follows_mims_format(model):
    config = REPO / model['Config']
    assert config.is_file() and config.parent.parent == CONFIGS
    assert model['Name'] == config.stem
    assert model['In Collection'] in COLLECTIONS
    assert model['Weights'] is None  # no trained detector or segmentor is published
    meta = model['Metadata']
    for key in ('Backbone', 'Architecture', 'Training Data', 'Training Resources',
                'Batch Size', 'Input Size', 'FLOPs', 'Parameters'):
        assert key in meta, key
    assert isinstance(meta['FLOPs'], int) and isinstance(meta['Parameters'], int)
    assert re.fullmatch(r'\d+x\d+', meta['Input Size'])
    assert ('Epochs' in meta) != ('Iterations' in meta)
    # published results of comparable models are marked as references
    for result in model.get('Results', []):
        assert result['Task'] in TASKS.values() and result['Dataset']
        assert all(name.startswith('reference ') for name in result['Metrics'])
        assert 'not a result of this config' in meta['Reference']


def test_every_config_of_an_indexed_family_is_indexed():
    indexed = {m['Config'] for m in MODELS}
    missing = [str(p.relative_to(REPO)) for path in METAFILES
               for p in sorted(path.parent.glob('*.py'))
               if str(p.relative_to(REPO)) not in indexed]
    assert not missing, f'configs without an entry in their metafile.yml: {missing}'


def build(cfg):
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS as REGISTRY
    else:
        from mmseg.registry import MODELS as REGISTRY
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return REGISTRY.build(model_cfg)


def check_entry_against_config(model, cfg):
    """Backbone, batch, schedule and task as the config has them."""
    meta = model['Metadata']
    backbone = cfg.model.backbone
    if backbone.type == 'GhostNetV2':
        dfc_stages = tuple(backbone.get('dfc_stages', (1,)))
        version = 'GhostNetV1' if dfc_stages == () else 'GhostNetV2'
        assert meta['Backbone'] == f'{version} {backbone.widen_factor:.1f}x'
    else:  # e.g. 'ResNet-50 + DFC attention' for a ResNet, 'MobileNetV2 1.0x + SE'
        family = re.split(r'[\s-]', meta['Backbone'])[0]
        assert family in backbone.type.split('.')[-1], (meta['Backbone'], backbone.type)
    assert meta['Batch Size'] % cfg.train_dataloader.batch_size == 0
    loop, dataset = cfg.train_cfg, cfg.train_dataloader.dataset
    repeats = dataset.times if dataset.type == 'RepeatDataset' else 1  # mmdet's "300e"
    assert meta.get('Epochs', meta.get('Iterations')) == \
        (loop.get('max_epochs', 0) * repeats or loop.get('max_iters'))
    for result in model.get('Results', []):
        assert result['Task'] == TASKS[cfg.default_scope]


@pytest.mark.slow
def test_every_config_builds_as_its_entry_states():
    """Every entry's config builds (each distinct model once), with the entry's
    parameter count, backbone, batch, schedule and task."""
    counts = {}
    for model in MODELS:
        cfg = Config.fromfile(REPO / model['Config'])
        check_entry_against_config(model, cfg)
        key = str(cfg.model)
        if key not in counts:
            counts[key] = sum(p.numel() for p in build(cfg).parameters())
        assert counts[key] == model['Metadata']['Parameters'], model['Name']


def one_per_network():
    """For each detector / segmentor, its entry counted at the smallest size."""
    chosen = {}
    for model in sorted(MODELS, key=lambda m: m['Metadata']['FLOPs']):
        chosen.setdefault(tuple(model['Metadata']['Architecture'][1:]), model)
    return list(chosen.values())


@pytest.mark.slow
@pytest.mark.parametrize('model', one_per_network(), ids=lambda m: m['Name'])
def test_flops_are_those_of_our_counter(model):
    """tools/analysis/get_flops.py's count at the entry's input size."""
    from ghostnetv2_mm.analysis import count_complexity
    from ghostnetv2_mm.deploy import exportable
    network = build(Config.fromfile(REPO / model['Config'])).eval()
    height, width = map(int, model['Metadata']['Input Size'].split('x'))
    stats = count_complexity(exportable(network, deploy=False),
                             (torch.randn(1, 3, height, width),))
    assert stats['macs'] == model['Metadata']['FLOPs']
    assert stats['params'] == model['Metadata']['Parameters']


def test_a_built_package_carries_the_index_where_mim_looks(tmp_path):
    """setup.py's build_py copies model-index.yml and configs/ into
    ghostnetv2_mm/.mim/, which mmengine's (and mim's) reader then resolves."""
    proc = subprocess.run([sys.executable, 'setup.py', '-q', 'build_py', '--build-lib',
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    mim_dir = tmp_path / 'ghostnetv2_mm' / '.mim'
    assert (mim_dir / 'model-index.yml').read_text() == (REPO / 'model-index.yml').read_text()
    packaged = list(BaseInferencer._get_models_from_metafile(str(mim_dir)))
    assert [m['Name'] for m in packaged] == [m['Name'] for m in MODELS]
    assert all((mim_dir / m['Config']).is_file() for m in packaged)
