"""`--set KEY=VALUE` items, read the same way by every command of `python -m engine` (run, words)."""

from __future__ import annotations

from typing import Any

from engine.vocabulary.config import Problem


def read_settings(items: list[str], mapping: dict[str, Any], problems: list[Problem], example: str) -> None:
    """Put each KEY=VALUE into `mapping` (later ones win); a malformed item becomes a problem naming --set,
    with `example` (e.g. "lr=0.1") as what is allowed."""
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem(key="--set", value=repr(item), message="expected KEY=VALUE",
                                    allowed=f"e.g. --set {example}"))
            continue
        mapping[key.strip()] = value
