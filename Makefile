# The two commands of the README. Both install only what is missing, then run.
PYTHON ?= python3

.PHONY: install demo test
install:
	@$(PYTHON) tools/misc/install_deps.py --extras det seg deploy tests

# Trains YOLOv3-GhostNetV2 from scratch on 8 coco128 images (CPU, a few
# minutes), tests it, prints the COCO mAP table and saves a picture of its boxes.
demo: install
	@$(PYTHON) tools/misc/detection_demo.py

test: install
	@$(PYTHON) -m pytest -q tests
