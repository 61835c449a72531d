"""A quadrotor in PyBullet (DIRECT mode), one physics client per instance.

Force model (applied every physics substep, because PyBullet clears external forces after each
``stepSimulation``):

* Rotor thrusts: the commanded wrench goes through the inverse mixer, each rotor thrust is
  clipped to ``[0, max_rotor_thrust]`` (the RPM limit), and the *achieved* wrench
  ``M @ clipped_thrusts`` is applied as one force along body z and one torque, both at the
  centre of mass. For a rigid body this equals the four rotor forces at the rotor positions plus
  the rotor drag torques ``km rpm^2`` (the mixer holds the lever arms and ``km / kf``).
* Body drag: ``-R diag(c) R^T v`` with ``c = params.drag_coeff``.
* Ground effect (optional): extra thrust ``kf rpm^2 * k_ge (r_prop / (4 h))^2`` per rotor, as in
  gym-pybullet-drones (k_ge = 11.36779, r_prop = 23.1348 mm), with h >= 5 cm.

Rotor speed dynamics are not modelled (thrust follows the command within one substep).
Default PyBullet damping is switched off so drag comes only from the model above.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class SimConfig:
    """Physics settings of :class:`QuadrotorSim`."""

    params: QuadrotorParams = CF2X
    """Quadrotor parameters (also written into the generated URDF)."""
    physics_hz: float = 240.0
    """Physics rate (Hz)."""
    ground_effect: bool = False
    """Model extra thrust near the ground."""
    camera: CameraConfig = field(default_factory=CameraConfig)
    """Onboard camera settings."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not 50.0 <= self.physics_hz <= 2000.0:
            raise ValueError(f"physics_hz must be in [50, 2000], got {self.physics_hz!r}")
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
        self._mixer_inv = np.linalg.inv(self._mixer)
        self._drag = np.asarray(self.params.drag_coeff, dtype=float)
        self._rotor_xy = self.params.arm / np.sqrt(2.0) * np.array(
            [[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
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
        self.wrench = np.zeros(4)
        self.rotor_thrusts = np.zeros(4)
        self.time = 0.0
        self.steps = 0
        self._read_state()

    # ----------------------------------------------------------------------------- state
    def reset(self, pos: np.ndarray, quat: np.ndarray = (0.0, 0.0, 0.0, 1.0),
              vel: np.ndarray = (0.0, 0.0, 0.0)) -> None:
        """Place the drone at ``pos`` (3,) m with attitude ``quat`` (4,) and velocity (3,) m/s.

        The held wrench becomes the hover wrench and the clock restarts at 0.
        """
        c = self.client
        p.resetBasePositionAndOrientation(self.drone, list(pos), list(quat), physicsClientId=c)
        p.resetBaseVelocity(self.drone, list(vel), [0.0, 0.0, 0.0], physicsClientId=c)
        self.set_wrench(np.array([self.params.weight, 0.0, 0.0, 0.0]))
        self.time = 0.0
        self.steps = 0
        self._read_state()

    def _read_state(self) -> None:
        c = self.client
        pos, quat = p.getBasePositionAndOrientation(self.drone, physicsClientId=c)
        vel, ang = p.getBaseVelocity(self.drone, physicsClientId=c)
        self._rot = np.asarray(p.getMatrixFromQuaternion(quat, physicsClientId=c)).reshape(3, 3)
        self.pos = np.asarray(pos)
        self.quat = np.asarray(quat)
        self.vel = np.asarray(vel)
        self.omega = self._rot.T @ np.asarray(ang)

    def state(self) -> dict[str, np.ndarray]:
        """Copies of position (3,) m, velocity (3,) m/s, quaternion (4,), body rate (3,) rad/s."""
        return {"position": self.pos.copy(), "velocity": self.vel.copy(),
                "quaternion": self.quat.copy(), "omega": self.omega.copy()}

    def state_vector(self) -> np.ndarray:
        """Observation state (10,) float32: velocity (3), quaternion x,y,z,w (4), body rate (3)."""
        return np.concatenate([self.vel, self.quat, self.omega]).astype(np.float32)

    # --------------------------------------------------------------------------- actuation
    def set_wrench(self, wrench: np.ndarray) -> np.ndarray:
        """Hold ``wrench`` (4,) (thrust N, body torques N m FLU) until the next call.

        Rotor thrusts are clipped to their limits; returns the achieved wrench (4,).

        Raises:
            ValueError: If ``wrench`` is not 4 finite numbers.
        """
        w = np.asarray(wrench, dtype=float).reshape(-1)
        if w.shape != (4,) or not np.all(np.isfinite(w)):
            raise ValueError(f"wrench must be 4 finite numbers, got {wrench!r}")
        self.rotor_thrusts = np.clip(self._mixer_inv @ w, 0.0, self.params.max_rotor_thrust)
        self.wrench = self._mixer @ self.rotor_thrusts
        return self.wrench.copy()

    @property
    def rotor_rpm(self) -> np.ndarray:
        """Rotor speeds (4,) in RPM for the held thrusts."""
        return self.params.rpm_from_thrusts(self.rotor_thrusts)

    def _ground_effect(self) -> float:
        heights = self.pos[2] + self._rot[2, :2] @ self._rotor_xy.T
        heights = np.maximum(heights, 0.05)
        extra = self.rotor_thrusts * GROUND_EFFECT_COEFF * (PROP_RADIUS / (4.0 * heights)) ** 2
        return float(extra.sum())

    def step(self, n: int = 1) -> None:
        """Advance ``n`` physics substeps holding the current wrench (zero-order hold)."""
        c, drone, rot = self.client, self.drone, self._rot
        thrust, torque = self.wrench[0], self.wrench[1:]
        for _ in range(n):
            total = thrust + self._ground_effect() if self.config.ground_effect else thrust
            force = rot[:, 2] * total - rot @ (self._drag * (rot.T @ self.vel))
            p.applyExternalForce(drone, -1, force.tolist(), self.pos.tolist(), p.WORLD_FRAME,
                                 physicsClientId=c)
            p.applyExternalTorque(drone, -1, (rot @ torque).tolist(), p.WORLD_FRAME,
                                  physicsClientId=c)
            p.stepSimulation(physicsClientId=c)
            self._read_state()
            rot = self._rot
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
