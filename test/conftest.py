"""Test-wide setup: isolate DDS traffic, headless plotting, and the ament index of the venv."""

from __future__ import annotations

import os
import random
import sys

# Each pytest session gets its own DDS domain on loopback, so parallel runs (CI, developers,
# benchmarks) never hear each other's topics. Must be set before rclpy initialises.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("MPLBACKEND", "Agg")
# ament_index_python reads only AMENT_PREFIX_PATH; the pip-installed package lives in this prefix.
os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)

# Tests exercise the working tree, whichever way pytest was started; the regular install in the
# venv provides the ament index entries and the node executables.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path[0] != _ROOT:
    sys.path.insert(0, _ROOT)

# Property tests: the same examples on every run (CI must not turn red on a newly drawn
# example), no example database. HYPOTHESIS_PROFILE=explore draws fresh random examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=2000, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
