"""Make `import engine` work however pytest is started (`.venv/bin/pytest` does not put the root on sys.path)."""

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
