"""Compiled laws of the simulated flight controller's cascade (see ``flight_controller_loops``).

The cascade runs at every 240 Hz physics substep, so its arithmetic lives here as numba
functions on floats (about 1.5 us for the whole chain instead of about 15 us in Python); the
classes of :mod:`liquid_ros.sim.flight_controller_loops` call them and document the laws.
Without numba they run as plain Python (same results, slower). They compile on first use
(cached on disk); ``warm()`` runs each once.

Packed constants (``consts``, float64, :data:`N_CONSTS`): mass, minimum vertical force, maximum
thrust, tan(max tilt), yaw weight, attitude gain (3), rate limits (3), rate P (3), rate I (3),
rate D (3) (all times the inertia), rate-integrator limits (3), inertia (3), maximum rotor
thrust. Rate-loop state (``pid``, float64, 7): integrator (3), previous body rate (3), and
whether that previous rate is set (1.0) or not (0.0).
"""

from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    def njit(*args, **kwargs):  # noqa: D103
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

GRAVITY = 9.81  # liquid_ros.control.quadrotor.GRAVITY (kept a literal: numba folds it)
N_CONSTS = 27
"""Length of the packed constants."""


@njit(cache=True)
def _qmul(ax: float, ay: float, az: float, aw: float, bx: float, by: float, bz: float,
          bw: float) -> tuple[float, float, float, float]:
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


@njit(cache=True)
def _clamp(x: float, lim: float) -> float:
    return -lim if x < -lim else (lim if x > lim else x)


@njit(cache=True)
def thrust_attitude(ax: float, ay: float, az: float, yaw: float, mass_scale: float,
                    c: np.ndarray) -> tuple[float, float, float, float, float]:
    """(qx, qy, qz, qw, thrust): attitude setpoint and thrust for world acceleration (ax..)."""
    m = c[0] * mass_scale
    fx, fy, fz = m * ax, m * ay, m * (az + GRAVITY)
    if c[1] > fz:
        fz = c[1]
    horizontal = math.hypot(fx, fy)
    max_horizontal = fz * c[3]
    if horizontal > max_horizontal:
        fx, fy = fx * max_horizontal / horizontal, fy * max_horizontal / horizontal
    n = math.sqrt(fx * fx + fy * fy + fz * fz)
    x3, y3, z3 = fx / n, fy / n, fz / n  # body z
    thrust = fz / z3
    if thrust > c[2]:
        thrust = c[2]
    # body x: (-sin yaw, cos yaw, 0) x b3, normalised; body y: b3 x b1
    s, co = -math.sin(yaw), math.cos(yaw)
    x1, y1, z1 = co * z3 - 0.0 * y3, 0.0 * x3 - s * z3, s * y3 - co * x3
    n = math.sqrt(x1 * x1 + y1 * y1 + z1 * z1)
    x1, y1, z1 = x1 / n, y1 / n, z1 / n
    x2, y2, z2 = y3 * z1 - z3 * y1, z3 * x1 - x3 * z1, x3 * y1 - y3 * x1
    # Unit quaternion of the rotation with columns b1, b2, b3 (Shepperd's method).
    tr = x1 + y2 + z3
    if tr > 0.0:
        s = 2.0 * math.sqrt(tr + 1.0)
        return (z2 - y3) / s, (x3 - z1) / s, (y1 - x2) / s, 0.25 * s, thrust
    if x1 >= y2 and x1 >= z3:
        s = 2.0 * math.sqrt(1.0 + x1 - y2 - z3)
        return 0.25 * s, (x2 + y1) / s, (x3 + z1) / s, (z2 - y3) / s, thrust
    if y2 >= z3:
        s = 2.0 * math.sqrt(1.0 + y2 - x1 - z3)
        return (x2 + y1) / s, 0.25 * s, (y3 + z2) / s, (x3 - z1) / s, thrust
    s = 2.0 * math.sqrt(1.0 + z3 - x1 - y2)
    return (x3 + z1) / s, (y3 + z2) / s, 0.25 * s, (y1 - x2) / s, thrust


@njit(cache=True)
def attitude_rates(x: float, y: float, z: float, w: float, sx: float, sy: float, sz: float,
                   sw: float, yaw_rate_ff: float, c: np.ndarray) -> tuple[float, float, float]:
    """Body rate setpoint (3) for attitude (x, y, z, w) and setpoint (sx, .., sw)."""
    # Reduced setpoint: the shortest tilt taking the body z axis to the desired one.
    ex, ey, ez = 2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)
    dx, dy, dz = (2.0 * (sx * sz + sw * sy), 2.0 * (sy * sz - sw * sx),
                  1.0 - 2.0 * (sx * sx + sy * sy))
    cw = 1.0 + ex * dx + ey * dy + ez * dz
    if cw < 1e-5:  # upside down: no unique shortest tilt, use the full setpoint
        rx, ry, rz, rw = sx, sy, sz, sw
    else:
        cx, cy, cz = ey * dz - ez * dy, ez * dx - ex * dz, ex * dy - ey * dx
        n = math.sqrt(cx * cx + cy * cy + cz * cz + cw * cw)
        rx, ry, rz, rw = _qmul(cx / n, cy / n, cz / n, cw / n, x, y, z, w)
    mx, my, mz, mw = _qmul(-rx, -ry, -rz, rw, sx, sy, sz, sw)
    if mw < 0.0:  # canonical: w >= 0
        mz, mw = -mz, -mw
    weight = c[4]
    cz, sz_ = min(max(mw, -1.0), 1.0), min(max(mz, -1.0), 1.0)
    yx, yy, yz, yw = _qmul(rx, ry, rz, rw, 0.0, 0.0, math.sin(weight * math.asin(sz_)),
                           math.cos(weight * math.acos(cz)))
    ux, uy, uz, uw = _qmul(-x, -y, -z, w, yx, yy, yz, yw)
    if uw < 0.0:
        ux, uy, uz = -ux, -uy, -uz
    # Feedforward: the world yaw rate expressed in the body frame (R^T e3 = e_z's row).
    px = 2.0 * ux * c[5] + 2.0 * (x * z - w * y) * yaw_rate_ff
    py = 2.0 * uy * c[6] + 2.0 * (y * z + w * x) * yaw_rate_ff
    pz = 2.0 * uz * c[7] + (1.0 - 2.0 * (x * x + y * y)) * yaw_rate_ff
    return _clamp(px, c[8]), _clamp(py, c[9]), _clamp(pz, c[10])


@njit(cache=True)
def rate_torque(wx: float, wy: float, wz: float, sx: float, sy: float, sz: float, dt: float,
                c: np.ndarray, pid: np.ndarray) -> tuple[float, float, float]:
    """Torque (3) for body rate (wx, ..) and setpoint (sx, ..); updates ``pid``."""
    ex, ey, ez = sx - wx, sy - wy, sz - wz
    if dt > 0.0:
        pid[0] = _clamp(pid[0] + c[14] * ex * dt, c[20])
        pid[1] = _clamp(pid[1] + c[15] * ey * dt, c[21])
        pid[2] = _clamp(pid[2] + c[16] * ez * dt, c[22])
    jx, jy, jz = c[23], c[24], c[25]
    # P + I + the gyroscopic term w x J w
    tx = c[11] * ex + pid[0] + (jz - jy) * wy * wz
    ty = c[12] * ey + pid[1] + (jx - jz) * wz * wx
    tz = c[13] * ez + pid[2] + (jy - jx) * wx * wy
    if pid[6] > 0.0 and dt > 0.0:
        tx = tx - c[17] * (wx - pid[3]) / dt
        ty = ty - c[18] * (wy - pid[4]) / dt
        tz = tz - c[19] * (wz - pid[5]) / dt
    pid[3], pid[4], pid[5], pid[6] = wx, wy, wz, 1.0
    return tx, ty, tz


@njit(cache=True)
def allocate(thrust: float, tx: float, ty: float, tz: float, mixer: np.ndarray,
             mixer_inv: np.ndarray, max_rotor: float) -> tuple[float, float, float, float]:
    """Achievable wrench (4) nearest the demand: roll/pitch first, then thrust, then yaw."""
    u0 = mixer_inv[0, 1] * tx + mixer_inv[0, 2] * ty
    u1 = mixer_inv[1, 1] * tx + mixer_inv[1, 2] * ty
    u2 = mixer_inv[2, 1] * tx + mixer_inv[2, 2] * ty
    u3 = mixer_inv[3, 1] * tx + mixer_inv[3, 2] * ty
    lo, hi = min(min(u0, u1), min(u2, u3)), max(max(u0, u1), max(u2, u3))
    spread = hi - lo
    if spread > max_rotor:
        u0, u1 = u0 * max_rotor / spread, u1 * max_rotor / spread
        u2, u3 = u2 * max_rotor / spread, u3 * max_rotor / spread
        lo, hi = min(min(u0, u1), min(u2, u3)), max(max(u0, u1), max(u2, u3))
    base = min(max(thrust * mixer_inv[0, 0], -lo), max_rotor - hi)  # shifted to fit
    f = np.empty(4)
    f[0], f[1], f[2], f[3] = base + u0, base + u1, base + u2, base + u3
    k = 1.0  # the share of the yaw demand that fits
    for i in range(4):
        y = mixer_inv[i, 3] * tz
        if y > 0.0 and f[i] + y > max_rotor:
            k = min(k, (max_rotor - f[i]) / y)
        elif y < 0.0 and f[i] + y < 0.0:
            k = min(k, -f[i] / y)
    k = max(k, 0.0)
    for i in range(4):
        f[i] = min(max(f[i] + k * mixer_inv[i, 3] * tz, 0.0), max_rotor)
    w = np.empty(4)
    for i in range(4):
        w[i] = mixer[i, 0] * f[0] + mixer[i, 1] * f[1] + mixer[i, 2] * f[2] + mixer[i, 3] * f[3]
    return w[0], w[1], w[2], w[3]


@njit(cache=True)
def accel_to_wrench(ax: float, ay: float, az: float, yaw_sp: float, yaw_rate_ff: float,
                    mass_scale: float, x: float, y: float, z: float, w: float, wx: float,
                    wy: float, wz: float, dt: float, c: np.ndarray, pid: np.ndarray,
                    mixer: np.ndarray, mixer_inv: np.ndarray
                    ) -> tuple[float, float, float, float, float]:
    """The whole cascade from a world acceleration: (thrust demand, wrench (4))."""
    sx, sy, sz, sw, thrust = thrust_attitude(ax, ay, az, yaw_sp, mass_scale, c)
    rx, ry, rz = attitude_rates(x, y, z, w, sx, sy, sz, sw, yaw_rate_ff, c)
    tx, ty, tz = rate_torque(wx, wy, wz, rx, ry, rz, dt, c, pid)
    w0, w1, w2, w3 = allocate(thrust, tx, ty, tz, mixer, mixer_inv, c[26])
    return thrust, w0, w1, w2, w3


def warm() -> None:
    """Compile (or load from the cache) every kernel by running it once."""
    c, pid, mix = np.ones(N_CONSTS), np.zeros(7), np.eye(4)
    accel_to_wrench(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.01, c,
                    pid, mix, mix)
