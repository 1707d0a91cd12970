# Two commands on a fresh machine:
#   make run    set everything up, then start the live app
#   make test   set everything up, then run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.livepose-installed
# libusb: pyrealsense2's USB backend.
# The viewer (PyQt5's wheels bundle Qt but not these): OpenGL with Mesa's software renderer, glib, fontconfig,
# and the X11/xcb libraries Qt's xcb platform plugin loads; xvfb and xauth give the window tests a display.
# chromium: the web example's end-to-end test (headless).
DEB_PACKAGES := libusb-1.0-0 \
	libgl1 libgl1-mesa-dri libopengl0 libglib2.0-0 libfontconfig1 libxkbcommon-x11-0 libx11-xcb1 libxcursor1 \
	libxcb-glx0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 \
	libxcb-xinerama0 libxcb-xfixes0 libxcb-sync1 \
	xvfb xauth chromium

.PHONY: setup run test lint clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt Makefile
	@bash scripts/install-system-packages.sh $(DEB_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run_live.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/livepose bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check livepose tests run_live.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
