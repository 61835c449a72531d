"""Assets written by this project: the quadrotor URDF, the ground mesh and its textures.

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

import numpy as np

from liquid_ros.control.quadrotor import QuadrotorParams

_ASSET_DIR: str | None = None

GROUND_HALF_SIZE = 50.0
"""Half the side of the square ground (m)."""
GROUND_TILE = 1.0
"""Side of one checker tile on the ground (m)."""
GROUND_TEXTURES = ("checker", "grass", "sand", "asphalt", "tiles", "snow", "dirt")
"""Ground texture names (``ground_texture_path``); "checker" is the default ground."""


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


def _noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth value noise (size, size) in [0, 1] that tiles (bilinear over a periodic grid)."""
    grid = rng.random((cells, cells))
    x = np.arange(size) * cells / size
    i0 = np.floor(x).astype(int)
    f = x - i0
    i1 = (i0 + 1) % cells
    f = f * f * (3.0 - 2.0 * f)
    rows = grid[i0] * (1 - f)[:, None] + grid[i1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]


def _texture_pixels(name: str, size: int) -> np.ndarray:
    """RGB pixels (size, size, 3) uint8 of a procedural ground texture (fixed seed)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    fine = _noise(rng, size, size // 4)[..., None]
    coarse = _noise(rng, size, 4)[..., None]
    speck = rng.random((size, size, 1))
    if name == "grass":
        base, dark = np.array([90, 140, 60]), np.array([45, 90, 35])
        img = dark + (base - dark) * (0.6 * fine + 0.4 * speck)
    elif name == "sand":
        img = np.array([200, 180, 130]) * (0.85 + 0.1 * coarse + 0.08 * speck)
    elif name == "asphalt":
        img = np.array([70, 72, 75]) * (0.75 + 0.25 * fine + 0.2 * (speck > 0.93))
    elif name == "tiles":
        img = np.array([150, 150, 145]) * (0.9 + 0.1 * fine) * np.ones((size, size, 1))
        grout = (np.arange(size) % (size // 2)) < max(size // 32, 1)
        img[grout, :, :] = img[:, grout, :] = 80
    elif name == "snow":
        img = np.array([225, 232, 240]) * (0.92 + 0.08 * coarse + 0.03 * speck)
    elif name == "dirt":
        img = np.array([120, 85, 55]) * (0.7 + 0.3 * coarse * fine + 0.15 * speck)
    else:
        raise ValueError(f"ground texture must be one of {GROUND_TEXTURES}, got {name!r}")
    return np.clip(img, 0, 255).astype(np.uint8)


def ground_texture_path(name: str = "checker", size: int = 64) -> str:
    """Path of the ground texture PNG ``name`` (one of :data:`GROUND_TEXTURES`).

    Each image covers two ground tiles (2 m) and repeats seamlessly.

    Raises:
        ValueError: For an unknown name.
    """
    if name == "checker":
        return checker_texture_path(size)
    pixels = _texture_pixels(name, size)
    rows = [pixels[y].tobytes() for y in range(size)]
    return _write(f"ground_{name}_{size}.png", _png(size, size, rows))
