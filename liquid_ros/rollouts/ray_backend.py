"""The Ray rollout back end: episodes as Ray tasks on a local instance or a cluster.

Same contract as :class:`~liquid_ros.rollouts.backends.ProcessBackend` (see that module's
docstring): one attempt per seed, outcomes in completion order, a failed, lost or timed-out
task becomes a failed outcome for exactly its seed, results pickled in the worker.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from liquid_ros.rollouts.backends import (
    ClosingBackend,
    _attempt,
    _check_timeout,
    _check_workers,
    _failure,
    _limit_threads,
    _pickle_fn,
)
from liquid_ros.rollouts.runner import DEFAULT_TIMEOUT, EpisodeFn, EpisodeOutcome


def _ray_attempt(fn: EpisodeFn, seed: int) -> bytes:
    """Ray task body: one attempt, returned pickled (see the module docstring)."""
    _limit_threads()
    out = _attempt(fn, seed)
    try:
        return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - reported as the attempt's failure
        return pickle.dumps(_failure(seed, f"episode result is not picklable: "
                                           f"{type(err).__name__}: {err}"))


def _import_path() -> str:
    """This process's ``sys.path`` as a PYTHONPATH value.

    Local Ray workers otherwise see only the driver's working directory, so an episode function
    from a test folder, or the working tree shadowing an installed copy, would not import (or
    import the wrong code); spawned processes inherit ``sys.path`` the same way.
    """
    paths = (os.path.abspath(p or os.curdir) for p in sys.path)
    return os.pathsep.join(p for p in dict.fromkeys(paths) if os.path.isdir(p))


class RayBackend(ClosingBackend):
    """Episodes as Ray tasks, on a local Ray instance or a Ray cluster.

    At most ``workers`` episodes are in flight, each a task of one CPU that Ray does not retry
    itself (``max_retries=0``), so every attempt is counted by :func:`run_episodes`. A task
    that raises, whose worker or node is lost, or that runs past ``timeout`` (counted from
    submission; the in-flight cap keeps that close to its start) fails its seed; an overdue
    task is force-cancelled, which kills its worker process.

    Args:
        address: None, ``""`` or ``"local"`` to start a local Ray instance with ``workers``
            CPUs (its workers import with this process's ``sys.path``); else a cluster address
            (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``), whose nodes need liquid_ros
            and the episode function's module installed. If Ray is already initialised in this
            process, that instance is used as is.
        workers: Episodes in flight; None for a local instance's cores or the cluster's CPUs.
        timeout: Wall-clock limit (s) of one episode; None disables it.
        log_to_driver: Forward the workers' stdout and stderr to this process.

    Raises:
        ImportError: If Ray is not installed (``pip install liquid_ros[ray]``).
        ValueError: On a bad ``workers`` or ``timeout``.
    """

    def __init__(self, address: str | None = None, workers: int | None = None, *,
                 timeout: float | None = DEFAULT_TIMEOUT, log_to_driver: bool = True) -> None:
        self.timeout = _check_timeout(timeout)
        if workers is not None:
            _check_workers(workers)
        try:
            import ray
        except ImportError as err:
            raise ImportError("the Ray back end needs Ray: pip install liquid_ros[ray] "
                              "(or pip install 'ray[default]')") from err
        import logging

        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            if address in (None, "", "local"):
                ray.init(num_cpus=_check_workers(workers), include_dashboard=False,
                         log_to_driver=log_to_driver, logging_level=logging.WARNING,
                         runtime_env={"env_vars": {"PYTHONPATH": _import_path()}})
            else:
                ray.init(address=address, log_to_driver=log_to_driver,
                         logging_level=logging.WARNING)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = _check_workers(workers) if workers is not None else max(1, cpus)
        self._task = ray.remote(num_cpus=1, max_retries=0)(_ray_attempt)

    def __repr__(self) -> str:
        return f"RayBackend(workers={self.workers}, timeout={self.timeout})"

    def close(self) -> None:
        """Shut Ray down if this back end started it."""
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False

    def submit_all(self, fn: EpisodeFn, seeds: list[int]) -> Iterator[EpisodeOutcome]:
        """Run one attempt of ``fn`` for each seed; yield outcomes in completion order.

        Raises:
            ValueError: If ``fn`` cannot be pickled.
        """
        ray = self._ray
        queue = deque(int(s) for s in seeds)
        if not queue:
            return
        _pickle_fn(fn)  # the same early, clear error as the process back end
        fn_ref = ray.put(fn)
        inflight: dict[Any, tuple[int, float]] = {}
        try:
            while queue or inflight:
                while queue and len(inflight) < self.workers:
                    seed = queue.popleft()
                    inflight[self._task.remote(fn_ref, seed)] = (seed, time.monotonic())
                refs = list(inflight)
                ready, rest = ray.wait(refs, num_returns=1, timeout=self._wait_time(inflight))
                if ready and rest:
                    more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                    ready += more
                outcomes = [self._collect(ref, inflight.pop(ref)[0]) for ref in ready]
                now = time.monotonic()
                for ref, (seed, start) in list(inflight.items()):
                    if self.timeout is not None and now - start > self.timeout:
                        ray.cancel(ref, force=True)
                        del inflight[ref]
                        outcomes.append(_failure(seed, f"TimeoutError: episode ran longer "
                                                       f"than {self.timeout:g} s; task "
                                                       f"cancelled"))
                yield from outcomes
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)

    def _collect(self, ref: Any, seed: int) -> EpisodeOutcome:
        try:
            return pickle.loads(self._ray.get(ref))
        except self._ray.exceptions.RayError as err:
            # Worker crashed, node lost, task cancelled: the attempt failed, the run goes on.
            return _failure(seed, _ray_error(err))

    def _wait_time(self, inflight: dict[Any, tuple[int, float]]) -> float | None:
        if self.timeout is None:
            return None
        first = min(start for _, start in inflight.values())
        return max(0.0, first + self.timeout - time.monotonic()) + 0.01


def _ray_error(err: Exception) -> str:
    """``Type: message`` of a Ray error: the cause, without colour codes or Ray's header."""
    cause = getattr(err, "cause", None)
    err = cause if isinstance(cause, BaseException) else err
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines()]
    text = next((ln for ln in lines if ln and not ln.startswith("ray::")), "")
    return f"{type(err).__name__}: {text[:300]}"


