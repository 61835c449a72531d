"""Frame, quaternion-order, time and thrust conversions between ROS and flight stacks.

The one place where liquid_ros converts between its own conventions and a flight stack's:

* ROS (REP-103, REP-147): world ENU (x east, y north, z up), body FLU (x forward, y left,
  z up), quaternions ``(x, y, z, w)`` as in ``geometry_msgs/Quaternion``, time in seconds.
* PX4 (docs "ROS 2 User Guide" > "ROS 2 / PX4 Frame Conventions" and "ROS 2 Offboard
  Control", v1.15-1.16): world NED (x north, y east, z down), body FRD (x forward, y right,
  z down), quaternions ``(w, x, y, z)``, timestamps in microseconds since boot, and thrust
  setpoints normalised to ``[-1, 1]`` along the body axes (a multicopter pushes along -z FRD,
  so ``thrust_body[2]`` lies in ``[-1, 0]``).

Both frame changes are proper rotations and their own inverses: ENU <-> NED swaps x and y and
negates z (a half turn about the horizontal axis (1, 1, 0) / sqrt 2); FLU <-> FRD negates y
and z (a half turn about x). An attitude (the rotation taking body vectors to world vectors)
therefore converts as ``R_ned_frd = P R_enu_flu B`` with ``P`` the ENU/NED and ``B`` the
FLU/FRD change; the same formula goes back. This is what px4_ros_com's ``frame_transforms``
does with its ``NED_ENU_Q`` and ``AIRCRAFT_BASELINK_Q`` quaternions.

Vector and quaternion functions accept one (3,) / (4,) array or a stack (..., 3) / (..., 4).
"""

from __future__ import annotations

import math

import numpy as np

from liquid_ros.control.rotation import wrap_angle

# Half turn about (1, 1, 0) / sqrt 2: maps ENU vectors to NED vectors (and back). (x, y, z, w).
_Q_ENU_NED = np.array([math.sqrt(0.5), math.sqrt(0.5), 0.0, 0.0])
# Half turn about x: maps FRD vectors to FLU vectors (and back). (x, y, z, w).
_Q_FLU_FRD = np.array([1.0, 0.0, 0.0, 0.0])
_ENU_NED_PERM = np.array([1, 0, 2])
_ENU_NED_SIGN = np.array([1.0, 1.0, -1.0])
_FLU_FRD_SIGN = np.array([1.0, -1.0, -1.0])


def _vec3(v: np.ndarray) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"expected a vector (..., 3), got shape {arr.shape}")
    return arr


def _quat(q: np.ndarray) -> np.ndarray:
    arr = np.asarray(q, dtype=float)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"expected a quaternion (..., 4), got shape {arr.shape}")
    return arr


# --------------------------------------------------------------------------------- vectors
def enu_to_ned(v: np.ndarray) -> np.ndarray:
    """World vector (..., 3) from ENU to NED: ``(y, x, -z)``. Its own inverse."""
    return _vec3(v)[..., _ENU_NED_PERM] * _ENU_NED_SIGN


def ned_to_enu(v: np.ndarray) -> np.ndarray:
    """World vector (..., 3) from NED to ENU: ``(y, x, -z)``. Its own inverse."""
    return enu_to_ned(v)


def flu_to_frd(v: np.ndarray) -> np.ndarray:
    """Body vector (..., 3) from FLU to FRD: ``(x, -y, -z)``. Its own inverse.

    Applies to body rates and body torques as well as to forces and velocities.
    """
    return _vec3(v) * _FLU_FRD_SIGN


def frd_to_flu(v: np.ndarray) -> np.ndarray:
    """Body vector (..., 3) from FRD to FLU: ``(x, -y, -z)``. Its own inverse."""
    return flu_to_frd(v)


# ----------------------------------------------------------------------------- quaternions
def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    """Quaternion (..., 4) from ROS order ``(x, y, z, w)`` to PX4 order ``(w, x, y, z)``."""
    return np.roll(_quat(q), 1, axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    """Quaternion (..., 4) from PX4 order ``(w, x, y, z)`` to ROS order ``(x, y, z, w)``."""
    return np.roll(_quat(q), -1, axis=-1)


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a b`` (..., 4) of quaternions in ``(x, y, z, w)`` order.

    As rotations, ``a b`` applies ``b`` first, then ``a``.
    """
    a, b = _quat(a), _quat(b)
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ], axis=-1)


def quat_enu_flu_to_ned_frd(q: np.ndarray) -> np.ndarray:
    """Attitude (..., 4) ``(x, y, z, w)`` of FLU body in ENU world -> FRD body in NED world.

    The result is still in ``(x, y, z, w)`` order; use :func:`xyzw_to_wxyz` for PX4 fields.
    Its own inverse (see :func:`quat_ned_frd_to_enu_flu`).
    """
    return quat_multiply(quat_multiply(_Q_ENU_NED, _quat(q)), _Q_FLU_FRD)


def quat_ned_frd_to_enu_flu(q: np.ndarray) -> np.ndarray:
    """Attitude (..., 4) ``(x, y, z, w)`` of FRD body in NED world -> FLU body in ENU world."""
    return quat_enu_flu_to_ned_frd(q)


def ros_quat_to_px4(q_xyzw_enu_flu: np.ndarray) -> np.ndarray:
    """ROS attitude (..., 4) (x, y, z, w; ENU/FLU) -> PX4 attitude (w, x, y, z; NED/FRD)."""
    return xyzw_to_wxyz(quat_enu_flu_to_ned_frd(q_xyzw_enu_flu))


def px4_quat_to_ros(q_wxyz_ned_frd: np.ndarray) -> np.ndarray:
    """PX4 attitude (..., 4) (w, x, y, z; NED/FRD) -> ROS attitude (x, y, z, w; ENU/FLU)."""
    return quat_ned_frd_to_enu_flu(wxyz_to_xyzw(q_wxyz_ned_frd))


# ------------------------------------------------------------------------------------ yaw
def yaw_enu_to_ned(yaw: float) -> float:
    """Heading (rad) from ENU (0 = east, counter-clockwise) to NED (0 = north, clockwise).

    ``pi / 2 - yaw``, wrapped to ``[-pi, pi)``. Its own inverse.
    """
    return wrap_angle(0.5 * math.pi - float(yaw))


def yaw_ned_to_enu(yaw: float) -> float:
    """Heading (rad) from NED (0 = north, clockwise) to ENU (0 = east, counter-clockwise)."""
    return yaw_enu_to_ned(yaw)


def yaw_rate_enu_to_ned(yaw_rate: float) -> float:
    """Yaw rate (rad/s) about world up (ENU) -> about world down (NED): the sign flips."""
    return -float(yaw_rate)


# ----------------------------------------------------------------------------------- time
def us_to_seconds(stamp_us: int) -> float:
    """PX4 timestamp (int, microseconds) -> seconds (float)."""
    return int(stamp_us) * 1e-6


def seconds_to_us(seconds: float) -> int:
    """Seconds (float, >= 0) -> PX4 timestamp (int, microseconds, rounded to nearest).

    Raises:
        ValueError: If ``seconds`` is negative or not finite (PX4 timestamps are unsigned).
    """
    s = float(seconds)
    if not (math.isfinite(s) and s >= 0.0):
        raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
    return int(round(s * 1e6))


# --------------------------------------------------------------------------------- thrust
def _check_hover(hover_thrust: float, weight: float) -> None:
    if not 0.0 < hover_thrust < 1.0:
        raise ValueError(f"hover_thrust must be in (0, 1), got {hover_thrust!r}")
    if not (math.isfinite(weight) and weight > 0.0):
        raise ValueError(f"weight must be positive, got {weight!r}")


def thrust_newtons_to_normalized(thrust_n: float, hover_thrust: float, weight: float) -> float:
    """Collective thrust (N, along body up) -> PX4 ``thrust_body[2]`` in ``[-1, 0]``.

    Linear model ``thrust_body[2] = -hover_thrust * thrust_n / weight``, clipped: the
    normalised value ``hover_thrust`` (PX4's ``MPC_THR_HOVER``, or its hover-thrust estimate)
    produces the weight, and force grows linearly with it. The assumption holds when PX4's
    thrust curve (``THR_MDL_FAC``) linearises rotor force against the normalised command; with
    a purely linear-in-throttle ESC the true force grows faster (quadratically in rotor speed)
    and large commands overshoot.

    Args:
        thrust_n: Collective thrust (N), >= 0 pushes up.
        hover_thrust: Normalised thrust that hovers, in (0, 1).
        weight: Vehicle weight ``m g`` (N).
    """
    _check_hover(hover_thrust, weight)
    return float(np.clip(-hover_thrust * float(thrust_n) / weight, -1.0, 0.0))


def thrust_normalized_to_newtons(thrust_z: float, hover_thrust: float, weight: float) -> float:
    """PX4 ``thrust_body[2]`` (clipped to ``[-1, 0]``) -> collective thrust (N, >= 0).

    Inverse of :func:`thrust_newtons_to_normalized` (same linear model and assumption).
    """
    _check_hover(hover_thrust, weight)
    return float(-np.clip(float(thrust_z), -1.0, 0.0) * weight / hover_thrust)
