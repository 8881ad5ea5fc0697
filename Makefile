# The two commands of the README. Both install only what is missing, then run.
PYTHON ?= python3

.PHONY: install demo test
install:
	@$(PYTHON) tools/misc/install_deps.py --extras tests deploy

demo: install
	@$(PYTHON) tools/misc/pyramid_demo.py

test: install
	@$(PYTHON) -m pytest -q tests
