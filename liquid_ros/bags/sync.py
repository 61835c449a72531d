"""Synchronise image, odometry and command streams into training samples.

Method (every tolerance is a :class:`SyncConfig` field):

* Each image is one sample at its stamp ``t``.
* State: the odometry message nearest to ``t`` within ``odom_tolerance`` (default 0.05 s).
* Label: with ``command_align="after"`` (default) the first command stamped in
  ``[t, t + command_tolerance]`` (default 0.1 s), i.e. the command issued in response to this
  frame (a policy node stamps its command when it publishes, after the frame it used); with
  ``"before"`` the latest command in ``[t - command_tolerance, t]`` (the command in force when
  the frame was taken). A command stamped exactly at ``t`` matches either way.
* Goal (optional topic): nearest within ``odom_tolerance``; without a goal topic goals are 0.
* A sample lacking its odometry or command is dropped and counted (``no_odom``,
  ``no_command``). A gap between kept samples longer than ``max_gap`` (default 0.5 s) starts a
  new episode; episodes shorter than ``min_steps`` are dropped (``short_episode``).
* Time steps are the real, irregular ones: ``dt[k] = t[k] - t[k-1]`` between kept samples
  (a dropped frame widens the step), ``dt[0]`` = the episode's median step.

Command -> action (desired world ENU acceleration (3) m/s^2, yaw rate rad/s), clipped to the
action bounds (clipped samples are counted):

* ``AccelStamped``: ``linear`` is the acceleration, ``angular.z`` the yaw rate (as written by
  ``liquid-ros record-sim``).
* ``WrenchStamped`` (body FLU force and torque): the net acceleration of the rigid body,
  ``a = (R f - R D R^T v) / m - g e3``, with ``R`` the attitude and ``v`` the world velocity of
  the matched odometry, ``m`` = ``mass`` and ``D = diag(drag_coeff)`` the linear body drag
  (the Crazyflie model's by default; it is large: 2.9 m/s^2 at 1.5 m/s, so the thrust alone
  would misstate the acceleration; zeros for a vehicle without a drag model). The yaw rate
  is the measured world-z rate ``(R omega)_z`` of that odometry, since a wrench carries no
  yaw-rate command.
* ``TwistStamped`` with ``twist_mode="velocity"``: a velocity command (``twist_frame`` body FLU
  by default, or world) becomes ``a = twist_gain (v_cmd - v)``, the proportional velocity
  tracking law, with ``v`` the odometry velocity; ``angular.z`` is the yaw rate. With
  ``twist_mode="acceleration"`` ``linear`` already is a world acceleration (the ``twist`` output
  of ``liquid_ros`` policy_node).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from liquid_ros.bags import messages as bm
from liquid_ros.bags.reader import BagError, TopicStream
from liquid_ros.control.controller import ACTION_HIGH, ACTION_LOW
from liquid_ros.control.quadrotor import CF2X, GRAVITY
from liquid_ros.control.rotation import quat_to_matrix


@dataclass(frozen=True)
class SyncConfig:
    """How streams are matched and commands mapped to actions."""

    odom_tolerance: float = 0.05
    """Largest |t_odom - t_image| (s) for the nearest odometry (and goal) message."""
    command_tolerance: float = 0.1
    """Largest distance (s) between an image and its command."""
    command_align: str = "after"
    """``"after"``: first command at or after the image; ``"before"``: latest at or before."""
    max_gap: float = 0.5
    """A longer gap (s) between kept samples starts a new episode."""
    min_steps: int = 2
    """Shortest episode kept (samples)."""
    mass: float = CF2X.mass
    """Vehicle mass (kg) for WrenchStamped commands."""
    drag_coeff: tuple[float, float, float] = tuple(CF2X.drag_coeff)
    """Linear body drag (N s/m) per body axis FLU, for WrenchStamped commands."""
    twist_mode: str = "velocity"
    """TwistStamped meaning: ``"velocity"`` (m/s command) or ``"acceleration"`` (m/s^2)."""
    twist_frame: str = "body"
    """Frame of a velocity TwistStamped: ``"body"`` (FLU, cmd_vel) or ``"world"`` (ENU)."""
    twist_gain: float = 2.0
    """Velocity-tracking gain (1/s) turning a velocity command into an acceleration."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming the field)."""
        for name in ("odom_tolerance", "command_tolerance", "max_gap", "mass", "twist_gain"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        for name, allowed in (("command_align", ("after", "before")),
                              ("twist_mode", ("velocity", "acceleration")),
                              ("twist_frame", ("body", "world"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if len(self.drag_coeff) != 3 or not all(
                np.isfinite(c) and c >= 0 for c in self.drag_coeff):
            raise ValueError(f"drag_coeff must be 3 finite numbers >= 0, got {self.drag_coeff!r}")
        if isinstance(self.min_steps, bool) or not isinstance(self.min_steps, int) or (
                self.min_steps < 1):
            raise ValueError(f"min_steps must be an integer >= 1, got {self.min_steps!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for manifests."""
        return asdict(self)


@dataclass
class Segment:
    """One synchronised episode: K samples, arrays aligned."""

    stamps: np.ndarray
    """(K,) int64 image stamps (ns)."""
    images: np.ndarray
    """(K, H, W, 3) uint8 RGB."""
    odom: np.ndarray
    """(K, 13) matched odometry: position, quaternion, world velocity, body rate (see
    ``OdomSample.vector`` in :mod:`liquid_ros.runtime.decoding`)."""
    actions: np.ndarray
    """(K, 4) float32 labels."""
    goals: np.ndarray
    """(K, 3) float32 goals (zeros without a goal topic)."""
    dt: np.ndarray
    """(K,) float32 step before each sample (s)."""

    @property
    def states(self) -> np.ndarray:
        """(K, 10) float32 policy state: world velocity, quaternion, body rate."""
        o = self.odom
        return np.concatenate([o[:, 7:10], o[:, 3:7], o[:, 10:13]], axis=1).astype(np.float32)


@dataclass
class SyncReport:
    """What synchronisation kept and dropped."""

    images: int = 0
    """Images offered (after the reader's skips)."""
    samples: int = 0
    """Samples kept."""
    episodes: int = 0
    """Episodes kept."""
    dropped: dict[str, int] = field(default_factory=lambda: {
        "no_odom": 0, "no_command": 0, "short_episode": 0})
    """Samples dropped per reason."""
    clipped_actions: int = 0
    """Samples whose action was clipped to the bounds."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def _nearest(times: np.ndarray, t: np.ndarray, tol_ns: int) -> np.ndarray:
    """Index of the nearest entry of sorted ``times`` to each ``t``; -1 beyond ``tol_ns``."""
    hi = np.clip(np.searchsorted(times, t), 0, len(times) - 1)
    lo = np.clip(hi - 1, 0, len(times) - 1)
    pick = np.where(np.abs(times[lo] - t) <= np.abs(times[hi] - t), lo, hi)
    return np.where(np.abs(times[pick] - t) <= tol_ns, pick, -1)


def _aligned(times: np.ndarray, t: np.ndarray, tol_ns: int, after: bool) -> np.ndarray:
    """First entry at or after (or last at or before) each ``t`` within ``tol_ns``; else -1."""
    if after:
        idx = np.searchsorted(times, t, side="left")
        ok = idx < len(times)
        idx = np.clip(idx, 0, len(times) - 1)
        ok &= times[idx] - t <= tol_ns
    else:
        idx = np.searchsorted(times, t, side="right") - 1
        ok = idx >= 0
        idx = np.clip(idx, 0, len(times) - 1)
        ok &= t - times[idx] <= tol_ns
    return np.where(ok, idx, -1)


def command_to_action(raw: np.ndarray, msgtype: str, odom: np.ndarray,
                      config: SyncConfig) -> np.ndarray:
    """Actions (K, 4) float64 (unclipped) from raw commands (K, 6) and matched odometry (K, 13).

    See the module doc for the mapping of each message type.
    """
    rot = np.stack([quat_to_matrix(q) for q in odom[:, 3:7]]) if len(odom) else np.zeros(
        (0, 3, 3))
    out = np.zeros((len(raw), 4))
    if msgtype == bm.WRENCH:
        v_body = np.einsum("kji,kj->ki", rot, odom[:, 7:10])
        force = raw[:, :3] - np.asarray(config.drag_coeff) * v_body
        out[:, :3] = np.einsum("kij,kj->ki", rot, force) / config.mass
        out[:, 2] -= GRAVITY
        out[:, 3] = np.einsum("kj,kj->k", rot[:, 2, :], odom[:, 10:13])
    elif msgtype == bm.TWIST and config.twist_mode == "velocity":
        v_cmd = raw[:, :3]
        if config.twist_frame == "body":
            v_cmd = np.einsum("kij,kj->ki", rot, v_cmd)
        out[:, :3] = config.twist_gain * (v_cmd - odom[:, 7:10])
        out[:, 3] = raw[:, 5]
    else:
        out[:, :3] = raw[:, :3]
        out[:, 3] = raw[:, 5]
    return out


def synchronise(streams: dict[str, TopicStream], config: SyncConfig = SyncConfig(),
                where: str = "bag") -> tuple[list[Segment], SyncReport]:
    """Match every image with odometry and a command (see the module doc for the method).

    Args:
        streams: From :func:`~liquid_ros.bags.reader.read_bag` (roles image, odom,
            command, optional goal).
        config: Tolerances and the command mapping.
        where: Name of the source for error messages (the bag path).

    Returns:
        The episodes and the report of what was dropped.

    Raises:
        BagError: If no sample survives (naming the reasons).
    """
    img, odom, cmd = streams["image"], streams["odom"], streams["command"]
    report = SyncReport(images=len(img.stamps))
    t = img.stamps
    i_odom = _nearest(odom.stamps, t, int(round(config.odom_tolerance * 1e9)))
    i_cmd = _aligned(cmd.stamps, t, int(round(config.command_tolerance * 1e9)),
                     config.command_align == "after")
    report.dropped["no_odom"] = int(np.count_nonzero(i_odom < 0))
    report.dropped["no_command"] = int(np.count_nonzero((i_odom >= 0) & (i_cmd < 0)))
    keep = np.flatnonzero((i_odom >= 0) & (i_cmd >= 0))
    goal = streams.get("goal")
    segments: list[Segment] = []
    if keep.size:
        gap_ns = int(round(config.max_gap * 1e9))
        breaks = np.flatnonzero(np.diff(t[keep]) > gap_ns) + 1
        for part in np.split(keep, breaks):
            if len(part) < config.min_steps:
                report.dropped["short_episode"] += len(part)
                continue
            segments.append(_segment(part, t, img, odom, cmd, goal, i_odom, i_cmd, config,
                                     report))
    report.episodes = len(segments)
    report.samples = sum(len(s.stamps) for s in segments)
    if not segments:
        raise BagError(
            f"{where}: no samples: of {report.images} images on {img.topic!r}, "
            f"{report.dropped['no_odom']} had no odometry on {odom.topic!r} within "
            f"{config.odom_tolerance} s, {report.dropped['no_command']} no command on "
            f"{cmd.topic!r} within {config.command_tolerance} s ({config.command_align}), "
            f"{report.dropped['short_episode']} were in episodes shorter than "
            f"{config.min_steps} steps; image stamps {_span(t)}, odometry {_span(odom.stamps)}, "
            f"commands {_span(cmd.stamps)}")
    return segments, report


def _span(t: np.ndarray) -> str:
    return f"{t[0] / 1e9:.3f}..{t[-1] / 1e9:.3f} s" if len(t) else "none"


def _segment(part: np.ndarray, t: np.ndarray, img: TopicStream, odom: TopicStream,
             cmd: TopicStream, goal: TopicStream | None, i_odom: np.ndarray, i_cmd: np.ndarray,
             config: SyncConfig, report: SyncReport) -> Segment:
    stamps = t[part]
    o = odom.values[i_odom[part]]
    raw = command_to_action(cmd.values[i_cmd[part]], cmd.msgtype, o, config)
    act = np.clip(raw, ACTION_LOW, ACTION_HIGH)
    report.clipped_actions += int(np.count_nonzero(np.any(act != raw, axis=1)))
    goals = np.zeros((len(part), 3), np.float32)
    if goal is not None:
        ig = _nearest(goal.stamps, stamps, int(round(config.odom_tolerance * 1e9)))
        goals[ig >= 0] = goal.values[ig[ig >= 0]]
    steps = np.diff(stamps).astype(np.float64) / 1e9
    dt = np.concatenate([[np.median(steps)], steps]).astype(np.float32)
    return Segment(stamps, img.values[part], o, act.astype(np.float32), goals, dt)
