"""The house rules of ARCHITECTURE.md, checked on the source: imports go one way, files stay small, and no
file cites a path that is not in the repo."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "app")
MAX_LINES = 400
# What building or training a model takes: the app only asks the engine's job runner for that.
MODEL_MODULES = ("torch.nn", "torch.optim", "engine.nets", "engine.training.trainer", "engine.api")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module a file imports at run time (imports under `if TYPE_CHECKING:` are for types only)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _starts_with(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("engine")])
def test_the_engine_imports_no_ui(name: str) -> None:
    ui = sorted(i for i in _imports(MODULES[name]) if _starts_with(i, ("streamlit", "plotly", "app")))
    assert not ui, f"{name} imports {ui}: the engine knows nothing of any UI"


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("app")])
def test_the_app_builds_and_trains_no_model(name: str) -> None:
    model = sorted(i for i in _imports(MODULES[name]) if _starts_with(i, MODEL_MODULES))
    assert not model, f"{name} imports {model}: the app asks the job runner for training, it never trains itself"


def test_there_are_no_import_cycles() -> None:
    graph = {name: {i for i in _imports(path) if i in MODULES and i != name} for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target] if target in path else [name, target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", list(MODULES))
def test_modules_stay_small_unless_they_say_why(name: str) -> None:
    text = MODULES[name].read_text()
    lines = text.count("\n")
    head = "\n".join(text.splitlines()[:15])
    assert lines <= MAX_LINES or "over 400 lines" in head, (
        f"{name} has {lines} lines: split it by idea, or say in its first lines why it is over 400 lines")


CITED = re.compile(r"(?<![\w/.-])((?:engine|app|tests|bench|presets|\.ci|\.streamlit)/[\w/.-]*[\w/]|"
                   r"[A-Z]+\.md|Dockerfile|requirements[\w-]*\.txt|pyproject\.toml)")


def test_every_cited_file_is_in_the_repo() -> None:
    sources = [p for p in ROOT.rglob("*") if p.suffix in (".py", ".md", ".yaml", ".toml", ".txt")
               and p.is_file() and not any(part.startswith(".") or part in ("runs", "node_modules")
                                           for part in p.relative_to(ROOT).parts)]
    missing = []
    for source in sources:
        for match in CITED.finditer(source.read_text(errors="replace")):
            cited = match.group(1).rstrip(".")
            if "*" in cited or cited.endswith("/"):
                continue
            if not (ROOT / cited).exists() and not (source.parent / cited).exists():
                missing.append(f"{source.relative_to(ROOT)} cites {cited}")
    assert not missing, "\n".join(sorted(set(missing)))


def test_the_checks_see_the_code() -> None:
    """The scans above read real modules: the engine's packages and the app's pages are all there."""
    assert {"engine.vocabulary.config", "engine.nets.stack", "engine.nets.fast_path", "engine.training.trainer",
            "engine.serving.jobs", "engine.lessons.presets", "app.main"} <= set(MODULES)
    assert "engine.vocabulary.config" in _imports(MODULES["engine.nets.stack"])
