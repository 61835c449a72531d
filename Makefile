# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
# Everything installs into a project-local virtual environment, once; later runs reuse it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check -c requirements/constraints.txt
# What the ROS wheels need at run time: the ament index and shared libraries of the venv.
RUN_ENV := AMENT_PREFIX_PATH=$(abspath $(VENV)) LD_LIBRARY_PATH=$(abspath $(VENV))/lib:$$LD_LIBRARY_PATH
DEPS_STAMP := $(VENV)/.deps-installed
PKG_STAMP := $(VENV)/.pkg-installed
PKG_SOURCES := setup.py setup.cfg package.xml $(wildcard resource/* scripts_lib/* launch/* config/*) \
	$(shell find liquid_ros -name '*.py' -o -name '*.pt' -o -name '*.urdf' 2>/dev/null)
# Flight-stack message subsets kept in interfaces/ (see interfaces/README.md), generated into
# the venv for the adapters and their tests.
INTERFACES := px4_msgs crazyflie_interfaces mavros_msgs
IFACE_STAMP := $(VENV)/.interfaces-built
IFACE_SOURCES := tools/build-interfaces $(shell find $(addprefix interfaces/,$(INTERFACES)) \
	-type f 2>/dev/null)
PYTEST_ARGS ?=
DEMO_ARGS ?= --duration 10

.PHONY: all demo test lint bench clean venv

all: test

$(DEPS_STAMP): requirements/constraints.txt requirements/ros-kilted.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip wheel setuptools
	# torch first, exactly the pinned CPU build; anything looser would download a CUDA build.
	$(PIP) torch==2.13.0
	$(PIP) -r requirements/ros-kilted.txt -r requirements/dev.txt \
		numpy pybullet gymnasium matplotlib tqdm pyyaml
	touch $@

# A regular (non-editable) install: it puts launch/, config/ and package.xml in the ament index
# and the node executables in <venv>/lib/liquid_ros/, as `ros2 run` and launch_ros expect.
$(PKG_STAMP): $(DEPS_STAMP) $(PKG_SOURCES)
	$(PIP) --no-deps --no-build-isolation --force-reinstall .
	# Ahead-of-time: compile the numba kernels into the installed package's cache now, so the
	# first launch loads them (about 1 s) instead of compiling them (about 20 s).
	$(RUN_ENV) $(VENV)/bin/liquid-ros warmup
	touch $@

# Once per change of the definitions: about 80-140 s on 2 cores (40-50 s per package, mostly
# the generators' fixed cost). FORCE=1: the tool skips a package that already imports, which
# would keep stale definitions. Needs cmake, make, g++ and root (tools/build-interfaces); without
# them this warns and goes on, the stamp stays missing (retried next time) and the tests that
# need the messages skip with a reason.
$(IFACE_STAMP): $(DEPS_STAMP) $(IFACE_SOURCES)
	@if FORCE=1 tools/build-interfaces $(VENV) $(addprefix interfaces/,$(INTERFACES)); then \
		touch $@; \
	else \
		echo "WARNING: could not build the flight-stack messages ($(INTERFACES)); see the" \
			"lines above. Their adapter tests will be skipped." >&2; \
	fi

venv: $(PKG_STAMP) $(IFACE_STAMP)

test: $(PKG_STAMP) $(IFACE_STAMP)
	$(RUN_ENV) $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: $(PKG_STAMP)
	$(RUN_ENV) $(VENV)/bin/liquid-ros demo $(DEMO_ARGS)

lint: $(PKG_STAMP)
	$(VENV)/bin/ruff check .

bench: $(PKG_STAMP)
	for b in benchmarks/bench_*.py; do $(RUN_ENV) $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
