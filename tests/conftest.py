"""Make `import engine` work however pytest is started (`.venv/bin/pytest` does not put the root on sys.path),
and the fixtures several test modules share: a live server and browser, and real runs for the chart tests."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# One torch thread per process, as the engine's workers run: small nets gain nothing from more, and two
# processes on two cores with default threads ran many times slower here.
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def server():
    """A real Streamlit server for a browser test module (bench/live_server.py)."""
    from bench.live_server import serve

    with serve() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, for a browser test module."""
    from bench.live_server import chromium

    with chromium() as launched:
        yield launched


# Real runs for the chart tests (tests/chart_helpers.py), trained once per session and shared by
# the chart test modules, as they were when those tests were one module; no test may change them.


@pytest.fixture(scope="session")
def deep():
    """One 10-layer classification run with a full history (256 probe steps)."""
    return _chart_run({"dataset": "spiral", "hidden": "10x8", "activation": "tanh", "steps": 510, "probe_every": 2,
                       "samples": 400})


@pytest.fixture(scope="session")
def group():
    """Three runs side by side (relu, sigmoid, tanh), labelled."""
    return _chart_run({"dataset": "moons", "hidden": "4x8", "activation": "relu", "steps": 150, "probe_every": 5,
                       "samples": 300, "b.activation": "sigmoid", "c.activation": "tanh", "b.label": "sigmoid"})


@pytest.fixture(scope="session")
def sine():
    return _chart_run({"dataset": "sine", "hidden": "2x16", "steps": 100, "probe_every": 10, "samples": 200,
                       "b.activation": "relu"})


@pytest.fixture(scope="session")
def digits():
    return _chart_run({"dataset": "digits", "hidden": "16", "activation": "relu", "optimizer": "adam", "lr": 0.01,
                       "steps": 60, "probe_every": 10})


@pytest.fixture(scope="session")
def dead():
    """Run a: ReLU from all-zero weights, so every hidden unit's slope is exactly 0 and no gradient reaches a
    hidden layer at all; run b the same net from He init, alive."""
    return _chart_run({"dataset": "moons", "hidden": "3x8", "activation": "relu", "init": "zeros", "steps": 60,
                       "probe_every": 5, "samples": 200, "b.init": "he_normal"})


@pytest.fixture(scope="session")
def diverged():
    return _chart_run({"dataset": "sine", "lr": 10, "hidden": "3x16", "steps": 200, "probe_every": 5})


def _chart_run(config: dict):
    """Trains a run for the chart tests; imported here, on first use, so other tests do not load it."""
    from tests.chart_helpers import train_run

    return train_run(config)
