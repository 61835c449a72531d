"""What keeps the filter's guarantee off the nominal model: latency prediction and yaw bound.

- :func:`predict_state`: odometry is ``age`` seconds old when a command built from it takes
  effect; the filter must judge the state the command will act on, not the one measured.
  Integrating the double integrator over the age with the acceleration commanded meanwhile is
  predictor feedback of CBFs under input delay (Molnar, Kiss, Ames and Orosz, "Safety-critical
  control with input delay in dynamic contexts", IEEE T-CST 2023; Jankovic, "Control barrier
  functions for constrained control of linear systems with input delay", ACC 2018), leaving
  only the prediction error to the robust margin.
- :func:`predict_full_state`: the same over the commands sent since the measurement, for the
  attitude too (body rate integrated under the commanded torques): the attitude loop closed
  over 40 ms old odometry is unstable (every episode crashed), over the predicted one it is not.
- :func:`yaw_rate_bound`: the yaw rate is outside the double-integrator model, but a fast,
  flipping yaw makes the attitude loop miss the commanded acceleration. Bounding it near the
  barriers keeps that miss inside ``SafetyConfig.accel_error_bound``.
"""

from __future__ import annotations

import numpy as np

from liquid_ros.control.frames import quat_multiply
from liquid_ros.safety.config import SafetyConfig


def predict_state(pos: np.ndarray, vel: np.ndarray, age: float, accel: np.ndarray | None,
                  max_age: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """State (position, velocity) ``age`` seconds after a measurement, under ``accel``.

    Args:
        pos: Measured position (3,) m, world ENU.
        vel: Measured velocity (3,) m/s.
        age: Time (s) from the measurement's stamp to when the command takes effect: input
            latency plus any output delay. Clamped to ``[0, max_age]``; a non-finite age
            (no stamp) predicts nothing.
        accel: Acceleration (3,) m/s^2 commanded over that time (the last command sent), or
            None for zero.
        max_age: Longest prediction (s): older data is stale, not to be extrapolated.

    Returns:
        Predicted position (3,) and velocity (3,) (new arrays).
    """
    pos = np.asarray(pos, dtype=np.float64)
    vel = np.asarray(vel, dtype=np.float64)
    if not np.isfinite(age) or age <= 0.0:
        return pos.copy(), vel.copy()
    t = min(float(age), max_age)
    a = np.zeros(3) if accel is None else np.asarray(accel, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        a = np.zeros(3)
    return pos + vel * t + 0.5 * a * t * t, vel + a * t


def predict_full_state(pos: np.ndarray, vel: np.ndarray, quat: np.ndarray,
                       omega: np.ndarray, age: float,
                       commands: list[tuple[float, np.ndarray, np.ndarray]],
                       inertia: tuple[float, float, float], max_age: float = 0.2,
                       torque_lag: float = 0.0, substep: float = 0.005
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Position, velocity, attitude and body rate ``age`` s after a measurement.

    Args:
        pos: Measured position (3,) m, world ENU.
        vel: Measured velocity (3,) m/s.
        quat: Measured attitude (4,) (x, y, z, w), body to world.
        omega: Measured body rate (3,) rad/s, FLU.
        age: Seconds from the measurement to now (clamped to ``[0, max_age]``).
        commands: ``(seconds before now it was sent, accel (3,) m/s^2, torque (3,) N m)`` of
            the commands sent recently, oldest first; each holds until the next.
        inertia: Diagonal inertia (kg m^2) for the rate prediction.
        max_age: Longest prediction (s).
        torque_lag: Time constant (s) of the rotors: the torque acting follows the commanded
            one as a first-order lag, run over the whole command history (so its value at
            the measurement time is known too). 0: the command acts at once.
        substep: Integration step (s).

    Returns:
        Predicted position (3,), velocity (3,), unit quaternion (4,) and body rate (3,).
    """
    p, v = np.array(pos, dtype=np.float64), np.array(vel, dtype=np.float64)
    q, w = np.array(quat, dtype=np.float64), np.array(omega, dtype=np.float64)
    age = min(float(age), max_age) if np.isfinite(age) else 0.0
    if age <= 0.0:
        return p, v, q, w
    if not commands or commands[0][0] < age:  # nothing known before: coast from the state
        commands = [(age, np.zeros(3), np.zeros(3)), *commands]
    inertia_arr = np.asarray(inertia, dtype=np.float64)
    tau_act = np.asarray(commands[0][2], dtype=np.float64).copy()
    for i, (ago, acc, tau) in enumerate(commands):
        end = commands[i + 1][0] if i + 1 < len(commands) else 0.0
        tau = np.asarray(tau, dtype=np.float64)
        acc = np.asarray(acc, dtype=np.float64)
        t = ago
        while t > end + 1e-12:
            h = min(substep, t - end)
            if t > age:  # before the measurement: only the rotor lag runs
                h = min(h, t - age) if t - age > 1e-12 else h
            alpha = 1.0 - np.exp(-h / torque_lag) if torque_lag > 0.0 else 1.0
            tau_prev = tau_act
            tau_act = tau_act + alpha * (tau - tau_act)
            if t <= age + 1e-12:
                tau_mid = 0.5 * (tau_prev + tau_act)
                p = p + v * h + 0.5 * acc * h * h
                v = v + acc * h
                w_dot = (tau_mid - np.cross(w, inertia_arr * w)) / inertia_arr
                w_mid = w + 0.5 * w_dot * h
                w = w + w_dot * h
                angle = float(np.linalg.norm(w_mid)) * h
                if angle > 1e-12:
                    axis = w_mid / np.linalg.norm(w_mid)
                    q = quat_multiply(q, np.append(axis * np.sin(angle / 2.0),
                                               np.cos(angle / 2.0)))
            t -= h
    return p, v, q / np.linalg.norm(q), w


def yaw_rate_bound(config: SafetyConfig, nearest: float) -> float:
    """Yaw-rate limit (rad/s) at ``nearest`` m from the closest position barrier.

    ``yaw_rate_max`` beyond ``yaw_slow_distance``, falling linearly to ``yaw_rate_near`` at the
    boundary and below it, inside a forbidden set (``-inf``, "no distance known", included);
    ``+inf`` (no position barrier) gives ``yaw_rate_max``, NaN ``yaw_rate_near``. With
    ``yaw_slow_distance`` 0 the bound steps from ``yaw_rate_near`` to ``yaw_rate_max`` at the
    boundary.
    """
    if np.isnan(nearest):
        return config.yaw_rate_near
    if nearest == np.inf:
        return config.yaw_rate_max
    if config.yaw_slow_distance <= 0.0:
        return config.yaw_rate_max if nearest > 0.0 else config.yaw_rate_near
    frac = min(max(nearest / config.yaw_slow_distance, 0.0), 1.0)
    return config.yaw_rate_near + frac * (config.yaw_rate_max - config.yaw_rate_near)
