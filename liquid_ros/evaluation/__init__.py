"""Judging policies: evaluation, comparison, replay and plots.

Modules: :mod:`.evaluate` (closed-loop evaluation in simulation), :mod:`.compare` (model
families side by side), :mod:`.replay` (open-loop replay of a recording), :mod:`.plots`.
"""
