# Two commands on a fresh machine:
#   make run    set everything up, then start the live app
#   make test   set everything up, then run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.livepose-installed
# libusb: pyrealsense2's USB backend.
DEB_PACKAGES := libusb-1.0-0

.PHONY: setup run test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt
	@bash scripts/install-system-packages.sh $(DEB_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run_live.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check livepose tests run_live.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
