"""Episode functions and checks shared by the back-end tests (real sim episodes, real faults).

The functions are module-level dataclasses so worker processes (spawned, or Ray workers, both of
which get this process's ``sys.path``) can unpickle them by reference.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from liquid_ros.rollouts.episodes import ExpertEpisode, make_env
from liquid_ros.train.dataset import Episode

SEEDS = list(range(6))
ARRAYS = [f.name for f in fields(Episode) if f.name not in ("seed", "meta")]
# Short leader-follow episodes (2 s of sim, 20 camera frames at 10 Hz, 32x32 pixels): real
# physics, rendering and expert, at about 0.1 s of wall time each.
EXPERT = ExpertEpisode("leader_follow", {"episode_seconds": 2.0, "image_width": 32,
                                         "image_height": 32})


@dataclass(frozen=True)
class Faulty:
    """The expert episode, with faults injected on the first attempt of chosen seeds.

    A marker file per seed (created atomically) tells the first attempt from the retries.
    """

    marker_dir: str
    kill: tuple[int, ...] = ()
    raise_: tuple[int, ...] = ()
    hang: tuple[int, ...] = ()
    hang_s: float = 60.0

    def __call__(self, seed: int) -> Episode:
        try:
            fd = os.open(Path(self.marker_dir) / f"seed_{seed}", os.O_CREAT | os.O_EXCL)
            os.close(fd)
            first = True
        except FileExistsError:
            first = False
        Path(self.marker_dir, f"attempt_{seed}_{time.monotonic_ns()}").touch()
        if first and seed in self.kill + self.raise_ + self.hang:
            self._fly_a_little(seed)
            if seed in self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            if seed in self.raise_:
                raise RuntimeError(f"injected sim failure in seed {seed}")
            time.sleep(self.hang_s)
        return EXPERT(seed)

    @staticmethod
    def _fly_a_little(seed: int) -> None:
        """Start the episode so the fault strikes mid-episode, with PyBullet state live."""
        env = make_env(EXPERT.task, EXPERT.env_kwargs)
        env.reset(seed=seed)
        for _ in range(5):
            env.step(env.unwrapped.expert_action())


def attempts(marker_dir: Path, seed: int) -> int:
    """How many attempts of ``seed`` a :class:`Faulty` run made."""
    return len(list(marker_dir.glob(f"attempt_{seed}_*")))


def assert_same_episodes(a: dict[int, Episode], b: dict[int, Episode]) -> None:
    """Same seeds, same metadata, and every array equal bit for bit (dtype and shape too)."""
    assert list(a) == list(b)
    for seed in a:
        ea, eb = a[seed], b[seed]
        assert ea.seed == eb.seed == seed
        assert ea.meta == eb.meta, seed
        for name in ARRAYS:
            xa, xb = np.asarray(getattr(ea, name)), np.asarray(getattr(eb, name))
            assert xa.dtype == xb.dtype and xa.shape == xb.shape, (seed, name)
            assert xa.tobytes() == xb.tobytes(), (seed, name)
