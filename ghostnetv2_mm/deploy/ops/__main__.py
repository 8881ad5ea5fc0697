"""``python -m ghostnetv2_mm.deploy.ops``: build the compiled kernels now and say where."""
import sys

from . import build_directory, load_kernels

if load_kernels() is None:
    sys.exit('ghostnetv2_mm: compiled kernels not available (see the warning above)')
print(f'ghostnetv2_mm kernels ready in {build_directory()}')
