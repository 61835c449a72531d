"""Assets written by this project: the quadrotor URDF, the ground mesh and its checker texture.

They are generated from :class:`~liquid_ros.control.quadrotor.QuadrotorParams` into a
per-process temporary folder on first use, so the package ships no binary files and the URDF
always matches the numbers the controller uses.
"""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile
import zlib

from liquid_ros.control.quadrotor import QuadrotorParams

_ASSET_DIR: str | None = None

GROUND_HALF_SIZE = 50.0
"""Half the side of the square ground (m)."""
GROUND_TILE = 1.0
"""Side of one checker tile on the ground (m)."""


def asset_dir() -> str:
    """Folder (created once per process, removed at exit) holding the generated assets."""
    global _ASSET_DIR
    if _ASSET_DIR is None or not os.path.isdir(_ASSET_DIR):
        _ASSET_DIR = tempfile.mkdtemp(prefix="liquid_ros_assets_")
        atexit.register(shutil.rmtree, _ASSET_DIR, True)
    return _ASSET_DIR


def _write(name: str, data: bytes) -> str:
    path = os.path.join(asset_dir(), name)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path


def quadrotor_urdf(params: QuadrotorParams) -> str:
    """URDF text of a quadrotor: one rigid link, inertia at the origin, a cylinder collision.

    The collision cylinder spans the propeller disks (arm plus a 23 mm propeller radius) so
    contacts happen where the real airframe would touch.
    """
    ixx, iyy, izz = params.inertia
    radius = params.arm + 0.0231
    arm = params.arm
    return f"""<?xml version="1.0"?>
<robot name="liquid_ros_quadrotor">
  <material name="body"><color rgba="0.15 0.15 0.15 1"/></material>
  <material name="prop"><color rgba="0.6 0.6 0.6 1"/></material>
  <link name="base_link">
    <inertial>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <mass value="{params.mass}"/>
      <inertia ixx="{ixx}" ixy="0" ixz="0" iyy="{iyy}" iyz="0" izz="{izz}"/>
    </inertial>
    <visual>
      <geometry><box size="{arm} {arm} 0.012"/></geometry>
      <material name="body"/>
    </visual>
    <visual>
      <origin xyz="0 0 0.006" rpy="0 0 0.7854"/>
      <geometry><box size="{2.2 * arm} 0.006 0.004"/></geometry>
      <material name="prop"/>
    </visual>
    <visual>
      <origin xyz="0 0 0.006" rpy="0 0 -0.7854"/>
      <geometry><box size="{2.2 * arm} 0.006 0.004"/></geometry>
      <material name="prop"/>
    </visual>
    <collision>
      <geometry><cylinder radius="{radius}" length="0.025"/></geometry>
    </collision>
  </link>
</robot>
"""


def quadrotor_urdf_path(params: QuadrotorParams) -> str:
    """Path of the generated URDF for ``params``."""
    key = zlib.crc32(repr(params).encode())
    return _write(f"quadrotor_{key:08x}.urdf", quadrotor_urdf(params).encode())


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def checker_texture_path(size: int = 64) -> str:
    """Path of a 2x2 checker PNG (``size`` pixels a side) in two muted greens."""
    light, dark = bytes((120, 150, 100)), bytes((70, 95, 60))
    half = size // 2
    rows = []
    for y in range(size):
        first, second = (light, dark) if y < half else (dark, light)
        rows.append(first * half + second * half)
    return _write(f"checker_{size}.png", _png(size, size, rows))


def ground_obj_path() -> str:
    """Path of a square ground mesh (OBJ) whose texture repeats every two tiles."""
    h = GROUND_HALF_SIZE
    reps = h / GROUND_TILE  # the texture holds 2x2 tiles, so 2h / (2 tile) repeats
    text = (
        "mtllib none\n"
        f"v {-h} {-h} 0\nv {h} {-h} 0\nv {h} {h} 0\nv {-h} {h} 0\n"
        f"vt 0 0\nvt {reps} 0\nvt {reps} {reps}\nvt 0 {reps}\n"
        "vn 0 0 1\n"
        "f 1/1/1 2/2/1 3/3/1\nf 1/1/1 3/3/1 4/4/1\n"
    )
    return _write("ground.obj", text.encode())
