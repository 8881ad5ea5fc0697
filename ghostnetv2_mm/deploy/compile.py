"""``torch.compile`` for a deployed model."""
import functools

import torch


def compile_for_inference(model, **compile_kwargs):
    """``torch.compile`` with inductor's ``freezing``, which treats the weights
    as constants (prepacked for the GEMM and conv kernels, bias and ReLU fused
    into them). Returns a callable that runs under ``torch.no_grad()``, as a
    frozen graph must."""
    compiled = torch.compile(model, options={'freezing': True}, **compile_kwargs)

    @functools.wraps(model.forward)
    def run(*args, **kwargs):
        with torch.no_grad():
            return compiled(*args, **kwargs)
    run.compiled = compiled
    return run
