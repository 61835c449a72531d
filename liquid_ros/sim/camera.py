"""Forward-looking onboard camera rendered with PyBullet's TinyRenderer (CPU, no shadows)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as p

from liquid_ros.control.rotation import quat_to_matrix

SKY_RGB = np.array([170, 200, 235], dtype=np.uint8)
"""Colour painted where nothing was drawn (TinyRenderer clears to white)."""


@dataclass(frozen=True)
class CameraConfig:
    """Onboard camera settings."""

    width: int = 64
    """Image width (pixels)."""
    height: int = 64
    """Image height (pixels)."""
    fov_deg: float = 90.0
    """Vertical field of view (degrees)."""
    offset: tuple[float, float, float] = (0.04, 0.0, 0.0)
    """Camera position in the FLU body frame (m); in front of the airframe so it is not seen."""
    near: float = 0.02
    """Near clipping distance (m)."""
    far: float = 60.0
    """Far clipping distance (m)."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not 8 <= v <= 1024:
                raise ValueError(f"camera {name} must be an integer in [8, 1024], got {v!r}")
        if not 10.0 <= self.fov_deg <= 170.0:
            raise ValueError(f"fov_deg must be in [10, 170], got {self.fov_deg!r}")
        if not 0.0 < self.near < self.far:
            raise ValueError(f"need 0 < near < far, got near={self.near!r} far={self.far!r}")

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (same horizontally and vertically: square pixels)."""
        return 0.5 * self.height / math.tan(math.radians(self.fov_deg) / 2.0)

    def project(self, pos: np.ndarray, quat: np.ndarray, point: np.ndarray) -> np.ndarray | None:
        """Pixel (u, v) = (column, row) of world ``point`` (3,), or None behind the camera.

        Args:
            pos: Body position (3,) in m, world ENU.
            quat: Body attitude (4,) (x, y, z, w).
            point: World point (3,) in m.
        """
        rot = quat_to_matrix(quat)
        eye = np.asarray(pos, float) + rot @ np.asarray(self.offset)
        rel = rot.T @ (np.asarray(point, float) - eye)
        if rel[0] <= self.near:
            return None
        f = self.focal_px
        u = 0.5 * self.width - f * rel[1] / rel[0]
        v = 0.5 * self.height - f * rel[2] / rel[0]
        return np.array([u, v])


@dataclass(frozen=True)
class Lighting:
    """TinyRenderer light (``getCameraImage`` lightDirection, lightColor, light*Coeff)."""

    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """Direction towards the light, world frame (need not be unit)."""
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Light colour, RGB in [0, 1]."""
    ambient: float = 0.6
    """Ambient coefficient."""
    diffuse: float = 0.35
    """Diffuse coefficient."""
    specular: float = 0.05
    """Specular coefficient."""

    def kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``pybullet.getCameraImage``."""
        return {"lightDirection": list(self.direction), "lightColor": list(self.color),
                "lightAmbientCoeff": self.ambient, "lightDiffuseCoeff": self.diffuse,
                "lightSpecularCoeff": self.specular}


class Camera:
    """Renders the body camera of one PyBullet client.

    Args:
        client: PyBullet physics client id.
        config: Camera settings.
    """

    def __init__(self, client: int, config: CameraConfig = CameraConfig()) -> None:
        config.validate()
        self.client = client
        self.config = config
        self._proj = p.computeProjectionMatrixFOV(
            config.fov_deg, config.width / config.height, config.near, config.far)
        self.sky_rgb = SKY_RGB.copy()
        self.lighting: Lighting | None = None
        n = config.width * config.height  # byte offsets of R, G, B in the RGBA buffer
        self._rgb_bytes = (4 * np.arange(n)[:, None] + np.arange(3)).reshape(-1)

    def set_appearance(self, sky_rgb: np.ndarray | None = None,
                       lighting: Lighting | None = None) -> None:
        """Sky colour (3,) 0-255 (None: :data:`SKY_RGB`) and light (None: PyBullet's default)."""
        self.sky_rgb = SKY_RGB.copy() if sky_rgb is None else np.asarray(
            np.clip(np.round(sky_rgb), 0, 255), np.uint8)
        self.lighting = lighting

    def render(self, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        """RGB image (H, W, 3) uint8 seen from body pose ``pos`` (3,), ``quat`` (4,).

        The camera looks along body +x with body +z up, so it rolls and pitches with the drone.
        """
        cfg = self.config
        rot = quat_to_matrix(quat)
        eye = np.asarray(pos, float) + rot @ np.asarray(cfg.offset)
        view = p.computeViewMatrix(eye.tolist(), (eye + rot[:, 0]).tolist(), rot[:, 2].tolist())
        light = {} if self.lighting is None else self.lighting.kwargs()
        _, _, rgba, _, _ = p.getCameraImage(
            cfg.width, cfg.height, view, self._proj, shadow=0, renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self.client, **light)
        # Untouched pixels (white, opaque) become the sky, then the alpha bytes are dropped;
        # as 32-bit pixels and one gather, numpy's fastest way for small images.
        pixels = np.ascontiguousarray(rgba, dtype=np.uint8).reshape(-1).view(np.uint32)
        sky = np.array((*np.asarray(self.sky_rgb).tolist(), 255), np.uint8).view(np.uint32)
        pixels = np.where(pixels == 0xFFFFFFFF, sky, pixels)
        return pixels.view(np.uint8)[self._rgb_bytes].reshape(cfg.height, cfg.width, 3)
