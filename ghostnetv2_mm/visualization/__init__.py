"""Seeing what the model sees: inference pictures on a user's own images and
videos (``inference``, ``media``, ``legend``), DFC attention gates
(``dfc_gates``), training curves (``curves``) and pipeline samples with their
ground truth (``dataset_samples``). The tools under ``demo/`` and
``tools/analysis/`` are their command lines.

Nothing here is imported by ``import ghostnetv2_mm``; mmdet / mmseg code is
imported where it is used, so either toolbox alone suffices.
"""
