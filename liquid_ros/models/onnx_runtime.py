"""Run an exported policy step (``liquid-ros export --format onnx``) with ONNX Runtime.

``OnnxPolicy`` is a drop-in for ``LiquidPolicy`` where the control loop uses it:
``step(image, state, dt) -> action``, ``reset()``, ``last_gains``, ``config`` (image size) and
``checkpoint_metadata`` (policy period). The module itself uses numpy and onnxruntime only
(no torch, no ROS). Normalisation, action scaling and gains are inside the graph; the file's
metadata says so (``normalization_in_graph``).
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ONNX_FORMAT = "liquid_ros.policy_step.onnx/1"
"""``format`` tag in the metadata (written by ``liquid_ros.models.export``)."""
INPUT_NAMES = ("image", "state", "dt", "h")
STATE_NAMES = ("vel_x", "vel_y", "vel_z", "quat_x", "quat_y", "quat_z", "quat_w",
               "rate_x", "rate_y", "rate_z")
ACTION_NAMES = ("accel_x", "accel_y", "accel_z", "yaw_rate")


class OnnxModelError(ValueError):
    """An ONNX file is missing, unreadable or not an exported liquid_ros policy step."""


@dataclass(frozen=True)
class StepConfig:
    """Shapes and family of an exported step, read from its metadata.

    Attributes:
        cell: Model family ("ltc", "cfc", "lstm", "gru", "ctrnn", "mlp").
        image_height: H in pixels. image_width: W in pixels. image_channels: C (rgb8).
        state_dim: Raw state size S. action_dim: Action size A. n_gains: Gains G after it.
        state_size: Flat recurrent state size K (zeros to start).
    """

    cell: str
    image_height: int
    image_width: int
    image_channels: int
    state_dim: int
    action_dim: int
    n_gains: int
    state_size: int


def _plain(value: Any) -> Any:
    """JSON-ready copy of checkpoint metadata (tensors and arrays become lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value.tolist() if hasattr(value, "tolist") else value


def checkpoint_period(meta: dict[str, Any], control_hz: float = 50.0) -> float:
    """Policy period (s) recorded by training: ``action_repeat / control_hz``; 0 if unknown."""
    repeat = meta.get("action_repeat")
    if not repeat:
        return 0.0
    return float(repeat) / float((meta.get("env_kwargs") or {}).get("control_hz", control_hz))


def build_metadata(config: dict[str, Any], state_size: int,
                   normalization: dict[str, list[float]], checkpoint_metadata: dict[str, Any],
                   exporter: str, opset: int) -> dict[str, str]:
    """The metadata_props of an exported step: strings, JSON-encoded where not text.

    Args:
        config: ``PolicyConfig.to_dict()``.
        state_size: Flat recurrent state size K.
        normalization: The six normalisation / action-scaling vectors by buffer name.
        checkpoint_metadata: The checkpoint's metadata (training facts, action repeat).
        exporter: Which exporter wrote the graph.
        opset: ONNX opset of the graph.
    """
    a, g, s = config["action_dim"], config["n_gains"], config["state_dim"]
    meta = _plain(checkpoint_metadata)
    props = {
        "format": ONNX_FORMAT,
        "model_family": config["cell"],
        "policy_config": config,
        "state_size": state_size,
        "inputs": "image (1,H,W,C) uint8, state (1,S) float32, dt (1,1) float32 s, "
                  "h (1,K) float32 (zeros to start)",
        "outputs": "action (1,A+G) float32, h_next (1,K) float32",
        "image_height": config["image_height"], "image_width": config["image_width"],
        "image_channels": config["image_channels"], "image_encoding": "rgb8",
        "image_layout": "HWC",
        "state_names": list(STATE_NAMES) if s == 10 else [f"state_{i}" for i in range(s)],
        "state_frames": "velocity world ENU m/s; quaternion x,y,z,w body FLU to world ENU; "
                        "body rates FLU rad/s",
        "action_names": (list(ACTION_NAMES) if a == 4 else [f"action_{i}" for i in range(a)])
                        + [f"gain_{i}" for i in range(g)],
        "action_frame": "world ENU acceleration m/s^2, yaw rate rad/s (REP-103); gains in "
                        f"(0, {config['gain_max']}) for the safety filter's class-K functions",
        "normalization": normalization,
        "normalization_in_graph": True,
        "normalization_formula": "image = (pixels / 255 - image_mean) / image_std; "
                                 "state = (state - state_mean) / state_std; "
                                 "action = head * action_scale + action_mean; "
                                 "gain = gain_max * sigmoid(head)",
        "n_gains": g, "gain_max": config["gain_max"],
        "policy_period_s": checkpoint_period(meta),
        "checkpoint_metadata": meta,
        "exporter": exporter,
        "opset": opset,
    }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in props.items()}


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError("running an ONNX policy needs onnxruntime: "
                          "pip install 'liquid_ros[onnx]'") from err
    return onnxruntime


def read_metadata(session: Any, path: str | os.PathLike = "") -> dict[str, Any]:
    """The step's metadata_props with JSON values decoded.

    Raises:
        OnnxModelError: if the ``format`` tag is missing or another.
    """
    props = dict(session.get_modelmeta().custom_metadata_map)
    if props.get("format") != ONNX_FORMAT:
        raise OnnxModelError(f"ONNX model {path} has format {props.get('format')!r}, "
                             f"expected {ONNX_FORMAT!r} (export it with liquid-ros export)")
    out: dict[str, Any] = {}
    for key, value in props.items():
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


class OnnxPolicy:
    """Batch-1 stepping policy on ONNX Runtime, keeping the recurrent state between steps.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads of the session (1: predictable latency beside the node's
            other work; more rarely helps at batch 1).

    Attributes:
        config: Shapes and family (``StepConfig``).
        metadata: All metadata_props, JSON decoded.
        checkpoint_metadata: The source checkpoint's metadata (training facts, action repeat).
        action_mean: (A,) float32 action returned when the network outputs a non-finite value.
        last_gains: (G,) gains of the last step, or None.

    Raises:
        ImportError: one line, when onnxruntime is not installed.
        OnnxModelError: the file is missing, unreadable or not an exported policy step.
    """

    def __init__(self, path: str | os.PathLike, threads: int = 1) -> None:
        ort = _import_onnxruntime()
        self.path = Path(path)
        if not self.path.is_file():
            raise OnnxModelError(f"ONNX model {self.path}: no such file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = max(1, int(threads))
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001  (onnxruntime raises its own types)
            raise OnnxModelError(f"ONNX model {self.path} cannot be loaded: {err}") from err
        self.metadata = meta = read_metadata(self.session, self.path)
        pc = meta["policy_config"]
        self.config = StepConfig(
            str(pc["cell"]), int(pc["image_height"]), int(pc["image_width"]),
            int(pc["image_channels"]), int(pc["state_dim"]), int(pc["action_dim"]),
            int(pc["n_gains"]), int(meta["state_size"]))
        names = tuple(value.name for value in self.session.get_inputs())
        if names != INPUT_NAMES:
            raise OnnxModelError(f"ONNX model {self.path} has inputs {names}, "
                                 f"expected {INPUT_NAMES}")
        self.checkpoint_metadata: dict[str, Any] = meta.get("checkpoint_metadata") or {}
        self.action_mean = np.asarray(meta["normalization"]["action_mean"], np.float32)
        self._dt = np.zeros((1, 1), np.float32)
        self._hx: np.ndarray | None = None
        self.last_gains: np.ndarray | None = None

    @property
    def policy_period(self) -> float:
        """Seconds between steps the policy was trained at (0 when the checkpoint did not say)."""
        return float(self.metadata.get("policy_period_s") or 0.0)

    def __deepcopy__(self, memo: dict[int, Any]) -> OnnxPolicy:
        """A copy with its own recurrent state sharing the (immutable, thread-safe) session."""
        new = copy.copy(self)
        new._dt = self._dt.copy()
        new._hx = None if self._hx is None else self._hx.copy()
        new.last_gains = None if self.last_gains is None else self.last_gains.copy()
        return new

    def eval(self) -> OnnxPolicy:
        """No-op (inference only), for code written against torch modules."""
        return self

    def reset(self) -> None:
        """Forget the recurrent state (the next step starts from zeros)."""
        self._hx = None
        self.last_gains = None

    def run(self, image: np.ndarray, state: np.ndarray, dt: float,
            h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One raw graph call: image (1,H,W,C) uint8, state (1,S), dt s, h (1,K) -> (out, h')."""
        self._dt[0, 0] = dt
        out, h_next = self.session.run(
            None, {"image": image, "state": state, "dt": self._dt, "h": h})
        return out, h_next

    @property
    def hidden_state(self) -> Any:
        """The recurrent state :meth:`step` continues from (None after ``reset``)."""
        return self._hx

    def step(self, image: np.ndarray, state: np.ndarray, dt: float) -> np.ndarray:
        """One control tick, as ``LiquidPolicy.step``.

        Args:
            image: (H, W, C) uint8 RGB.
            state: (S,) raw state.
            dt: Time since the previous tick in s (> 0).

        Returns:
            (A,) float32 action. On a non-finite network output the state is reset and
            ``action_mean`` is returned (never NaN). Gains go to ``last_gains``.

        Raises:
            ValueError: on a wrong image/state shape or dtype, a non-finite state or a bad dt.
        """
        cfg = self.config
        image = np.asarray(image)
        expected = (cfg.image_height, cfg.image_width, cfg.image_channels)
        if image.shape != expected or image.dtype != np.uint8:
            raise ValueError(f"image must be {expected} uint8, got {image.shape} {image.dtype}")
        state = np.asarray(state, dtype=np.float32)
        if state.shape != (cfg.state_dim,) or not np.isfinite(state).all():
            raise ValueError(f"state must be finite with shape ({cfg.state_dim},)")
        if not (isinstance(dt, int | float) and 0.0 < dt < math.inf):
            raise ValueError(f"dt must be positive and finite (s), got {dt!r}")
        h = self._hx if self._hx is not None else np.zeros((1, cfg.state_size), np.float32)
        out, h_next = self.run(np.ascontiguousarray(image)[None], state[None], float(dt), h)
        if not (np.isfinite(out).all() and np.isfinite(h_next).all()):
            self.reset()
            return self.action_mean.copy()
        self._hx = h_next
        a = cfg.action_dim
        self.last_gains = out[0, a:].copy() if cfg.n_gains else None
        return out[0, :a].copy()


def max_step_difference(reference: Any, candidate: Any, steps: int = 30, seed: int = 0,
                        dt_range: tuple[float, float] = (0.02, 0.2)) -> float:
    """Largest |action| and |gain| difference of two stepping policies on the same inputs.

    Both are reset, then stepped ``steps`` times with random uint8 images, normal states and
    uniform dt in ``dt_range`` (s), each carrying its own recurrent state.
    """
    cfg = reference.config
    rng = np.random.default_rng(seed)
    reference.reset()
    candidate.reset()
    worst = 0.0
    for _ in range(steps):
        image = rng.integers(0, 256, (cfg.image_height, cfg.image_width, cfg.image_channels),
                             dtype=np.uint8)
        state = rng.normal(size=cfg.state_dim).astype(np.float32)
        dt = float(rng.uniform(*dt_range))
        diff = np.abs(reference.step(image, state, dt) - candidate.step(image, state, dt))
        worst = max(worst, float(diff.max()))
        if reference.last_gains is not None:
            diff = np.abs(np.asarray(reference.last_gains) - candidate.last_gains)
            worst = max(worst, float(diff.max()))
    reference.reset()
    candidate.reset()
    return worst
