"""Neural circuit policy (NCP) wirings: sensory -> inter -> command -> motor.

Construction after Lechner et al., Nature Machine Intelligence 2020 (NCP), with the draws made in
the order of ncps 1.0.1 so a seed yields the same adjacency matrices in both packages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liquid_ros.models.wiring import Wiring, _check_int


class NCP(Wiring):
    """Four-layer sparse NCP wiring.

    Neuron ids: motor ``[0, M)``, command ``[M, M + C)``, inter ``[M + C, N)``.

    Args:
        inter_neurons: Number of inter neurons I (layer fed by the inputs).
        command_neurons: Number of command neurons C (recurrently connected).
        motor_neurons: Number of motor neurons M (the outputs).
        sensory_fanout: Synapses from each input to distinct inter neurons, ``<= I``.
        inter_fanout: Synapses from each inter neuron to distinct command neurons, ``<= C``.
        recurrent_command_synapses: Number of random command-to-command synapses.
        motor_fanin: Synapses into each motor neuron from distinct command neurons, ``<= C``.
        seed: Seed of the (legacy ``RandomState``) draws.
    """

    kind = "ncp"

    def __init__(
        self,
        inter_neurons: int,
        command_neurons: int,
        motor_neurons: int,
        sensory_fanout: int,
        inter_fanout: int,
        recurrent_command_synapses: int,
        motor_fanin: int,
        seed: int = 22222,
    ) -> None:
        n_inter = _check_int("inter_neurons", inter_neurons, 1)
        n_command = _check_int("command_neurons", command_neurons, 1)
        n_motor = _check_int("motor_neurons", motor_neurons, 1)
        super().__init__(n_inter + n_command + n_motor, n_motor)
        self.sensory_fanout = _check_int("sensory_fanout", sensory_fanout, 1)
        self.inter_fanout = _check_int("inter_fanout", inter_fanout, 1)
        self.recurrent_command_synapses = _check_int(
            "recurrent_command_synapses", recurrent_command_synapses, 0
        )
        self.motor_fanin = _check_int("motor_fanin", motor_fanin, 1)
        if self.sensory_fanout > n_inter:
            raise ValueError(
                f"sensory_fanout ({sensory_fanout}) exceeds inter_neurons ({inter_neurons})"
            )
        if self.inter_fanout > n_command:
            raise ValueError(
                f"inter_fanout ({inter_fanout}) exceeds command_neurons ({command_neurons})"
            )
        if self.motor_fanin > n_command:
            raise ValueError(
                f"motor_fanin ({motor_fanin}) exceeds command_neurons ({command_neurons})"
            )
        self.seed = int(seed)
        self._n = (n_inter, n_command, n_motor)
        self.motor_neurons = list(range(n_motor))
        self.command_neurons = list(range(n_motor, n_motor + n_command))
        self.inter_neurons = list(range(n_motor + n_command, self.units))
        self._rng = np.random.RandomState(self.seed)
        # ncps draws every synapse at build time, the inter-neuron ones after the sensory ones;
        # keeping that order is what makes seeds portable.

    @property
    def layers(self) -> list[list[int]]:
        """Inter, command and motor neuron ids (the wired CfC's three layers)."""
        return [self.inter_neurons, self.command_neurons, self.motor_neurons]

    def neuron_type(self, neuron: int) -> str:
        """Return "motor", "command" or "inter" for a neuron id."""
        if neuron < self._n[2]:
            return "motor"
        if neuron < self._n[2] + self._n[1]:
            return "command"
        return "inter"

    def _connect(self, matrix: np.ndarray, src: int, dest: int) -> None:
        matrix[src, dest] = self._rng.choice([-1, 1])

    def _fan(
        self, matrix: np.ndarray, sources: list[int], targets: list[int], fanout: int,
        source_side: bool, fanin_cap: int | None = None,
    ) -> None:
        """Connect each of ``sources`` to ``fanout`` of ``targets``, then the missed ones."""
        missed = list(targets)
        for src in sources:
            for dest in self._rng.choice(targets, size=fanout, replace=False):
                if dest in missed:
                    missed.remove(dest)
                if source_side:
                    self._connect(matrix, src, dest)
                else:
                    self._connect(matrix, dest, src)
        # Targets no source reached get as many synapses as an average target has.
        cap = len(sources) if fanin_cap is None else min(fanin_cap, len(sources))
        fanin = int(np.clip(int(len(sources) * fanout / len(targets)), 1, cap))
        for dest in missed:
            for src in self._rng.choice(sources, size=fanin, replace=False):
                if source_side:
                    self._connect(matrix, src, dest)
                else:
                    self._connect(matrix, dest, src)

    def _build_sensory(self) -> None:
        sensory = list(range(self.input_dim))
        self._fan(
            self.sensory_adjacency_matrix, sensory, self.inter_neurons, self.sensory_fanout, True
        )
        self._fan(
            self.adjacency_matrix, self.inter_neurons, self.command_neurons, self.inter_fanout,
            True, fanin_cap=len(self.command_neurons),  # ncps caps this one by the targets
        )
        for _ in range(self.recurrent_command_synapses):
            src = self._rng.choice(self.command_neurons)
            dest = self._rng.choice(self.command_neurons)
            self._connect(self.adjacency_matrix, src, dest)
        # Motor side: each motor neuron picks its command inputs (fan-in), then unused command
        # neurons get motor targets; i.e. the fan with the roles of src and dest swapped.
        self._fan(
            self.adjacency_matrix, self.motor_neurons, self.command_neurons, self.motor_fanin,
            False,
        )

    def _params(self) -> dict[str, Any]:
        n_inter, n_command, n_motor = self._n
        return {
            "inter_neurons": n_inter,
            "command_neurons": n_command,
            "motor_neurons": n_motor,
            "sensory_fanout": self.sensory_fanout,
            "inter_fanout": self.inter_fanout,
            "recurrent_command_synapses": self.recurrent_command_synapses,
            "motor_fanin": self.motor_fanin,
            "seed": self.seed,
        }


class AutoNCP(NCP):
    """An NCP sized from the number of neurons and outputs.

    40 % of the non-motor neurons are command neurons, the rest inter neurons; fan-outs scale
    with the density ``1 - sparsity_level``.

    Args:
        units: Total number of neurons N.
        output_size: Number of motor neurons, ``< units - 2``.
        sparsity_level: In [0.1, 1.0]; higher means fewer synapses.
        seed: Seed of the wiring draws.
    """

    kind = "auto_ncp"

    def __init__(
        self, units: int, output_size: int, sparsity_level: float = 0.5, seed: int = 22222
    ) -> None:
        units = _check_int("units", units, 4)
        output_size = _check_int("output_size", output_size, 1)
        if output_size >= units - 2:
            raise ValueError(
                f"output_size ({output_size}) must be < units - 2 (units={units})"
            )
        if not 0.1 <= float(sparsity_level) <= 1.0:
            raise ValueError(f"sparsity_level must be in [0.1, 1.0], got {sparsity_level}")
        self.output_size = output_size
        self.sparsity_level = float(sparsity_level)
        density = 1.0 - self.sparsity_level
        n_rest = units - output_size
        n_command = max(int(0.4 * n_rest), 1)
        n_inter = n_rest - n_command
        super().__init__(
            n_inter,
            n_command,
            output_size,
            sensory_fanout=max(int(n_inter * density), 1),
            inter_fanout=max(int(n_command * density), 1),
            recurrent_command_synapses=max(int(n_command * density * 2), 1),
            motor_fanin=max(int(n_command * density), 1),
            seed=seed,
        )

    def _params(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_size": self.output_size,
            "sparsity_level": self.sparsity_level,
            "seed": self.seed,
        }
