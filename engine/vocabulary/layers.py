"""Layer names, the one place they are spelled: hidden layers h1..hL from the input up, then `out`."""

from __future__ import annotations

OUTPUT = "out"


def hidden_names(depth: int) -> list[str]:
    """h1..h{depth}: the hidden layers, input side first."""
    return [f"h{i}" for i in range(1, depth + 1)]


def layer_names(depth: int) -> list[str]:
    """Every linear layer of a net with `depth` hidden layers: h1..h{depth}, then out."""
    return [*hidden_names(depth), OUTPUT]


def depth_key(name: str) -> tuple[int, int, str]:
    """A sort key that puts layers in depth order: h1, h2, ..., h10, then out, then any other name."""
    if name.startswith("h") and name[1:].isdigit():
        return (0, int(name[1:]), "")
    return (1, 0, "") if name == OUTPUT else (2, 0, name)
