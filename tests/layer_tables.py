"""Hand-made `layers` tables in the engine's tidy format (run, step, layer, stat, value; text columns as
categoricals, like engine/training/tables.py makes them), for chart tests that need stats a short real run
cannot be trusted to give, or that the engine does not measure yet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

TEXT = ("run", "layer", "stat")


def layers_table(rows: Iterable[tuple[str, int, str, str, float]]) -> pd.DataFrame:
    """A layers table from (run, step, layer, stat, value) rows; NaN rows are left out, as the engine does."""
    table = pd.DataFrame(list(rows), columns=["run", "step", "layer", "stat", "value"])
    table = table[table["value"].notna()].reset_index(drop=True)
    for column in TEXT:
        table[column] = pd.Categorical(table[column])
    table["step"] = table["step"].astype(np.int64)
    return table


def per_layer(run: str, step: int, stat: str, values: Mapping[str, float]) -> list[tuple[str, int, str, str, float]]:
    """Rows of one stat of one run at one step, {layer: value}."""
    return [(run, step, layer, stat, float(value)) for layer, value in values.items()]
