"""Agreement check: our quadrotor physics against gym-pybullet-drones' cf2x (``PYB_DRAG``).

gym-pybullet-drones (Panerati et al., IROS 2021) is not a dependency of liquid_ros. Fetch its
source anywhere (for example ``git clone https://github.com/utiasDSL/gym-pybullet-drones
/tmp/gpd``) and pass the folder with ``--gpd``; without it the script says so and exits 0.
Its modules are imported from that folder, skipping its package ``__init__`` files (they import
optional extras such as transforms3d); where ``pkg_resources`` is missing (setuptools >= 81),
a two-line stand-in resolves its URDF path.

Both simulators get the same rotor speeds at 240 Hz, with our motor lag off (gym-pybullet-drones
has none). Printed side by side with the percentage difference (goal: within 5 %):

* climb: height and vertical speed after 1 s at 1.05x gym-pybullet-drones' hover RPM, from rest;
* free fall: vertical speed after 0.3 s with the rotors stopped;
* body rates (roll, pitch, yaw) 0.1 s after the front-left rotor steps to +5 % from hover.

Known differences that remain: gym-pybullet-drones uses g = 9.8 m/s^2 (ours 9.81) and keeps
PyBullet's default damping (linear and angular 0.04, its ``changeDynamics`` call is commented
out), which adds about 0.04 1/s of extra drag on top of the model; ours switches it off.

A last column flies ours with the default motor lag (the commanded speeds stepping from hover,
the actual ones following with ``motor_tau``) to show what the lag changes.

Usage::

    python benchmarks/check_physics_agreement.py --gpd /tmp/gpd
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pybullet as p

from liquid_ros.control.quadrotor import CF2X
from liquid_ros.sim.quadrotor_sim import QuadrotorSim, SimConfig

HZ = 240
START_HEIGHT = 3.0
# gym-pybullet-drones orders its rotors front-right, rear-right, rear-left, front-left (cf2x
# URDF prop0..prop3); ours front-left, rear-left, rear-right, front-right: the reverse.
GPD_TO_OURS = [3, 2, 1, 0]

Result = dict[str, float]


def _import_gpd(root: Path) -> tuple[type, object, object]:
    """CtrlAviary, DroneModel and Physics from the source folder ``root``."""
    pkg_dir = root / "gym_pybullet_drones"
    for name, folder in (("gym_pybullet_drones", pkg_dir),
                         ("gym_pybullet_drones.envs", pkg_dir / "envs"),
                         ("gym_pybullet_drones.utils", pkg_dir / "utils")):
        module = types.ModuleType(name)
        module.__path__ = [str(folder)]
        sys.modules.setdefault(name, module)
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda pkg, rel: str(root / pkg / rel)  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    from gym_pybullet_drones.envs.CtrlAviary import CtrlAviary
    from gym_pybullet_drones.utils.enums import DroneModel, Physics
    return CtrlAviary, DroneModel, Physics


def run_gpd(root: Path, rpm_gpd: np.ndarray, seconds: float) -> Result:
    """Fly gym-pybullet-drones' cf2x (PYB_DRAG, 240 Hz) at fixed rotor speeds from rest."""
    ctrl_aviary, drone_model, physics = _import_gpd(root)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its parameter printout and float32 Box warnings
        env = ctrl_aviary(drone_model=drone_model.CF2X, num_drones=1,
                          initial_xyzs=np.array([[0.0, 0.0, START_HEIGHT]]),
                          initial_rpys=np.zeros((1, 3)), physics=physics.PYB_DRAG,
                          pyb_freq=HZ, ctrl_freq=HZ, gui=False)
    try:
        env.reset(seed=0)
        for _ in range(int(round(seconds * HZ))):
            env.step(np.asarray(rpm_gpd, dtype=float).reshape(1, 4))
        state = env._getDroneStateVector(0)  # pos, quat, rpy, vel, world angular velocity
        rot = np.asarray(p.getMatrixFromQuaternion(list(state[3:7]))).reshape(3, 3)
        omega_body = rot.T @ state[13:16]
        return {"z": state[2] - START_HEIGHT, "vz": state[12], "p": omega_body[0],
                "q": omega_body[1], "r": omega_body[2]}
    finally:
        env.close()


def run_ours(rpm_gpd: np.ndarray, seconds: float, motor_tau: float) -> Result:
    """Fly ours from rest with the rotor speeds ``rpm_gpd`` (gym-pybullet-drones' order).

    The rotors start at our hover speed (``reset``); with ``motor_tau = 0`` they take the
    commanded speeds in the first substep, otherwise they follow with the lag.
    """
    sim = QuadrotorSim(SimConfig(physics_hz=HZ, motor_tau=motor_tau))
    try:
        sim.reset([0.0, 0.0, START_HEIGHT])
        rpm = np.asarray(rpm_gpd, dtype=float)[GPD_TO_OURS]
        sim.set_wrench(CF2X.wrench_from_thrusts(CF2X.kf * rpm**2))
        sim.step(int(round(seconds * HZ)))
        return {"z": sim.pos[2] - START_HEIGHT, "vz": sim.vel[2], "p": sim.omega[0],
                "q": sim.omega[1], "r": sim.omega[2]}
    finally:
        sim.close()


def _pct(ours: float, ref: float) -> float:
    return 100.0 * (ours - ref) / abs(ref) if ref != 0.0 else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table; returns 0 (1 if a row misses the 5 % goal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpd", type=Path, default=Path("/tmp/gpd"),
                        help="folder holding gym-pybullet-drones' source (not a dependency)")
    args = parser.parse_args(argv)
    if not (args.gpd / "gym_pybullet_drones" / "envs" / "BaseAviary.py").is_file():
        print(f"gym-pybullet-drones source not found under {args.gpd}: skipping the check "
              "(fetch it and pass --gpd PATH)")
        return 0
    hover_gpd = float(np.sqrt(CF2X.mass * 9.8 / (4.0 * CF2X.kf)))  # its g is 9.8
    cases: list[tuple[str, np.ndarray, float, list[tuple[str, str]]]] = [
        ("climb 1 s at 1.05x hover RPM", np.full(4, 1.05 * hover_gpd), 1.0,
         [("height (m)", "z"), ("speed (m/s)", "vz")]),
        ("free fall 0.3 s, rotors stopped", np.zeros(4), 0.3, [("speed (m/s)", "vz")]),
        ("front-left rotor +5 %, 0.1 s", hover_gpd * np.array([1.0, 1.0, 1.0, 1.05]), 0.1,
         [("roll rate (rad/s)", "p"), ("pitch rate (rad/s)", "q"), ("yaw rate (rad/s)", "r")]),
    ]
    worst = 0.0
    header = (f"{'case':34s} {'quantity':20s} {'gym-pybullet-drones':>20s} {'ours':>10s} "
              f"{'diff %':>8s} {'ours + lag':>11s}")
    print(header)
    print("-" * len(header))
    for title, rpm, seconds, rows in cases:
        ref = run_gpd(args.gpd, rpm, seconds)
        ours = run_ours(rpm, seconds, 0.0)
        lagged = run_ours(rpm, seconds, SimConfig().motor_tau)
        for label, key in rows:
            diff = _pct(ours[key], ref[key])
            worst = max(worst, abs(diff))
            print(f"{title:34s} {label:20s} {ref[key]:20.4f} {ours[key]:10.4f} {diff:+8.2f} "
                  f"{lagged[key]:11.4f}")
            title = ""
    print(f"\nlargest difference {worst:.2f} % (goal <= 5 %); lag column: motor_tau = "
          f"{SimConfig().motor_tau} s, rotors starting at our hover speed")
    return 0 if worst <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
