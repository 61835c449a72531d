"""Episode execution: map an episode function over seeds on a back end.

Callers (collect, DAgger, evaluation) only see :func:`run_episodes`; where episodes run is the
back end's business. :class:`LocalBackend` runs them inline (``workers=1``) or in local worker
processes. A cluster back end (e.g. Ray) only has to provide :meth:`Backend.submit_all`: an
iterator of ``(seed, outcome)`` pairs in any completion order.

Results never depend on the worker count or completion order: each episode is a pure function of
its seed, and :class:`RolloutReport` orders everything by seed.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

EpisodeFn = Callable[[int], Any]
"""An episode: ``fn(seed) -> result``; must be picklable for process back ends."""


@dataclass(frozen=True)
class EpisodeFailure:
    """An episode that failed on every attempt."""

    seed: int
    """The episode's seed."""
    error: str
    """The last error, as ``Type: message``."""
    attempts: int
    """How many times it was tried."""
    traceback: str = ""
    """Formatted traceback of the last attempt (empty when unavailable)."""


@dataclass
class RolloutReport:
    """What a run produced: results and failures, both ordered by seed."""

    results: dict[int, Any] = field(default_factory=dict)
    """Seed -> episode result, for the episodes that succeeded (insertion order = seed order)."""
    failures: list[EpisodeFailure] = field(default_factory=list)
    """Episodes that failed on every attempt."""

    @property
    def ok(self) -> bool:
        """True when no episode failed."""
        return not self.failures

    def ordered(self) -> list[Any]:
        """Results in ascending seed order."""
        return [self.results[s] for s in sorted(self.results)]


@dataclass(frozen=True)
class EpisodeOutcome:
    """One attempt's outcome, as a back end reports it."""

    seed: int
    """The episode's seed."""
    ok: bool
    """Whether the attempt returned normally."""
    value: Any = None
    """The episode's result when ``ok``."""
    error: str = ""
    """``Type: message`` when not ``ok``."""
    trace: str = ""
    """Formatted traceback when not ``ok`` (may be empty)."""


def _call(fn: EpisodeFn, seed: int) -> EpisodeOutcome:
    """Run one attempt, turning an exception into a picklable outcome."""
    try:
        return EpisodeOutcome(seed, True, fn(seed))
    except Exception as err:  # noqa: BLE001 - any episode error is reported, not raised
        error = f"{type(err).__name__}: {err}"
        return EpisodeOutcome(seed, False, None, error, traceback.format_exc())


class Backend(Protocol):
    """Where episodes run."""

    def submit_all(self, fn: EpisodeFn, seeds: list[int]) -> Iterator[EpisodeOutcome]:
        """Run one attempt of ``fn`` for each seed; yield outcomes in completion order."""
        ...


class LocalBackend:
    """Episodes on this machine: inline for ``workers=1``, else worker processes.

    Args:
        workers: Number of processes (>= 1). Processes are spawned (not forked), so PyBullet and
            torch state never leak between parent and workers; each uses one torch thread.
    """

    def __init__(self, workers: int = 1) -> None:
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = int(workers)

    def submit_all(self, fn: EpisodeFn, seeds: list[int]) -> Iterator[EpisodeOutcome]:
        """Run one attempt of ``fn`` for each seed; yield outcomes in completion order."""
        if self.workers == 1 or len(seeds) <= 1:
            for seed in seeds:
                yield _call(fn, seed)
            return
        # A worker that dies fails only its own episode there (a ProcessPoolExecutor would
        # break every pending one); imported here because backends imports this module.
        from liquid_ros.rollouts.backends import ProcessBackend

        with ProcessBackend(self.workers) as backend:
            yield from backend.submit_all(fn, seeds)


DEFAULT_TIMEOUT = 600.0
"""Default per-episode wall-clock limit (s): far above any episode we run, below forever."""


@dataclass(frozen=True, kw_only=True)
class BackendConfig:
    """Rollout back end: where episodes run (local worker processes by default, or Ray)."""

    workers: int | None = None
    """Parallel episodes (default: every core of this machine, or the Ray cluster's CPUs)."""
    ray: str | None = field(default=None, metadata={"cli": {
        "nargs": "?", "const": "local", "metavar": "ADDRESS"}})
    """Run episodes on Ray: a local instance, or the cluster at ADDRESS (auto, HOST:6379,
    ray://HOST:10001); pip install liquid_ros[ray]."""
    episode_timeout: float | None = DEFAULT_TIMEOUT
    """Wall-clock limit of one episode (s); a hung one is retried."""

    def make(self) -> Any:
        """The back end (a ``ProcessBackend`` or ``RayBackend``); call its ``close()`` after.

        Raises:
            ImportError: If Ray is asked for and not installed.
            ValueError: On a bad ``workers`` or ``episode_timeout``.
        """
        from liquid_ros.rollouts.backends import make_backend

        return make_backend(self.workers, self.ray, timeout=self.episode_timeout)

    def run(self, work: Callable[[Any], Any]) -> Any:
        """``work(backend)`` on a back end made for it, closed afterwards whatever happens."""
        backend = self.make()
        try:
            return work(backend)
        finally:
            backend.close()


def run_episodes(
    fn: EpisodeFn,
    seeds: Iterable[int],
    backend: Backend | None = None,
    *,
    retries: int = 1,
    progress: bool = False,
    desc: str = "episodes",
    on_result: Callable[[int, Any], None] | None = None,
) -> RolloutReport:
    """Run ``fn(seed)`` for every seed, retrying failures with the same seed.

    Args:
        fn: Episode function; picklable (a module-level function or a dataclass instance with
            ``__call__``) when the back end uses processes.
        seeds: Episode seeds; duplicates are run once.
        backend: Where to run; default ``LocalBackend(1)``.
        retries: Extra attempts for a failed episode (>= 0), each with the same seed.
        progress: Show a tqdm progress bar on stderr.
        desc: Progress bar label.
        on_result: Called in this process as ``on_result(seed, result)`` when an episode
            succeeds, in completion order (e.g. to save it at once, for resumability).

    Returns:
        The report; failed episodes are listed with their seed and last error, never raised.

    Raises:
        ValueError: If ``retries`` is negative or a seed is not an integer.
    """
    if int(retries) != retries or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    seed_list = sorted({_check_seed(s) for s in seeds})
    backend = backend if backend is not None else LocalBackend(1)
    report = RolloutReport()
    attempts = dict.fromkeys(seed_list, 0)
    last: dict[int, EpisodeOutcome] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(seed_list), desc=desc, unit="ep", dynamic_ncols=True)
    pending = seed_list
    results: dict[int, Any] = {}
    try:
        while pending:
            retry: list[int] = []
            for out in backend.submit_all(fn, pending):
                attempts[out.seed] += 1
                if out.ok:
                    results[out.seed] = out.value
                    if on_result is not None:
                        on_result(out.seed, out.value)
                    if bar is not None:
                        bar.update(1)
                elif attempts[out.seed] <= retries:
                    retry.append(out.seed)
                else:
                    last[out.seed] = out
                    if bar is not None:
                        bar.update(1)
            pending = sorted(retry)
    finally:
        if bar is not None:
            bar.close()
    report.results = {s: results[s] for s in sorted(results)}
    report.failures = [
        EpisodeFailure(s, last[s].error, attempts[s], last[s].trace) for s in sorted(last)
    ]
    return report


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
    return int(seed)
