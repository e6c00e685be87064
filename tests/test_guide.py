"""The Guide describes every choice the sidebar offers, read from the engine's registries."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.pages import GUIDE
from engine.vocabulary.config import ACTIVATIONS, INITS, OPTIMIZERS, SATURATING_ACTIVATIONS

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def test_the_guide_describes_every_activation_init_and_update_rule() -> None:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.switch_page(GUIDE.script).run()
    assert not app.exception
    tables = {t.value.columns[0]: t.value for t in app.table}
    assert list(tables["activation"]["activation"]) == list(ACTIVATIONS)
    assert list(tables["init"]["init"]) == list(INITS)
    assert list(tables["optimizer"]["optimizer"]) == list(OPTIMIZERS)
    for table in (tables["activation"], tables["init"], tables["optimizer"]):
        assert table["what it does"].str.len().min() > 30  # a sentence, not a placeholder
    saturates = dict(zip(tables["activation"]["activation"], tables["activation"]["saturates"]))
    assert {name for name, flag in saturates.items() if flag == "yes"} == set(SATURATING_ACTIVATIONS)
    assert saturates["sigmoid"] == "yes" and saturates["relu"] == "no"
