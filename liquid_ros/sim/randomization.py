"""Domain randomisation: one frozen config, named presets, per-episode sampling.

Every option is an env keyword argument (``liquid_ros.sim.make(..., odom_latency=0.02)``) and
a field of :class:`RandomizationConfig`; ``domain_randomization="default"`` starts from the
preset and keyword arguments override single fields. A range ``(lo, hi)`` is drawn uniformly
once per episode; a single number ``x`` means ``(x, x)``. ``"none"`` (the default) changes
nothing: the env then behaves and renders exactly as without this module.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from liquid_ros.sim.assets import GROUND_TEXTURES

Pair = tuple[float, float]
Quad = tuple[float, float, float, float]


@dataclass(frozen=True)
class RandomizationConfig:
    """Environment variation: timing, odometry noise, disturbances, vehicle spread, scene."""

    odom_latency: Pair = (0.0, 0.0)
    """Odometry latency range (s): a sample taken at t is observed from t + latency."""
    odom_hz: float | None = None
    """Odometry rate (Hz); None samples every physics substep."""
    camera_latency: Pair = (0.0, 0.0)
    """Camera latency range (s): a frame rendered at t is observed from t + latency."""
    command_latency: Pair = (0.0, 0.0)
    """Command latency range (s): an action sent at t is applied from t + latency."""
    command_hz: float | None = None
    """Command link rate (Hz); None forwards every control tick's command."""
    odom_noise: Quad = (0.0, 0.0, 0.0, 0.0)
    """White odometry noise std: position m, velocity m/s, attitude rad, body rate rad/s."""
    odom_bias_walk: Quad = (0.0, 0.0, 0.0, 0.0)
    """Odometry bias random walk, same units per sqrt(s) (drift of a VIO estimate)."""
    wind: Pair = (0.0, 0.0)
    """Constant horizontal wind force magnitude range (N), random direction."""
    gust_std: float = 0.0
    """Gust force std (N) per world axis (first-order Gauss-Markov, see disturbances.py)."""
    gust_tau: float = 1.0
    """Gust correlation time (s)."""
    push_rate: float = 0.0
    """Mean external pushes per second (Poisson)."""
    push_force: float = 0.0
    """Largest push force (N)."""
    push_torque: float = 0.0
    """Largest push torque (N m)."""
    push_duration: Pair = (0.05, 0.15)
    """Push duration range (s)."""
    mass_scale: Pair = (1.0, 1.0)
    """True mass over nominal (the controller keeps the nominal)."""
    inertia_scale: Pair = (1.0, 1.0)
    """True inertia over nominal, drawn per axis."""
    kf_scale: Pair = (1.0, 1.0)
    """Thrust coefficient over nominal (battery sag below 1)."""
    drag_scale: Pair = (1.0, 1.0)
    """Body drag over nominal."""
    ground_textures: tuple[str, ...] = ("checker",)
    """Ground textures drawn from (``assets.GROUND_TEXTURES``)."""
    sky_rgb: tuple[int, int, int] | None = None
    """Sky colour (0-255); None keeps the camera's default light blue."""
    sky_jitter: float = 0.0
    """Largest per-channel sky colour offset (0-255)."""
    lighting: bool = False
    """Random light direction, colour and ambient/diffuse/specular coefficients."""
    distractor_count: tuple[int, int] | None = None
    """Distractor count range (fly_to_target); None keeps the env's ``n_distractors``."""
    distractor_colors: bool = False
    """Random distractor colours (hues kept away from the target's red)."""
    target_radius: Pair | None = None
    """Target sphere radius range (m) (fly_to_target); None keeps 0.15 m."""
    target_rgba: Quad | None = None
    """Target colour (fly_to_target); None keeps the default red."""
    leader_rgba: Quad | None = None
    """Leader colour (leader_follow); None keeps the default magenta."""
    color_jitter: float = 0.0
    """Largest per-channel offset (0-1) of the target and leader colours."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def is_default(self) -> bool:
        """Whether this config changes nothing."""
        return self == RandomizationConfig()


def _number(name: str, v: Any, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
    return float(v)


def _tuple(name: str, v: Any, n: int) -> tuple:
    if not isinstance(v, (tuple, list)) or len(v) != n:
        raise ValueError(f"{name} must be {n} numbers, got {v!r}")
    return tuple(v)


def _range(name: str, v: Any, lo: float, hi: float, positive: bool = False) -> None:
    a, b = (_number(name, x, lo, hi) for x in _tuple(name, v, 2))
    if a > b:
        raise ValueError(f"{name} must satisfy lo <= hi, got {v!r}")
    if positive and a <= 0.0:
        raise ValueError(f"{name} must be > 0, got {v!r}")


def _validate(c: RandomizationConfig) -> None:
    for name in ("odom_latency", "camera_latency", "command_latency", "push_duration"):
        _range(name, getattr(c, name), 0.0, 1.0)
    for name in ("odom_hz", "command_hz"):
        if getattr(c, name) is not None:
            _number(name, getattr(c, name), 0.1, 2000.0)
    for name in ("odom_noise", "odom_bias_walk"):
        for x in _tuple(name, getattr(c, name), 4):
            _number(name, x, 0.0, 10.0)
    _range("wind", c.wind, 0.0, 10.0)
    for name in ("gust_std", "push_rate", "push_force", "push_torque"):
        _number(name, getattr(c, name), 0.0, 100.0)
    _number("gust_tau", c.gust_tau, 1e-3, 1e3)
    if c.gust_tau <= 0.0:
        raise ValueError(f"gust_tau must be > 0, got {c.gust_tau!r}")
    for name in ("mass_scale", "inertia_scale", "kf_scale"):
        _range(name, getattr(c, name), -math.inf, 10.0, positive=True)
    _range("drag_scale", c.drag_scale, 0.0, 10.0)
    textures = _tuple("ground_textures", c.ground_textures, len(c.ground_textures) or 1)
    if not textures or any(t not in GROUND_TEXTURES for t in textures):
        raise ValueError(f"ground_textures must be a non-empty list among {GROUND_TEXTURES}, "
                         f"got {c.ground_textures!r}")
    if c.sky_rgb is not None:
        for x in _tuple("sky_rgb", c.sky_rgb, 3):
            _number("sky_rgb", x, 0.0, 255.0)
    _number("sky_jitter", c.sky_jitter, 0.0, 255.0)
    if not isinstance(c.lighting, bool):
        raise ValueError(f"lighting must be a bool, got {c.lighting!r}")
    if not isinstance(c.distractor_colors, bool):
        raise ValueError(f"distractor_colors must be a bool, got {c.distractor_colors!r}")
    if c.distractor_count is not None:
        a, b = _tuple("distractor_count", c.distractor_count, 2)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) or not (
                0 <= a <= b <= 20):
            raise ValueError(f"distractor_count must be two ints 0 <= lo <= hi <= 20, got "
                             f"{c.distractor_count!r}")
    if c.target_radius is not None:
        _range("target_radius", c.target_radius, 0.02, 1.0)
    for name in ("target_rgba", "leader_rgba"):
        if getattr(c, name) is not None:
            for x in _tuple(name, getattr(c, name), 4):
                _number(name, x, 0.0, 1.0)
    _number("color_jitter", c.color_jitter, 0.0, 1.0)


FIELDS = tuple(f.name for f in dataclasses.fields(RandomizationConfig))
"""Names of the options (all accepted as env keyword arguments)."""

PRESETS: dict[str, RandomizationConfig] = {
    "none": RandomizationConfig(),
    "default": RandomizationConfig(
        odom_latency=(0.0, 0.05), camera_latency=(0.0, 0.05), command_latency=(0.0, 0.05),
        odom_noise=(0.005, 0.02, 0.01, 0.02), odom_bias_walk=(0.005, 0.005, 0.002, 0.005),
        wind=(0.0, 0.05), gust_std=0.01, gust_tau=1.0,
        push_rate=0.1, push_force=0.05, push_torque=1e-4, push_duration=(0.05, 0.15),
        mass_scale=(0.8, 1.2), inertia_scale=(0.85, 1.15), kf_scale=(0.9, 1.05),
        drag_scale=(0.7, 1.3),
        ground_textures=GROUND_TEXTURES, sky_jitter=40.0, lighting=True,
        distractor_count=(0, 6), distractor_colors=True, target_radius=(0.1, 0.2),
        color_jitter=0.08),
}
"""Named presets. ``"none"`` changes nothing. ``"default"``, per episode: latencies 0-50 ms on
odometry, camera and commands (the range the first policies were measured over); odometry noise
of a VIO / motion-capture estimate (5 mm, 0.02 m/s, 0.01 rad, 0.02 rad/s white; bias walks of
5 mm/sqrt(s), 5 mm/s/sqrt(s), 2 mrad/sqrt(s), 5 mrad/s/sqrt(s)); wind up to 0.05 N (19 % of
the Crazyflie's 0.265 N weight) with 0.01 N gusts (1 s) and a push every 10 s on average (up
to 0.05 N and 1e-4 N m for 50-150 ms); mass +-20 %, inertia +-15 % per axis, thrust
coefficient -10 % to +5 % (battery sag), drag +-30 %; any of the seven ground textures, sky
colour +-40 per channel, random light, 0-6 distractors in random colours, target radius 0.1-0.2
m, target and leader colours +-0.08 per channel."""


def _normalise(name: str, value: Any) -> Any:
    # JSON and the command line give lists and plain strings; a lone number stands for the
    # fixed range (x, x), a lone texture name for a one-name list.
    if isinstance(value, list):
        return tuple(value)
    if name == "ground_textures" and isinstance(value, str):
        return (value,)
    ranges = {n for n in FIELDS if n in ("target_radius", "distractor_count") or (
        isinstance(getattr(PRESETS["none"], n), tuple) and len(getattr(PRESETS["none"], n)) == 2)}
    if name in ranges and isinstance(value, (int, float)) and not isinstance(value, bool):
        return (value, value)
    return value


def make_config(preset: str | RandomizationConfig = "none", **overrides: Any
                ) -> RandomizationConfig:
    """The preset (a name in :data:`PRESETS` or a config) with fields replaced by ``overrides``.

    Raises:
        ValueError: For an unknown preset or option, or a bad value (naming the option).
    """
    if isinstance(preset, RandomizationConfig):
        base = preset
    elif isinstance(preset, str) and preset in PRESETS:
        base = PRESETS[preset]
    else:
        raise ValueError(f"domain_randomization must be one of {sorted(PRESETS)}, got "
                         f"{preset!r}")
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown randomization option(s): {', '.join(unknown)}")
    try:
        return dataclasses.replace(base, **{k: _normalise(k, v) for k, v in overrides.items()})
    except TypeError as exc:  # e.g. comparing a str with a number inside validation
        raise ValueError(f"bad randomization option: {exc}") from exc
