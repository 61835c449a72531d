"""Safety filter: HOCBF barriers, a batched differentiable QP and the run-time SafetyFilter.

Importing this package does not import torch; :mod:`liquid_ros.safety.layer` (the training
layers ``qp_solve`` and ``BarrierLayer``) does.
"""

from __future__ import annotations

from liquid_ros.safety.barriers import (
    barrier_names,
    barrier_values,
    discretisation_margin,
    hocbf_rows,
    penalty_gains,
    speed_discretisation_margin,
)
from liquid_ros.safety.config import SafetyConfig, SafetyStatus
from liquid_ros.safety.filter import SafetyFilter
from liquid_ros.safety.qp import QPResult, solve_qp

__all__ = [
    "QPResult",
    "SafetyConfig",
    "SafetyFilter",
    "SafetyStatus",
    "barrier_names",
    "barrier_values",
    "discretisation_margin",
    "hocbf_rows",
    "penalty_gains",
    "solve_qp",
    "speed_discretisation_margin",
]


def __getattr__(name: str):  # lazy torch import for the training layers
    if name in ("BarrierLayer", "qp_solve"):
        from liquid_ros.safety import layer

        return getattr(layer, name)
    raise AttributeError(name)
