"""Scene appearance per episode: ground texture, sky, lighting, object colours and sizes.

:func:`sample_scene` draws a :class:`SceneSample` from a
:class:`~liquid_ros.sim.randomization.RandomizationConfig`; :class:`SceneDresser` applies the
ground texture, sky colour and light to a :class:`~liquid_ros.sim.quadrotor_sim.QuadrotorSim`;
the task envs read the object fields (target radius and colour, distractors, leader colour).
A default config gives an all-None sample that changes nothing.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
import pybullet as p

from liquid_ros.sim import assets
from liquid_ros.sim.camera import SKY_RGB, Lighting
from liquid_ros.sim.randomization import RandomizationConfig
from liquid_ros.sim.task_fly_to_target import TARGET_RGBA
from liquid_ros.sim.task_leader_follow import LEADER_RGBA

RGBA = tuple[float, float, float, float]

DISTRACTOR_HUES_DEG = (45.0, 285.0)
"""Hue range (degrees) of random distractor colours: away from the target's red and the
leader's magenta, so the subject stays the only object of its colour."""


@dataclass(frozen=True)
class SceneSample:
    """One episode's appearance; None fields keep the env's default."""

    ground_texture: str | None = None
    """Ground texture name (``assets.GROUND_TEXTURES``)."""
    sky_rgb: tuple[int, int, int] | None = None
    """Sky colour (0-255)."""
    lighting: Lighting | None = None
    """Light for the camera's renderer."""
    n_distractors: int | None = None
    """Number of distractors (fly_to_target)."""
    distractor_rgba: tuple[RGBA, ...] | None = None
    """Distractor colours, one per distractor."""
    target_radius: float | None = None
    """Target sphere radius (m)."""
    target_rgba: RGBA | None = None
    """Target colour."""
    leader_rgba: RGBA | None = None
    """Leader colour."""


def _jitter(rng: np.random.Generator, rgba: tuple[float, ...], amount: float) -> RGBA:
    rgb = np.clip(np.asarray(rgba[:3]) + rng.uniform(-amount, amount, 3), 0.0, 1.0)
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), float(rgba[3]))


def _lighting(rng: np.random.Generator) -> Lighting:
    az = rng.uniform(0.0, 2.0 * math.pi)
    el = math.radians(rng.uniform(25.0, 90.0))
    color = 1.0 - rng.uniform(0.0, 0.25, 3)  # warm, cool or neutral white
    return Lighting(
        direction=(math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)),
        color=(float(color[0]), float(color[1]), float(color[2])),
        ambient=float(rng.uniform(0.45, 0.8)), diffuse=float(rng.uniform(0.2, 0.5)),
        specular=float(rng.uniform(0.0, 0.1)))


def random_rgba(rng: np.random.Generator) -> RGBA:
    """A saturated colour with its hue in :data:`DISTRACTOR_HUES_DEG`."""
    h = rng.uniform(*DISTRACTOR_HUES_DEG) / 360.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0))
    return (r, g, b, 1.0)


def sample_scene(config: RandomizationConfig, rng: np.random.Generator,
                 n_distractors: int = 0) -> SceneSample:
    """Draw one episode's appearance (a fixed number of draws for a given config).

    Args:
        config: Randomisation settings.
        rng: Random generator (the env's per-episode stream).
        n_distractors: The env's distractor count, used when ``config.distractor_count`` is
            None.
    """
    c = config
    texture = None
    if c.ground_textures != ("checker",):
        texture = c.ground_textures[int(rng.integers(len(c.ground_textures)))]
    sky = None
    if c.sky_rgb is not None or c.sky_jitter > 0.0:
        base = np.asarray(SKY_RGB if c.sky_rgb is None else c.sky_rgb, float)
        rgb = np.clip(np.round(base + rng.uniform(-c.sky_jitter, c.sky_jitter, 3)), 0, 255)
        sky = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
    light = _lighting(rng) if c.lighting else None
    count = None
    if c.distractor_count is not None:
        count = int(rng.integers(c.distractor_count[0], c.distractor_count[1] + 1))
    colors = None
    if c.distractor_colors:
        colors = tuple(random_rgba(rng) for _ in range(n_distractors if count is None
                                                       else count))
    radius = None if c.target_radius is None else float(rng.uniform(*c.target_radius))
    target = leader = None
    if c.target_rgba is not None or c.color_jitter > 0.0:
        target = _jitter(rng, c.target_rgba or TARGET_RGBA, c.color_jitter)
    if c.leader_rgba is not None or c.color_jitter > 0.0:
        leader = _jitter(rng, c.leader_rgba or LEADER_RGBA, c.color_jitter)
    return SceneSample(ground_texture=texture, sky_rgb=sky, lighting=light,
                       n_distractors=count, distractor_rgba=colors, target_radius=radius,
                       target_rgba=target, leader_rgba=leader)


class SceneDresser:
    """Applies ground texture, sky and light of a :class:`SceneSample` to one sim.

    Args:
        sim: The simulator (``ground`` body, ``camera``, ``client``).
    """

    def __init__(self, sim: object) -> None:
        self.sim = sim
        self._textures: dict[str, int] = {}
        self._current = "checker"

    def _texture(self, name: str) -> int:
        if name not in self._textures:
            self._textures[name] = p.loadTexture(assets.ground_texture_path(name),
                                                 physicsClientId=self.sim.client)
        return self._textures[name]

    def apply(self, scene: SceneSample) -> None:
        """Set the ground texture, sky colour and light (None fields: the defaults)."""
        name = scene.ground_texture or "checker"
        if name != self._current:
            p.changeVisualShape(self.sim.ground, -1, textureUniqueId=self._texture(name),
                                rgbaColor=[1, 1, 1, 1], physicsClientId=self.sim.client)
            self._current = name
        self.sim.camera.set_appearance(
            None if scene.sky_rgb is None else np.asarray(scene.sky_rgb), scene.lighting)
