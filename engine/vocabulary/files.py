"""Reading a YAML file of keys (a preset, a `--config` file) without letting the file exhaust the machine.

Three bounds, each checked before the work it guards: the file's size before it is read, YAML aliases (the
"billion laughs" bomb: a few hundred bytes that expand to gigabytes) refused while parsing, and nesting depth.
Every refusal is a ConfigError naming the file, what was found and what is allowed, in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.vocabulary.config import ConfigError, Problem

MAX_FILE_BYTES = 256 * 1024  # the largest preset is about 3 KB
MAX_DEPTH = 8  # mappings and lists inside each other; a preset nests 4 deep


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (`*name`) and nesting deeper than MAX_DEPTH."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"line {mark.line + 1}: YAML aliases (*name) are not allowed")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml_file(path: str | Path, key: str, allowed: str) -> Any:
    """The parsed contents of a small YAML file; ConfigError naming `key` (e.g. --config) otherwise."""
    file = Path(path)

    def refuse(message: str) -> ConfigError:
        shown = str(path) if len(str(path)) <= 80 else "..." + str(path)[-77:]  # the file's name stays in view
        return ConfigError([Problem(key=key, value=repr(shown), message=message, allowed=allowed)])

    try:
        size = file.stat().st_size
        if not file.is_file():
            raise refuse("not a file")
    except OSError:
        raise refuse("no such file") from None
    if size > MAX_FILE_BYTES:
        raise refuse(f"the file has {size:,} bytes; at most {MAX_FILE_BYTES:,} are read")
    try:
        text = file.read_bytes().decode("utf-8")
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader, further bounded
    except OSError as error:
        raise refuse(f"cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:  # ValueError: an unprintably long number
        raise refuse(str(error).splitlines()[0]) from None
