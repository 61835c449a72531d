"""Demonstration storage: one compressed ``.npz`` per episode plus a JSON manifest.

Layout of a dataset folder::

    DIR/manifest.json            canonical index, episodes sorted by seed
    DIR/episode_000042.npz       one episode, named by its seed

Each file is written to a temporary name in the same folder and renamed into place, so a file
that exists is complete; an interrupted run resumes by skipping the seeds already on disk.
Arrays are plain numbers (no pickles), so loading never executes code.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "liquid_ros.dataset/1"
"""Format tag written into the manifest and every episode file."""
MANIFEST = "manifest.json"
"""Name of the manifest inside a dataset folder."""

_ARRAYS = ("images", "states", "actions", "actions_executed", "dt", "timestamps",
           "positions", "velocities", "goals")


@dataclass
class Episode:
    """One demonstration; T steps, all arrays step-aligned.

    ``actions[t]`` is the label (the expert's action for observation ``t``); the drone flew
    ``actions_executed[t]`` (the label plus exploration noise, or the learner's action in DAgger).
    ``dt[t]`` is the time (s) elapsed since the previous observation (``dt[0]`` = control period).
    """

    seed: int
    """Episode seed (``env.reset(seed=seed)``)."""
    images: np.ndarray
    """(T, H, W, 3) uint8 RGB camera frames."""
    states: np.ndarray
    """(T, 10) float32 observation state (velocity, quaternion xyzw, body rates)."""
    actions: np.ndarray
    """(T, 4) float32 expert label: world acceleration (m/s^2) and yaw rate (rad/s)."""
    actions_executed: np.ndarray
    """(T, 4) float32 action actually applied."""
    dt: np.ndarray
    """(T,) float32 elapsed time (s) before each observation."""
    timestamps: np.ndarray
    """(T,) float64 simulation time (s) of each observation."""
    positions: np.ndarray
    """(T, 3) float32 privileged world position (m)."""
    velocities: np.ndarray
    """(T, 3) float32 privileged world velocity (m/s)."""
    goals: np.ndarray
    """(T, 3) float32 privileged goal position (target or leader) (m)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """JSON-serialisable facts: task, success, metrics, noise, source."""

    def __post_init__(self) -> None:
        steps = len(self.images)
        if steps < 1:
            raise ValueError("episode must have at least one step")
        for name in _ARRAYS:
            if len(getattr(self, name)) != steps:
                raise ValueError(
                    f"episode {self.seed}: {name} has {len(getattr(self, name))} steps, "
                    f"images has {steps}")

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return len(self.images)


def episode_filename(seed: int) -> str:
    """File name of the episode with this seed."""
    return f"episode_{int(seed):06d}.npz"


def _atomic_write(path: Path, write: Any) -> None:
    """Write through ``write(fileobj)`` to a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; datasets are shared
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_episode(directory: str | os.PathLike[str], episode: Episode) -> Path:
    """Write ``episode`` atomically as ``DIR/episode_<seed>.npz``; returns its path."""
    path = Path(directory) / episode_filename(episode.seed)
    arrays = {name: np.asarray(getattr(episode, name)) for name in _ARRAYS}
    arrays["images"] = arrays["images"].astype(np.uint8, copy=False)
    meta = dict(episode.meta, seed=int(episode.seed), format=FORMAT)
    arrays["meta_json"] = np.array(json.dumps(meta, sort_keys=True))
    _atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    return path


def load_episode(path: str | os.PathLike[str]) -> Episode:
    """Read one episode file.

    Raises:
        ValueError: If the file is missing, truncated, or not an episode of this format.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta_json"]))
            arrays = {name: data[name] for name in _ARRAYS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"not a readable episode file: {path} ({err})") from err
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    seed = int(meta.pop("seed"))
    meta.pop("format", None)
    return Episode(seed=seed, meta=meta, **arrays)


def is_complete(directory: str | os.PathLike[str], seed: int) -> bool:
    """True when the episode file for ``seed`` exists and reads back (resume check)."""
    path = Path(directory) / episode_filename(seed)
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            json.loads(str(data["meta_json"]))
            _ = data["actions"].shape
        return True
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return False


def write_manifest(
    directory: str | os.PathLike[str], info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Index every episode file in ``directory`` (sorted by seed) into ``manifest.json``.

    Args:
        directory: Dataset folder.
        info: Extra top-level facts (task, env settings, command line).

    Returns:
        The manifest as written.
    """
    directory = Path(directory)
    entries = []
    for path in sorted(directory.glob("episode_*.npz")):
        ep = load_episode(path)
        entries.append({
            "seed": ep.seed, "file": path.name, "steps": ep.steps,
            "source": ep.meta.get("source", "expert"),
            "success": ep.meta.get("success"), "duration_s": float(ep.timestamps[-1]),
        })
    entries.sort(key=lambda e: e["seed"])
    manifest = {"format": FORMAT, **(info or {}), "num_episodes": len(entries),
                "num_steps": int(sum(e["steps"] for e in entries)), "episodes": entries}
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    _atomic_write(directory / MANIFEST, lambda fh: fh.write(text.encode()))
    return manifest


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``DIR/manifest.json``.

    Raises:
        ValueError: If it is missing or not a manifest of this format.
    """
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"no readable dataset manifest at {path} ({err})") from err
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def load_dataset(directories: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                 ) -> list[Episode]:
    """Load all episodes listed in the manifests of one or more dataset folders.

    Returns:
        Episodes in manifest order (folders in the given order, seeds ascending within each).

    Raises:
        ValueError: If a folder has no manifest, or it lists no episodes.
    """
    dirs = [directories] if isinstance(directories, str | os.PathLike) else list(directories)
    episodes: list[Episode] = []
    for d in dirs:
        manifest = read_manifest(d)
        episodes.extend(load_episode(Path(d) / e["file"]) for e in manifest["episodes"])
    if not episodes:
        raise ValueError(f"data: no episodes in {[str(d) for d in dirs]}")
    return episodes
