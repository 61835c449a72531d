"""Draw a wiring (matplotlib, Agg canvas; pyplot and the global backend are left alone)."""

from __future__ import annotations

import os

import numpy as np

from liquid_ros.models.wiring import Wiring

_COLORS = {"sensory": "tab:olive", "inter": "tab:blue", "command": "tab:purple",
           "motor": "tab:orange"}


def plot_wiring(wiring: Wiring, path: str | os.PathLike | None = None, ax=None):
    """Draw neurons in columns (sensory, then each layer) and synapses coloured by polarity.

    Excitatory synapses are green, inhibitory red; recurrent synapses within a column are
    drawn as arcs.

    Args:
        wiring: A built wiring.
        path: If given, save the figure there (format from the suffix, e.g. ``.png``).
        ax: Optional matplotlib Axes to draw into; a new Agg figure otherwise.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: if the wiring is not built.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    if not wiring.is_built():
        raise ValueError("wiring must be built (call wiring.build(input_dim)) before plotting")
    if ax is None:
        fig = Figure(figsize=(8, 5))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    columns = [[("sensory", i) for i in range(wiring.input_dim)]]
    columns += [[("neuron", i) for i in layer] for layer in wiring.layers]
    pos: dict[tuple[str, int], tuple[float, float]] = {}
    for x, column in enumerate(columns):
        ys = np.linspace(0.0, 1.0, len(column) + 2)[1:-1]
        for node, y in zip(column, ys, strict=True):
            pos[node] = (float(x), float(y))
    edges = [(("sensory", s), ("neuron", d), p)
             for s, d in zip(*np.nonzero(wiring.sensory_adjacency_matrix), strict=True)
             for p in [wiring.sensory_adjacency_matrix[s, d]]]
    edges += [(("neuron", s), ("neuron", d), p)
              for s, d in zip(*np.nonzero(wiring.adjacency_matrix), strict=True)
              for p in [wiring.adjacency_matrix[s, d]]]
    for src, dest, polarity in edges:
        color = "tab:green" if polarity > 0 else "tab:red"
        (x0, y0), (x1, y1) = pos[src], pos[dest]
        bend = "arc3,rad=0.4" if x0 == x1 else "arc3,rad=0.0"
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=bend, color=color,
                                     alpha=0.35, arrowstyle="-|>", mutation_scale=6, lw=0.6))
    for node, (x, y) in pos.items():
        kind = "sensory" if node[0] == "sensory" else wiring.neuron_type(node[1])
        ax.scatter([x], [y], s=60, color=_COLORS.get(kind, "tab:gray"), zorder=3)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=k) for k, c in _COLORS.items()]
    handles += [Line2D([], [], color="tab:green", label="excitatory"),
                Line2D([], [], color="tab:red", label="inhibitory")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_axis_off()
    ax.set_title(f"{type(wiring).__name__}: {wiring.units} neurons, {wiring.input_dim} inputs, "
                 f"{wiring.synapse_count + wiring.sensory_synapse_count} synapses")
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig
