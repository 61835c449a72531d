"""Rollout back ends that survive faults: local worker processes, and Ray for clusters.

Both implement :class:`~liquid_ros.rollouts.runner.Backend`: one attempt per seed, outcomes in
completion order. A worker that raises, dies (killed, segfault, out of memory, lost Ray node)
or runs past the per-episode ``timeout`` turns into a failed :class:`EpisodeOutcome` for exactly
the seed it was running; :func:`~liquid_ros.rollouts.runner.run_episodes` then retries that seed.
A timed-out worker is killed before its outcome is reported, so a late result can never be
delivered (or saved) twice.

Results are pickled in the worker and unpickled here on both back ends, so a result is the same
object graph (plain writable NumPy arrays) whichever back end produced it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from liquid_ros.rollouts.runner import DEFAULT_TIMEOUT, Backend, EpisodeFn, EpisodeOutcome


def default_workers() -> int:
    """Cores this process may use (the default worker count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 or None, got {workers!r}")
    return int(workers)


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
            or not 0 < timeout < float("inf")):
        raise ValueError(f"timeout must be a positive finite number of seconds or None, "
                         f"got {timeout!r}")
    return float(timeout)


def _failure(seed: int, error: str, trace: str = "") -> EpisodeOutcome:
    return EpisodeOutcome(seed, False, None, error, trace)


def _attempt(fn: EpisodeFn, seed: int) -> EpisodeOutcome:
    """One attempt; an exception becomes a failed outcome (with its traceback)."""
    try:
        return EpisodeOutcome(seed, True, fn(seed))
    except Exception as err:  # noqa: BLE001 - any episode error is reported, not raised
        return _failure(seed, f"{type(err).__name__}: {err}", traceback.format_exc())


def _limit_threads() -> None:
    """One worker is one core's worth of work; torch's intra-op pool would oversubscribe."""
    # The variables cover a torch imported later (e.g. when a policy loads); importing torch
    # here would cost every worker a second of start-up even for episodes that never use it.
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _pickle_fn(fn: EpisodeFn) -> bytes:
    try:
        return pickle.dumps(fn)
    except Exception as err:
        raise ValueError(
            f"fn must be picklable (a module-level function or a dataclass instance with "
            f"__call__) to run in worker processes: {type(err).__name__}: {err}") from err


def throughput(episodes: int, sim_seconds: float, wall_seconds: float) -> str:
    """One line for the end of a run, e.g. ``12 episodes in 4.0 s: 3.00 episodes/s, ...``.

    Args:
        episodes: Episodes completed.
        sim_seconds: Simulated time (s) they covered, all episodes together.
        wall_seconds: Wall-clock time (s) of the run.
    """
    wall = max(float(wall_seconds), 1e-9)
    return (f"{episodes} episodes in {wall:.1f} s: {episodes / wall:.2f} episodes/s, "
            f"{sim_seconds / wall:.1f} sim-s/s")


# ------------------------------------------------------------------------ local processes
def _worker_main(conn: Connection, fn_bytes: bytes) -> None:
    """Worker loop: receive a seed, acknowledge it, run it, send the outcome; None stops."""
    # Ctrl-C reaches the whole process group; the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()
    try:
        fn = pickle.loads(fn_bytes)
        _limit_threads()
        load_error = None
    except Exception as err:  # noqa: BLE001 - reported for every seed instead of a silent exit
        fn, load_error = None, (f"cannot load the episode function in a worker: "
                                f"{type(err).__name__}: {err}", traceback.format_exc())
    while True:
        try:
            seed = conn.recv()
        except EOFError:
            return
        if seed is None:
            return
        conn.send(("start", seed))
        out = _failure(seed, *load_error) if fn is None else _attempt(fn, seed)
        try:
            conn.send(("done", out))
        except Exception as err:  # noqa: BLE001 - pickling fails before anything is written
            conn.send(("done", _failure(seed, f"episode result is not picklable: "
                                              f"{type(err).__name__}: {err}")))


def _send(conn: Connection, seed: int) -> None:
    try:
        conn.send(seed)
    except OSError:
        pass  # the worker just died: its sentinel fails the seed on the next wait


@dataclass
class _Worker:
    """Parent-side handle of one worker process and the seed it holds."""

    proc: Any
    conn: Connection
    seed: int | None = None
    started: float | None = None
    done: list[EpisodeOutcome] = field(default_factory=list)

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it does not within a second."""
        if self.seed is None and self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(1.0)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


class ClosingBackend:
    """``with backend:`` closes it on the way out (both back ends)."""

    def close(self) -> None:  # noqa: D102 - overridden
        pass

    def __enter__(self) -> ClosingBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessBackend(ClosingBackend):
    """Episodes in local worker processes that survive dead and hung workers.

    Each worker runs one episode at a time, so the parent always knows which seed a worker
    holds: a dead worker fails only that seed and a replacement process takes the worker's
    place; episodes queued behind it lose nothing. Workers are spawned (not forked), so PyBullet
    and torch state never leak between parent and workers; each uses one torch thread.

    Args:
        workers: Number of processes (>= 1); None for every core this process may use.
        timeout: Wall-clock limit (s) of one episode, counted from when the worker starts it
            (process start-up is not counted); a worker past it is killed and the attempt
            failed. None disables the limit.

    Raises:
        ValueError: On a bad ``workers`` or ``timeout``.
    """

    def __init__(self, workers: int | None = None, *,
                 timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.workers = _check_workers(workers)
        self.timeout = _check_timeout(timeout)

    def __repr__(self) -> str:
        return f"ProcessBackend(workers={self.workers}, timeout={self.timeout})"

    def close(self) -> None:
        """Nothing to release: workers live only inside :meth:`submit_all`."""

    def submit_all(self, fn: EpisodeFn, seeds: list[int]) -> Iterator[EpisodeOutcome]:
        """Run one attempt of ``fn`` for each seed; yield outcomes in completion order.

        Raises:
            ValueError: If ``fn`` cannot be pickled.
        """
        queue = deque(int(s) for s in seeds)
        if not queue:
            return
        fn_bytes = _pickle_fn(fn)
        ctx = mp.get_context("spawn")
        workers: list[_Worker] = []
        try:
            for _ in range(min(self.workers, len(queue))):
                workers.append(self._spawn(ctx, fn_bytes, queue))
            while any(w.seed is not None for w in workers):
                busy = [w for w in workers if w.seed is not None]
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                 self._wait_time(busy)))
                outcomes: list[EpisodeOutcome] = []
                for w in busy:
                    if w.conn in ready or w.proc.sentinel in ready:
                        self._drain(w)
                    outcomes.extend(w.done)
                    w.done.clear()
                    if w.seed is not None and not w.proc.is_alive():
                        outcomes.append(self._lost(w, f"WorkerDied: worker process exited "
                                                      f"with code {w.proc.exitcode}"))
                    elif w.seed is not None and self._overdue(w):
                        w.proc.kill()
                        outcomes.append(self._lost(w, f"TimeoutError: episode ran longer than "
                                                      f"{self.timeout:g} s; worker killed"))
                for i, w in enumerate(workers):
                    if w.seed is None and queue:
                        if w.proc.is_alive():
                            w.seed = queue.popleft()
                            _send(w.conn, w.seed)
                        else:
                            w.stop()
                            workers[i] = self._spawn(ctx, fn_bytes, queue)
                yield from outcomes
        finally:
            for w in workers:
                w.stop()

    def _spawn(self, ctx: Any, fn_bytes: bytes, queue: deque[int]) -> _Worker:
        """Start a worker process and hand it the next seed (it waits in the pipe)."""
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, fn_bytes), daemon=True,
                           name="liquid_ros-rollout")
        proc.start()
        child.close()
        w = _Worker(proc, parent, seed=queue.popleft())
        _send(parent, w.seed)
        return w

    def _drain(self, w: _Worker) -> None:
        """Read every message the worker has sent; a broken pipe means it died."""
        try:
            while w.conn.poll():
                kind, value = w.conn.recv()
                if kind == "start":
                    w.started = time.monotonic()
                else:
                    w.done.append(value)
                    w.seed, w.started = None, None
        except (EOFError, OSError):
            pass  # the process sentinel reports the death

    def _overdue(self, w: _Worker) -> bool:
        return (self.timeout is not None and w.started is not None
                and time.monotonic() - w.started > self.timeout)

    def _wait_time(self, busy: list[_Worker]) -> float | None:
        if self.timeout is None:
            return None
        # A worker still starting up has no deadline yet; look again shortly.
        left = [w.started + self.timeout - time.monotonic() if w.started is not None
                else 1.0 for w in busy]
        return max(0.0, min(left)) + 0.01

    @staticmethod
    def _lost(w: _Worker, error: str) -> EpisodeOutcome:
        """Fail the worker's seed; the dead process is replaced when a seed needs it."""
        w.proc.join()
        out = _failure(int(w.seed), error)  # type: ignore[arg-type]
        w.seed, w.started = None, None
        return out


def make_backend(workers: int | None = None, ray: str | None = None, *,
                 timeout: float | None = DEFAULT_TIMEOUT) -> Backend:
    """The back end a command line asks for.

    Args:
        workers: Parallel episodes; None for every local core (or, with a cluster, its CPUs).
        ray: None for local processes (the default); ``""`` or ``"local"`` for a local Ray
            instance; anything else is a Ray cluster address.
        timeout: Wall-clock limit (s) of one episode; None disables it.

    Returns:
        A :class:`ProcessBackend` or :class:`RayBackend`; call its ``close()`` when done.

    Raises:
        ImportError: If a Ray back end is asked for and Ray is not installed.
        ValueError: On a bad ``workers`` or ``timeout``.
    """
    if ray is None:
        return ProcessBackend(workers, timeout=timeout)
    from liquid_ros.rollouts.ray_backend import RayBackend

    return RayBackend(None if ray in ("", "local") else ray, workers, timeout=timeout)
