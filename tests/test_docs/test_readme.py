"""The README stays short, its commands run as written (the cheap ones) or at least
parse their arguments (--help), and every path the README and docs/ name exists."""
import re
import shlex
import subprocess

import pytest

from helpers import REPO, run_tool

README = REPO / 'README.md'


def bash_commands(path):
    """Command lines of the ```bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', path.read_text(), re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = line.split('  #')[0].strip()
            if line and not line.startswith('#'):
                commands.append(line)
    return commands


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 200


README_COMMANDS = bash_commands(README)
CHEAP = {'python tools/analysis/get_flops.py --backbone widen_factor=1.0 --shape 320 320'}


def test_readme_has_the_two_commands():
    assert [c for c in README_COMMANDS if c.startswith('make ')] == ['make demo', 'make test']
    targets = subprocess.run(['make', '-n', 'demo', 'test'], cwd=REPO, capture_output=True,
                             text=True)
    assert targets.returncode == 0, targets.stderr
    assert 'install_deps.py' in targets.stdout and 'pytest' in targets.stdout \
        and 'detection_demo.py' in targets.stdout


@pytest.mark.parametrize('command', [c for c in README_COMMANDS
                                     if c.startswith(('python ', 'bash '))])
def test_readme_command_runs_or_parses(command):
    argv = shlex.split(command)
    script = argv[1]
    assert (REPO / script).is_file(), script
    if command in CHEAP:
        out = run_tool(*argv[1:])
        assert 'MACs conv+linear' in out
    elif argv[0] == 'bash':  # the launchers print their usage without arguments
        proc = subprocess.run(['bash', script], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 2 and 'usage:' in proc.stderr
    else:
        assert 'usage:' in run_tool(script, '--help')


@pytest.mark.parametrize('doc', [README] + sorted((REPO / 'docs').glob('*.md'))
                         + sorted((REPO / 'configs').rglob('README.md')),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_named_paths_exist(doc):
    text = doc.read_text()
    links = re.findall(r'\]\(([^)#]+)(?:#[^)]*)?\)', text)
    paths = re.findall(r'`((?:configs|tools|docs|ghostnetv2_mm|\.dev_scripts)/[^`\s*{]+)`',
                       text)
    missing = [p for p in links if not p.startswith('http')
               and not (doc.parent / p).exists()]
    missing += [p for p in paths if not (REPO / p).exists()]
    assert not missing, missing
