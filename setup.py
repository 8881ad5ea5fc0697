"""Packaging for ghostnetv2_mm (GhostNetV2 backbone for mmdet / mmseg)."""
import os
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    with open(os.path.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    with open(os.path.join(HERE, 'ghostnetv2_mm', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


class BuildPyWithModelIndex(build_py):
    """Also put model-index.yml and configs/ in the built package as
    ghostnetv2_mm/.mim/, where OpenMMLab's mim looks (``mim search``)."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, 'ghostnetv2_mm', '.mim')
        os.makedirs(target, exist_ok=True)
        shutil.copy2(os.path.join(HERE, 'model-index.yml'), target)
        shutil.copytree(os.path.join(HERE, 'configs'), os.path.join(target, 'configs'),
                        dirs_exist_ok=True, ignore=shutil.ignore_patterns('__pycache__'))


setup(
    name='ghostnetv2_mm',
    version=read_version(),
    description='GhostNetV2 (NeurIPS 2022) for MMDetection 3.x and MMSegmentation 1.x',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['ghostnetv2_mm', 'ghostnetv2_mm.*']),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime'),
    extras_require={extra: read_requirements(extra)
                    for extra in ('det', 'seg', 'deploy', 'tests')},
    license='Apache-2.0',
    package_data={'ghostnetv2_mm.deploy.ops': ['*.cpp']},
    zip_safe=False,
    cmdclass={'build_py': BuildPyWithModelIndex},
)
