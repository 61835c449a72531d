"""Safety filter: HOCBF barriers, a batched differentiable QP and the run-time SafetyFilter.

Importing this package imports neither numba nor torch: ``SafetyFilter`` and ``solve_qp``
(numba kernels) and the training layers ``qp_solve`` and ``BarrierLayer`` (torch) are loaded
on first access.
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


def __getattr__(name: str):  # noqa: ANN202 - lazy imports: numba (QP) and torch (layers)
    # The QP pulls in numba (about 0.5 s to import), the layers torch: a node that only needs
    # SafetyConfig (policy_node's parameters) starts without either.
    if name in ("SafetyFilter",):
        from liquid_ros.safety import filter as _filter

        return _filter.SafetyFilter
    if name in ("QPResult", "solve_qp"):
        from liquid_ros.safety import qp

        return getattr(qp, name)
    if name in ("BarrierLayer", "qp_solve"):
        from liquid_ros.safety import layer

        return getattr(layer, name)
    raise AttributeError(name)
