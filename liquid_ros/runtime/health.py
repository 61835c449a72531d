"""The pilot's health as diagnostic key-values and a level (OK, WARN, ERROR), free of ROS."""

from __future__ import annotations

from typing import Any

OK, WARN, ERROR = 0, 1, 2


def pilot_health(mode: str, status: dict[str, Any], counters: dict[str, int],
                 ages: dict[str, float], rejected: dict[str, int], rate: float,
                 last_error: str) -> tuple[int, dict[str, Any]]:
    """(level, values) of a running pilot.

    The level is OK while the policy flies, WARN in hover or inactive, ERROR otherwise and
    whenever the state is inside a forbidden set (a barrier violated now), whatever the
    command. Values: mode, wall-clock tick rate, violated barriers and each barrier's value,
    input ages, the pilot's counters, rejected inputs and the last error.
    """
    level = OK if mode in ("policy", "active") else WARN if mode in ("hover", "inactive") \
        else ERROR
    violated = list(status.get("violated") or [])
    if violated:
        level = ERROR
    barriers = (status.get("stage1") or {}).get("barrier_values") or {}
    values = {"mode": mode, "rate_hz_wall": f"{rate:.1f}", "violated": ",".join(violated),
              **{f"barrier_{k}": f"{v:.3f}" for k, v in barriers.items()
                 if isinstance(v, (int, float))},
              **{f"{k}_age_s": f"{v:.3f}" for k, v in ages.items()},
              **counters, **{f"rejected_{k}": v for k, v in rejected.items()},
              "last_error": last_error}
    return level, values


def startup_health(mode: str, error: str) -> tuple[int, dict[str, Any]]:
    """(level, values) while the policy loads: WARN, or ERROR when start-up failed."""
    return (ERROR if error else WARN), {"mode": mode, "startup_error": error}
