"""Scoring saved predictions without a model, through the toolboxes' own metrics
and mmengine's ``Evaluator.offline_evaluate``: ``coco_results`` (needs mmdet)
and ``label_maps`` (needs mmseg); imported on use."""
