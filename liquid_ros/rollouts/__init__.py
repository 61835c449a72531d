"""Simulated episodes over many seeds: runner, back ends, expert and learner episodes.

Modules: :mod:`.runner` (``run_episodes``, the ``Backend`` interface, ``LocalBackend``),
:mod:`.backends` (worker processes, Ray), :mod:`.episodes` (expert episodes, perturbations),
:mod:`.policy_episode` (a policy flying an episode), :mod:`.collect` (expert datasets).
"""
