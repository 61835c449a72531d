"""Wirings: which neuron connects to which, as pure seeded numpy data.

A wiring holds an (N, N) adjacency matrix between neurons and an (S, N) sensory adjacency
matrix from the S input features, with entries in {-1, 0, +1} (0: no synapse; the sign is the
synapse polarity: +1 excitatory, -1 inhibitory). Neurons ``0 .. output_dim - 1`` are the motor
(output) neurons. ``layers`` lists the neuron ids of each layer in feed-forward order; the
wired CfC uses it.

The NCP construction follows Lechner et al., "Neural circuit policies enabling auditable
autonomy", Nature Machine Intelligence 2020. The random draws are made in the same order as
in the ncps package (1.0.1), so a seed gives the same circuit there and here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KINDS: dict[str, type[Wiring]] = {}


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Wiring:
    """A wiring given by explicit adjacency matrices.

    Args:
        units: Number of neurons N.
        output_dim: Number of motor neurons (the outputs), ``1 <= output_dim <= units``.
        adjacency_matrix: (N, N) polarities, ``[src, dest]``; zeros when None.
        sensory_adjacency_matrix: (S, N) polarities ``[input, dest]``; set by ``build``.
        layers: Neuron ids per layer in feed-forward order (default: one layer of all).
    """

    kind = "custom"

    def __init__(
        self,
        units: int,
        output_dim: int | None = None,
        adjacency_matrix: np.ndarray | None = None,
        sensory_adjacency_matrix: np.ndarray | None = None,
        layers: list[list[int]] | None = None,
    ) -> None:
        self.units = _check_int("units", units, 1)
        if layers is not None:
            flat = sorted(int(i) for layer in layers for i in layer)
            if flat != list(range(self.units)) or any(len(layer) == 0 for layer in layers):
                raise ValueError("layers must partition the neuron ids 0..units-1, none empty")
            layers = [[int(i) for i in layer] for layer in layers]
        self._layers = layers
        output_dim = self.units if output_dim is None else output_dim
        self.output_dim = _check_int("output_dim", output_dim, 1)
        if self.output_dim > self.units:
            raise ValueError(f"output_dim ({output_dim}) must be <= units ({units})")
        self.adjacency_matrix = np.zeros((self.units, self.units), dtype=np.int32)
        if adjacency_matrix is not None:
            self.adjacency_matrix = self._polarity_matrix(
                "adjacency_matrix", adjacency_matrix, (self.units, self.units)
            )
        self.sensory_adjacency_matrix: np.ndarray | None = None
        self.input_dim: int | None = None
        if sensory_adjacency_matrix is not None:
            sensory = np.asarray(sensory_adjacency_matrix)
            if sensory.ndim != 2:
                raise ValueError("sensory_adjacency_matrix must be 2-D (inputs, units)")
            self.input_dim = int(sensory.shape[0])
            self.sensory_adjacency_matrix = self._polarity_matrix(
                "sensory_adjacency_matrix", sensory, (self.input_dim, self.units)
            )

    @staticmethod
    def _polarity_matrix(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
        matrix = np.asarray(value)
        if matrix.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {matrix.shape}")
        if not np.isin(matrix, (-1, 0, 1)).all():
            raise ValueError(f"{name} entries must be -1, 0 or +1")
        return matrix.astype(np.int32)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.kind] = cls

    @property
    def layers(self) -> list[list[int]]:
        """Neuron ids of each layer in feed-forward order (one layer unless structured)."""
        if self._layers is not None:
            return [list(layer) for layer in self._layers]
        return [list(range(self.units))]

    def neuron_type(self, neuron: int) -> str:
        """Return "motor", "command" or "inter" for a neuron id."""
        return "motor" if neuron < self.output_dim else "inter"

    def is_built(self) -> bool:
        """Whether the number of inputs (and the sensory synapses) is known."""
        return self.input_dim is not None

    def build(self, input_dim: int) -> Wiring:
        """Fix the number of inputs and draw the sensory synapses; idempotent.

        Raises:
            ValueError: if the wiring was built before with another input size.
        """
        input_dim = _check_int("input_dim", input_dim, 1)
        if self.input_dim is not None:
            if self.input_dim != input_dim:
                raise ValueError(
                    f"wiring was built for input_dim={self.input_dim}, got input_dim={input_dim}"
                )
            return self
        self.input_dim = input_dim
        self.sensory_adjacency_matrix = np.zeros((input_dim, self.units), dtype=np.int32)
        self._build_sensory()
        return self

    def _build_sensory(self) -> None:
        """Draw the sensory synapses (subclasses); the base class connects nothing."""

    @property
    def synapse_count(self) -> int:
        """Number of neuron-to-neuron synapses."""
        return int(np.abs(self.adjacency_matrix).sum())

    @property
    def sensory_synapse_count(self) -> int:
        """Number of input-to-neuron synapses (0 before ``build``)."""
        if self.sensory_adjacency_matrix is None:
            return 0
        return int(np.abs(self.sensory_adjacency_matrix).sum())

    def _params(self) -> dict[str, Any]:
        return {"units": self.units, "output_dim": self.output_dim, "layers": self._layers}

    def to_dict(self) -> dict[str, Any]:
        """Return a plain (JSON- and ``weights_only``-safe) dict of the wiring."""
        sensory = self.sensory_adjacency_matrix
        return {
            "kind": self.kind,
            "params": self._params(),
            "input_dim": self.input_dim,
            "adjacency_matrix": self.adjacency_matrix.tolist(),
            "sensory_adjacency_matrix": None if sensory is None else sensory.tolist(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Wiring:
        """Rebuild a wiring from ``to_dict`` output (the stored matrices win over the seed).

        Raises:
            ValueError: on an unknown kind or malformed data.
        """
        if not isinstance(data, dict) or "kind" not in data or "params" not in data:
            raise ValueError("wiring dict must hold 'kind' and 'params'")
        cls = _KINDS.get(data["kind"])
        if cls is None:
            raise ValueError(f"unknown wiring kind {data['kind']!r}; known: {sorted(_KINDS)}")
        wiring = cls(**data["params"])
        adjacency = data.get("adjacency_matrix")
        if adjacency is not None:
            wiring.adjacency_matrix = wiring._polarity_matrix(
                "adjacency_matrix", adjacency, (wiring.units, wiring.units)
            )
        sensory = data.get("sensory_adjacency_matrix")
        if sensory is not None:
            sensory = np.asarray(sensory)
            wiring.input_dim = int(sensory.shape[0])
            wiring.sensory_adjacency_matrix = wiring._polarity_matrix(
                "sensory_adjacency_matrix", sensory, (wiring.input_dim, wiring.units)
            )
        elif data.get("input_dim") is not None:
            wiring.build(int(data["input_dim"]))
        return wiring

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params}, input_dim={self.input_dim})"


_KINDS["custom"] = Wiring


class FullyConnected(Wiring):
    """Every neuron (and, after ``build``, every input) connects to every neuron.

    Polarities are drawn +1 with probability 2/3 and -1 otherwise.

    Args:
        units: Number of neurons.
        output_dim: Number of motor neurons (default: all).
        erev_init_seed: Seed of the polarity draws.
        self_connections: Whether a neuron synapses onto itself.
    """

    kind = "fully_connected"

    def __init__(
        self,
        units: int,
        output_dim: int | None = None,
        erev_init_seed: int = 1111,
        self_connections: bool = True,
    ) -> None:
        super().__init__(units, output_dim)
        self.erev_init_seed = int(erev_init_seed)
        self.self_connections = bool(self_connections)
        self._rng = np.random.default_rng(self.erev_init_seed)
        for src in range(self.units):
            for dest in range(self.units):
                if src == dest and not self.self_connections:
                    continue
                self.adjacency_matrix[src, dest] = self._rng.choice([-1, 1, 1])

    def _build_sensory(self) -> None:
        for src in range(self.input_dim):
            for dest in range(self.units):
                self.sensory_adjacency_matrix[src, dest] = self._rng.choice([-1, 1, 1])

    def _params(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_dim": self.output_dim,
            "erev_init_seed": self.erev_init_seed,
            "self_connections": self.self_connections,
        }


class Random(Wiring):
    """A random sparse wiring: a fraction ``1 - sparsity_level`` of all synapses exists.

    Args:
        units: Number of neurons.
        output_dim: Number of motor neurons (default: all).
        sparsity_level: Fraction of absent synapses, in [0, 1).
        random_seed: Seed of the draws.
    """

    kind = "random"

    def __init__(
        self,
        units: int,
        output_dim: int | None = None,
        sparsity_level: float = 0.0,
        random_seed: int = 1111,
    ) -> None:
        super().__init__(units, output_dim)
        if not 0.0 <= float(sparsity_level) < 1.0:
            raise ValueError(f"sparsity_level must be in [0, 1), got {sparsity_level}")
        self.sparsity_level = float(sparsity_level)
        self.random_seed = int(random_seed)
        self._rng = np.random.default_rng(self.random_seed)
        count = int(np.round(self.units * self.units * (1.0 - self.sparsity_level)))
        pairs = [(s, d) for s in range(self.units) for d in range(self.units)]
        for src, dest in self._rng.choice(pairs, size=count, replace=False):
            self.adjacency_matrix[src, dest] = self._rng.choice([-1, 1, 1])

    def _build_sensory(self) -> None:
        count = int(np.round(self.input_dim * self.units * (1.0 - self.sparsity_level)))
        pairs = [(s, d) for s in range(self.input_dim) for d in range(self.units)]
        for src, dest in self._rng.choice(pairs, size=count, replace=False):
            # Two draws per synapse, the second kept, so that seeds match ncps 1.0.1.
            self._rng.choice([-1, 1, 1])
            self.sensory_adjacency_matrix[src, dest] = self._rng.choice([-1, 1, 1])

    def _params(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_dim": self.output_dim,
            "sparsity_level": self.sparsity_level,
            "random_seed": self.random_seed,
        }
