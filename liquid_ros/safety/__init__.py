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
from liquid_ros.safety.robust import predict_full_state, predict_state, yaw_rate_bound

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
    "predict_full_state",
    "predict_state",
    "solve_qp",
    "speed_discretisation_margin",
    "yaw_rate_bound",
]


def __getattr__(name: str):  # lazy torch import for the training layers
    if name in ("BarrierLayer", "qp_solve"):
        from liquid_ros.safety import layer

        return getattr(layer, name)
    raise AttributeError(name)
