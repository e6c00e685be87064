"""Layerscope's engine: build, train and measure small deep nets. Knows nothing of any UI."""

from engine.vocabulary.config import ConfigError, RunConfig, parse_run
from engine.vocabulary.group import GroupConfig, parse_group, parse_group_lenient, render_group

__all__ = ["ConfigError", "GroupConfig", "RunConfig", "parse_group", "parse_group_lenient", "parse_run",
           "render_group"]
from engine.api import TrainResult, train

__all__ += ["TrainResult", "train"]
