"""A quadrotor in PyBullet (DIRECT mode), one physics client per instance.

Force model (applied every physics substep, because PyBullet clears external forces after each
``stepSimulation``):

* Mixer and rotor limits: the commanded wrench goes through the inverse mixer of the *nominal*
  parameters (as a flight controller's mixer would), each rotor thrust is clipped to
  ``[0, max_rotor_thrust]`` and turned into a commanded rotor speed in ``[0, max_rpm]``.
* Motors: the actual rotor speed follows the command as a first-order lag with time constant
  ``motor_tau``, discretised exactly per substep (``rpm += (1 - exp(-dt / tau)) (cmd - rpm)``;
  ``tau = 0``: the command acts within the substep). Default 0.069 s: the rising rotor-speed
  time constant of the Crazyflie identified by Eschmann, Albani and Loianno ("Data-Driven
  System Identification of Quadrotors Subject to Motor Delays", IROS 2024, arXiv:2404.07837),
  as shipped in RLtools' learning-to-fly Crazyflie model (``l2f/parameters/dynamics/
  crazyflie.h``: 0.069 s rising, 0.114 s falling; one constant is kept here).
* Rotor forces from the *actual* speeds: thrust ``kf rpm^2`` and drag torque ``km rpm^2`` per
  rotor (both times ``kf_scale``, see :meth:`QuadrotorSim.set_physics`), applied as one force
  along body z and one torque at the centre of mass. For a rigid body this equals the four
  rotor forces at the rotor positions (the mixer holds the lever arms and ``km / kf``).
* Body drag: :meth:`~liquid_ros.control.quadrotor.QuadrotorParams.drag_force` at the actual
  rotor speeds, ``-k sum(omega_i) v_body`` (Forster 2015, gym-pybullet-drones' ``PYB_DRAG``),
  times ``drag_scale``. gym-pybullet-drones multiplies ``k`` with the world velocity before
  rotating it into the body; the model (and this code) uses the body velocity. The two differ
  only through ``k_z != k_xy`` when tilted.
* Ground effect (optional): extra thrust ``f_i k_ge (r_prop / (4 h_i))^2`` per rotor, as in
  gym-pybullet-drones (k_ge = 11.36779, r_prop = 23.1348 mm), with h >= 5 cm.
* External force (world frame) and torque (body frame) set with
  :meth:`QuadrotorSim.set_external`, held until changed (wind, pushes).

Default PyBullet damping is switched off so drag comes only from the model above. The true
vehicle (mass, inertia, thrust and drag scales) can differ from ``params`` per episode through
:meth:`QuadrotorSim.set_physics`; ``params`` stays the nominal model that controllers use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pybullet as p

from liquid_ros.control.quadrotor import CF2X, GRAVITY, QuadrotorParams
from liquid_ros.sim import assets
from liquid_ros.sim.camera import Camera, CameraConfig

GROUND_EFFECT_COEFF = 11.36779
"""Ground-effect coefficient (gym-pybullet-drones, cf2x)."""
PROP_RADIUS = 0.0231348
"""Propeller radius (m) (gym-pybullet-drones, cf2x)."""
MOTOR_TAU = 0.069
"""Crazyflie rotor-speed time constant (s), rising (Eschmann et al. 2024, RLtools l2f)."""


@dataclass(frozen=True)
class SimConfig:
    """Physics settings of :class:`QuadrotorSim`."""

    params: QuadrotorParams = CF2X
    """Quadrotor parameters (also written into the generated URDF)."""
    physics_hz: float = 240.0
    """Physics rate (Hz)."""
    ground_effect: bool = False
    """Model extra thrust near the ground."""
    motor_tau: float = MOTOR_TAU
    """Rotor-speed time constant (s) of the first-order motor model; 0 disables the lag."""
    camera: CameraConfig = field(default_factory=CameraConfig)
    """Onboard camera settings."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not 50.0 <= self.physics_hz <= 2000.0:
            raise ValueError(f"physics_hz must be in [50, 2000], got {self.physics_hz!r}")
        if not 0.0 <= self.motor_tau <= 1.0:
            raise ValueError(f"motor_tau must be in [0, 1] s, got {self.motor_tau!r}")
        self.camera.validate()


class QuadrotorSim:
    """One quadrotor, a textured ground and any added bodies, in its own PyBullet client.

    Args:
        config: Physics settings.
    """

    def __init__(self, config: SimConfig = SimConfig()) -> None:
        config.validate()
        self.config = config
        self.params = config.params
        self.dt = 1.0 / config.physics_hz
        self.client = p.connect(p.DIRECT)
        self._mixer = self.params.mixer()
        # The force model runs every substep: plain floats there, numpy's cost per call on
        # 4-vectors would dominate (the matrices are the same ones, as nested tuples).
        self._mix = tuple(tuple(row) for row in self._mixer.tolist())
        self._mix_inv = tuple(tuple(row) for row in np.linalg.inv(self._mixer).tolist())
        self._max_rotor = float(self.params.max_rotor_thrust)
        self._max_rpm = float(self.params.max_rpm)
        self._neg_drag = self.params.drag_per_rpm
        self._motor_alpha = (1.0 - float(np.exp(-self.dt / config.motor_tau))
                             if config.motor_tau > 0.0 else 1.0)
        self._rotor_xy = tuple(tuple(r) for r in (self.params.arm / np.sqrt(2.0) * np.array(
            [[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])).tolist())
        c = self.client
        p.setGravity(0.0, 0.0, -GRAVITY, physicsClientId=c)
        p.setTimeStep(self.dt, physicsClientId=c)
        ground_col = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=c)
        ground_vis = p.createVisualShape(
            p.GEOM_MESH, fileName=assets.ground_obj_path(), physicsClientId=c)
        self.ground = p.createMultiBody(0.0, ground_col, ground_vis, physicsClientId=c)
        texture = p.loadTexture(assets.checker_texture_path(), physicsClientId=c)
        p.changeVisualShape(self.ground, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1],
                            physicsClientId=c)
        self.drone = p.loadURDF(assets.quadrotor_urdf_path(self.params), [0.0, 0.0, 1.0],
                                flags=p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=c)
        p.changeDynamics(self.drone, -1, linearDamping=0.0, angularDamping=0.0,
                         physicsClientId=c)
        self.camera = Camera(c, config.camera)
        # Achieved commanded wrench, commanded and actual rotor speeds (RPM), plain floats.
        self._wrench = self._rpm_cmd = self._rpm = (0.0, 0.0, 0.0, 0.0)
        self._kf_scale = self._drag_scale = 1.0
        self._ext_force = self._ext_torque = (0.0, 0.0, 0.0)
        self.time = 0.0
        self.steps = 0
        self._read_state()

    # ----------------------------------------------------------------------------- state
    def reset(self, pos: np.ndarray, quat: np.ndarray = (0.0, 0.0, 0.0, 1.0),
              vel: np.ndarray = (0.0, 0.0, 0.0)) -> None:
        """Place the drone at ``pos`` (3,) m with attitude ``quat`` (4,) and velocity (3,) m/s.

        The held wrench becomes the nominal hover wrench, the rotors spin at its speeds (no
        motor transient), and the clock restarts at 0. The true vehicle
        (:meth:`set_physics`) and the external wrench (:meth:`set_external`) are kept.
        """
        c = self.client
        p.resetBasePositionAndOrientation(self.drone, list(pos), list(quat), physicsClientId=c)
        p.resetBaseVelocity(self.drone, list(vel), [0.0, 0.0, 0.0], physicsClientId=c)
        self.set_wrench(np.array([self.params.weight, 0.0, 0.0, 0.0]))
        self._rpm = self._rpm_cmd
        self.time, self.steps = 0.0, 0
        self._read_state()

    def _read_state(self) -> None:
        c = self.client
        # Positional client ids: pybullet parses them faster than keywords (every substep).
        self._p, self._q = p.getBasePositionAndOrientation(self.drone, c)
        self._v, (ax, ay, az) = p.getBaseVelocity(self.drone, c)
        r = self._r = p.getMatrixFromQuaternion(self._q, c)  # row-major
        self._w = (r[0] * ax + r[3] * ay + r[6] * az, r[1] * ax + r[4] * ay + r[7] * az,
                   r[2] * ax + r[5] * ay + r[8] * az)  # R^T w_world
        self._arrays: dict[str, np.ndarray] = {}

    def _array(self, key: str, values: tuple[float, ...]) -> np.ndarray:
        # Arrays are built when read (once per state): the substep loop itself needs none.
        arr = self._arrays.get(key)
        if arr is None:
            arr = self._arrays[key] = np.array(values)
        return arr

    @property
    def pos(self) -> np.ndarray:
        """Position (3,) in m, world ENU, after the last substep (read-only use)."""
        return self._array("pos", self._p)

    @property
    def vel(self) -> np.ndarray:
        """Velocity (3,) in m/s, world ENU."""
        return self._array("vel", self._v)

    @property
    def quat(self) -> np.ndarray:
        """Attitude quaternion (4,) (x, y, z, w), body to world."""
        return self._array("quat", self._q)

    @property
    def omega(self) -> np.ndarray:
        """Body angular rate (3,) in rad/s, FLU."""
        return self._array("omega", self._w)

    def state_values(self) -> tuple[tuple[float, ...], ...]:
        """:attr:`pos`, :attr:`vel`, :attr:`quat`, :attr:`omega` as tuples of floats (no copy)."""
        return self._p, self._v, self._q, self._w

    def state(self) -> dict[str, np.ndarray]:
        """Copies of position (3,) m, velocity (3,) m/s, quaternion (4,), body rate (3,) rad/s."""
        return {"position": np.array(self._p), "velocity": np.array(self._v),
                "quaternion": np.array(self._q), "omega": np.array(self._w)}

    def state_vector(self) -> np.ndarray:
        """Observation state (10,) float32: velocity (3), quaternion x,y,z,w (4), body rate (3)."""
        return np.array(self._v + self._q + self._w, dtype=np.float32)

    # --------------------------------------------------------------------------- actuation
    def set_wrench(self, wrench: np.ndarray) -> np.ndarray:
        """Command ``wrench`` (4,) (thrust N, body torques N m FLU) until the next call.

        The nominal inverse mixer gives rotor thrusts, clipped to ``[0, max_rotor_thrust]``,
        hence the commanded rotor speeds; the actual speeds follow with the motor lag.

        Returns:
            The achievable commanded wrench (4,) after the rotor limits (nominal model).

        Raises:
            ValueError: If ``wrench`` is not 4 finite numbers.
        """
        w = np.asarray(wrench, dtype=float).reshape(-1).tolist()
        if len(w) != 4 or not all(map(math.isfinite, w)):
            raise ValueError(f"wrench must be 4 finite numbers, got {wrench!r}")
        self.set_wrench_values(*w)
        return np.array(self._wrench)

    def set_wrench_values(self, thrust: float, tx: float, ty: float, tz: float) -> None:
        """:meth:`set_wrench` for four floats (the per-substep path); ValueError if not finite."""
        if not (math.isfinite(thrust) and math.isfinite(tx) and math.isfinite(ty)
                and math.isfinite(tz)):
            raise ValueError(f"wrench must be 4 finite numbers, got {(thrust, tx, ty, tz)!r}")
        # QuadrotorParams.feasible_thrusts and rpm_from_thrusts, on floats, written out.
        hi, kf, max_rpm = self._max_rotor, self.params.kf, self._max_rpm
        (a0, b0, c0, d0), (a1, b1, c1, d1), (a2, b2, c2, d2), (a3, b3, c3, d3) = self._mix_inv
        f0 = min(max(thrust * a0 + tx * b0 + ty * c0 + tz * d0, 0.0), hi)
        f1 = min(max(thrust * a1 + tx * b1 + ty * c1 + tz * d1, 0.0), hi)
        f2 = min(max(thrust * a2 + tx * b2 + ty * c2 + tz * d2, 0.0), hi)
        f3 = min(max(thrust * a3 + tx * b3 + ty * c3 + tz * d3, 0.0), hi)
        self._rpm_cmd = (min(math.sqrt(f0 / kf), max_rpm), min(math.sqrt(f1 / kf), max_rpm),
                         min(math.sqrt(f2 / kf), max_rpm), min(math.sqrt(f3 / kf), max_rpm))
        self._wrench = tuple([a * f0 + b * f1 + c * f2 + d * f3 for a, b, c, d in self._mix])
        self._arrays.pop("wrench", None)

    @property
    def wrench(self) -> np.ndarray:
        """Commanded wrench (4,) after the rotor limits (nominal model), held until changed."""
        return self._array("wrench", self._wrench)

    @property
    def rotor_rpm_cmd(self) -> np.ndarray:
        """Commanded rotor speeds (4,) in RPM, from the mixer and the rotor limits."""
        return np.array(self._rpm_cmd)

    @property
    def rotor_rpm(self) -> np.ndarray:
        """Actual rotor speeds (4,) in RPM."""
        return np.array(self._rpm)

    @property
    def rotor_thrusts(self) -> np.ndarray:
        """Actual rotor thrusts (4,) in N (true thrust coefficient, without ground effect)."""
        return self._kf_scale * self.params.kf * np.array(self._rpm)**2

    def set_physics(self, mass: float | None = None,
                    inertia: tuple[float, float, float] | None = None,
                    kf_scale: float = 1.0, drag_scale: float = 1.0) -> None:
        """Set the TRUE simulated vehicle for the coming episode; no arguments: nominal.

        ``params`` (what controllers are built with) is left nominal, so any change here is
        model error by design.

        Args:
            mass: True mass (kg); None: nominal.
            inertia: True diagonal inertia (Ixx, Iyy, Izz) in kg m^2; None: nominal.
            kf_scale: Factor on the thrust and rotor drag-torque coefficients (battery sag,
                propeller wear); the commanded rotor speeds are unchanged.
            drag_scale: Factor on the body drag.

        Raises:
            ValueError: Naming the option that is not finite and positive (``drag_scale`` may
                be 0), or an ``inertia`` that is not 3 numbers.
        """
        mass = self.params.mass if mass is None else mass
        inertia = self.params.inertia if inertia is None else inertia
        for name, value in (("mass", mass), ("kf_scale", kf_scale)):
            if not (np.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if not (np.isfinite(drag_scale) and drag_scale >= 0.0):
            raise ValueError(f"drag_scale must be finite and >= 0, got {drag_scale!r}")
        diag = np.asarray(inertia, dtype=float).reshape(-1)
        if diag.shape != (3,) or not np.all(np.isfinite(diag) & (diag > 0.0)):
            raise ValueError(f"inertia must be 3 finite numbers > 0, got {inertia!r}")
        p.changeDynamics(self.drone, -1, mass=float(mass), localInertiaDiagonal=diag.tolist(),
                         physicsClientId=self.client)
        self._kf_scale, self._drag_scale = float(kf_scale), float(drag_scale)

    def set_external(self, force_world: np.ndarray = (0.0, 0.0, 0.0),
                     torque_body: np.ndarray = (0.0, 0.0, 0.0)) -> None:
        """Hold an external force (3,) N (world ENU) and torque (3,) N m (body FLU).

        Both act at the centre of mass every physics substep until the next call (wind, pushes);
        call with no arguments to remove them.

        Raises:
            ValueError: If ``force_world`` or ``torque_body`` is not 3 finite numbers.
        """
        checked = []
        for name, value in (("force_world", force_world), ("torque_body", torque_body)):
            v = tuple(np.asarray(value, dtype=float).reshape(-1).tolist())
            if len(v) != 3 or not all(map(math.isfinite, v)):
                raise ValueError(f"{name} must be 3 finite numbers, got {value!r}")
            checked.append(v)
        self._ext_force, self._ext_torque = checked

    def _ground_effect(self, thrusts: tuple[float, ...]) -> float:
        z, r6, r7 = self._p[2], self._r[6], self._r[7]
        extra = 0.0
        for f, (x, y) in zip(thrusts, self._rotor_xy, strict=True):
            h = max(z + (r6 * x + r7 * y), 0.05)
            extra += f * GROUND_EFFECT_COEFF * (PROP_RADIUS / (4.0 * h)) ** 2
        return extra

    def step(self, n: int = 1) -> None:
        """Advance ``n`` physics substeps holding the commanded wrench (zero-order hold)."""
        c, drone, frame = self.client, self.drone, p.WORLD_FRAME
        (m0, m1, m2, m3), (kx, ky, kz) = self._mix, self._neg_drag
        kf, alpha, scale = self._kf_scale * self.params.kf, self._motor_alpha, self._drag_scale
        r0, r1, r2, r3 = self._rpm
        c0, c1, c2, c3 = self._rpm_cmd
        ex, ey, ez = self._ext_force
        qx, qy, qz = self._ext_torque
        ground = self.config.ground_effect
        for _ in range(n):
            # Motor lag, rotor forces (the mixer), drag and the world-frame force, as the
            # module docstring states; plain floats, in the order numpy would compute them.
            r0 += alpha * (c0 - r0)
            r1 += alpha * (c1 - r1)
            r2 += alpha * (c2 - r2)
            r3 += alpha * (c3 - r3)
            f = (kf * (r0 * r0), kf * (r1 * r1), kf * (r2 * r2), kf * (r3 * r3))
            thrust = m0[0] * f[0] + m0[1] * f[1] + m0[2] * f[2] + m0[3] * f[3]
            t1 = m1[0] * f[0] + m1[1] * f[1] + m1[2] * f[2] + m1[3] * f[3] + qx
            t2 = m2[0] * f[0] + m2[1] * f[1] + m2[2] * f[2] + m2[3] * f[3] + qy
            t3 = m3[0] * f[0] + m3[1] * f[1] + m3[2] * f[2] + m3[3] * f[3] + qz
            r = self._r
            vx, vy, vz = self._v
            total = r0 + r1 + r2 + r3
            bx = scale * (kx * total * (r[0] * vx + r[3] * vy + r[6] * vz))
            by = scale * (ky * total * (r[1] * vx + r[4] * vy + r[7] * vz))
            bz = scale * (kz * total * (r[2] * vx + r[5] * vy + r[8] * vz)) + thrust
            if ground:
                bz += self._ground_effect(f)
            force = (r[0] * bx + r[1] * by + r[2] * bz + ex,
                     r[3] * bx + r[4] * by + r[5] * bz + ey,
                     r[6] * bx + r[7] * by + r[8] * bz + ez)
            torque = (r[0] * t1 + r[1] * t2 + r[2] * t3, r[3] * t1 + r[4] * t2 + r[5] * t3,
                      r[6] * t1 + r[7] * t2 + r[8] * t3)
            p.applyExternalForce(drone, -1, force, self._p, frame, c)
            p.applyExternalTorque(drone, -1, torque, frame, c)
            p.stepSimulation(c)
            self._read_state()
        self._rpm = (r0, r1, r2, r3)
        self.steps += n
        self.time = self.steps * self.dt

    # ------------------------------------------------------------------------------ scene
    def add_sphere(self, pos: np.ndarray, radius: float, rgba: tuple[float, ...],
                   collide: bool = False) -> int:
        """Add a static sphere; returns its body id."""
        c = self.client
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=radius, rgbaColor=list(rgba),
                                  physicsClientId=c)
        col = (p.createCollisionShape(p.GEOM_SPHERE, radius=radius, physicsClientId=c)
               if collide else -1)
        return p.createMultiBody(0.0, col, vis, basePosition=list(pos), physicsClientId=c)

    def add_box(self, pos: np.ndarray, half_extents: tuple[float, float, float],
                rgba: tuple[float, ...], collide: bool = False) -> int:
        """Add a static box; returns its body id."""
        c = self.client
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=list(half_extents),
                                  rgbaColor=list(rgba), physicsClientId=c)
        col = (p.createCollisionShape(p.GEOM_BOX, halfExtents=list(half_extents),
                                      physicsClientId=c) if collide else -1)
        return p.createMultiBody(0.0, col, vis, basePosition=list(pos), physicsClientId=c)

    def move_body(self, body: int, pos: np.ndarray,
                  quat: np.ndarray = (0.0, 0.0, 0.0, 1.0)) -> None:
        """Teleport a (kinematic) body to ``pos`` (3,) with attitude ``quat`` (4,)."""
        p.resetBasePositionAndOrientation(body, list(pos), list(quat),
                                          physicsClientId=self.client)

    def remove_body(self, body: int) -> None:
        """Remove a body added with :meth:`add_sphere` or :meth:`add_box`."""
        p.removeBody(body, physicsClientId=self.client)

    def contacts(self) -> set[int]:
        """Body ids in contact with the drone after the last substep."""
        pts = p.getContactPoints(bodyA=self.drone, physicsClientId=self.client)
        return {int(pt[2]) for pt in pts}

    def render_camera(self) -> np.ndarray:
        """Onboard camera image (H, W, 3) uint8 at the current pose."""
        return self.camera.render(self.pos, self.quat)

    def close(self) -> None:
        """Disconnect the PyBullet client (safe to call twice)."""
        if self.client is not None and self.client >= 0:
            if p.isConnected(physicsClientId=self.client):
                p.disconnect(physicsClientId=self.client)
            self.client = -1
