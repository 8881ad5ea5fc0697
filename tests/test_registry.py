"""One import registers everything in mmengine's root registries, found from
mmdet's and mmseg's; the package imports with only one toolbox installed; the
training model never imports the inference runtime, and nothing imports in a cycle."""
import ast
import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import DefaultScope

import ghostnetv2_mm
from ghostnetv2_mm import DFCAttention, GhostNetV2
from helpers import REPO

PACKAGE = REPO / 'ghostnetv2_mm'


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_through_each_toolbox_registry(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    assert registry.get('GhostNetV2') is GhostNetV2  # found through the parent
    assert registry.get('DFCAttention') is DFCAttention
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='GhostNetV2', widen_factor=1.3,
                                    out_indices=(2, 3, 4)))
    assert type(model) is GhostNetV2 and model.out_channels == [52, 144, 208]


def test_registered_once_in_the_root_registries():
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import DATASETS, HOOKS, MODEL_WRAPPERS, MODELS
    from mmseg.registry import DATASETS as SEG_DATASETS
    from mmseg.registry import MODELS as SEG_MODELS
    assert MODELS.get('GhostNetV2') is GhostNetV2
    assert 'GhostNetV2' not in DET_MODELS.module_dict
    assert 'GhostNetV2' not in SEG_MODELS.module_dict
    assert HOOKS.get('DeployModeHook') is ghostnetv2_mm.engine.DeployModeHook
    assert DATASETS.get('SegFolderDataset') is SEG_DATASETS.get('SegFolderDataset') \
        is ghostnetv2_mm.datasets.SegFolderDataset
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is not None
    assert callable(MODELS.get('DeployedGhostNetV2'))


HIDE = textwrap.dedent('''
    import sys

    class Hide:
        """Makes {name} look uninstalled."""
        def find_spec(self, fullname, path=None, target=None):
            if fullname == {name!r} or fullname.startswith({name!r} + '.'):
                raise ModuleNotFoundError(f'No module named {{fullname!r}}', name=fullname)

    sys.meta_path.insert(0, Hide())
''')


def run_python(code):
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_imports_and_builds_with_mmdet_alone():
    out = run_python(HIDE.format(name='mmseg') + textwrap.dedent('''
        import ghostnetv2_mm
        from mmdet.registry import MODELS
        from mmengine.registry import DATASETS, DefaultScope
        assert 'mmseg' not in sys.modules
        assert DATASETS.get('SegFolderDataset') is None
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(dict(type='GhostNetV2', out_indices=(2, 3, 4)))
        print('ok', model.out_channels)
    '''))
    assert 'ok [40, 112, 160]' in out


def test_imports_and_builds_with_mmseg_alone():
    out = run_python(HIDE.format(name='mmdet') + textwrap.dedent('''
        import ghostnetv2_mm
        from mmengine.registry import DefaultScope
        from mmseg.registry import DATASETS, MODELS
        assert 'mmdet' not in sys.modules
        assert DATASETS.get('SegFolderDataset') is ghostnetv2_mm.datasets.SegFolderDataset
        with DefaultScope.overwrite_default_scope('mmseg'):
            model = MODELS.build(dict(type='GhostNetV2'))
        print('ok', model.out_channels)
    '''))
    assert 'ok [24, 40, 112, 160]' in out


def package_imports():
    """{module: set of ghostnetv2_mm modules it imports}, from the source."""
    graph = {}
    for path in PACKAGE.rglob('*.py'):
        parts = path.relative_to(REPO).with_suffix('').parts
        module = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        package = module if parts[-1] == '__init__' else module.rsplit('.', 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split('.')
                    base = base[:len(base) - node.level + 1]
                    name = '.'.join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ''
                targets.add(name)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[module] = {t for t in targets if t.startswith('ghostnetv2_mm')}
    return graph


def test_models_never_import_the_deploy_runtime():
    graph = package_imports()
    offenders = {m: sorted(t for t in targets if t.startswith('ghostnetv2_mm.deploy'))
                 for m, targets in graph.items() if m.startswith('ghostnetv2_mm.models')}
    assert graph and not {m: t for m, t in offenders.items() if t}


def test_no_import_cycles_between_modules():
    graph = package_imports()
    modules = set(graph)

    def resolve(target):  # 'a.b.c' may name a module or an object in 'a.b'
        while target and target not in modules:
            target = target.rpartition('.')[0]
        return target

    edges = {m: {resolve(t) for t in targets} - {m, ''} for m, targets in graph.items()}
    # a package's __init__ importing its own submodules is how packages work
    edges = {m: {t for t in ts if not t.startswith(m + '.')} for m, ts in edges.items()}
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 'open':
                raise AssertionError(f'import cycle: {" -> ".join(stack + [node, nxt])}')
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 'done'

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
