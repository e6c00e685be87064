"""The one vocabulary: every config key with its type, bounds, default and help text.

Links, preset files, the CLI's ``--set`` and (later) the sidebar widgets all go through this module:
parsing, validation, rendering back to a minimal mapping and the "what is allowed" texts are all
derived from the pydantic fields below, so a key is defined exactly once.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Mapping
from itertools import pairwise
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from engine.nets import activations, bugs, initializers, optimizers
from engine.vocabulary.layers import layer_names

Dataset = Literal["spiral", "circles", "xor", "gaussians", "moons", "checkerboard", "sine", "digits"]
ACTIVATIONS = activations.NAMES  # defined once, with their traits, in engine/nets/activations.py
Activation = Literal[ACTIVATIONS]
INITS = initializers.NAMES  # defined once, with descriptions, in engine/nets/initializers.py
Init = Literal[INITS]
Norm = Literal["none", "batch", "layer"]
OPTIMIZERS = optimizers.NAMES  # defined once, with descriptions, in engine/nets/optimizers.py
Optimizer = Literal[OPTIMIZERS]
Pretrain = Literal["none", "autoencoder", "rbm"]
Bug = Literal[bugs.NAMES]  # planted bugs, defined once in engine/nets/bugs.py (the Debug page's lab)
# What each choice of these keys does, in a line, for the Guide and the sidebar (from the same registries;
# the datasets' and norms' here, beside their names).
CHOICE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "dataset": {
        "spiral": "Two spiral arms wound 1.75 turns around each other, one per class: the hardest of the 2-D "
                  "problems.",
        "circles": "A disc of one class (radius up to 2) inside a ring of the other (radius 3.5 to 5).",
        "xor": "Points in a square, class 1 where x and y have the same sign: the four quadrants of XOR, which no "
               "single straight line separates.",
        "gaussians": "Two round clouds around (2, 2) and (-2, -2), one per class: a straight line separates them "
                     "until the noise makes them overlap.",
        "moons": "Two interlocking half circles, one per class.",
        "checkerboard": "A 4x4 board of squares of alternating classes: many small regions to carve out.",
        "sine": "Regression, not classes: one input x in [-π, π], the target sin(2x) plus noise; the loss is the "
                "mean squared error.",
        "digits": "scikit-learn's 1,797 handwritten digits: 8x8 pixels (64 inputs), 10 classes, always the same "
                  "points.",
    },
    "norm": {
        "none": "Each hidden layer's linear output goes straight into the activation.",
        "batch": "Batch norm: each unit is standardized over the minibatch, then scaled and shifted by learned "
                 "parameters; evaluation uses running averages of the minibatch statistics.",
        "layer": "Layer norm: each example is standardized across the layer's units, then scaled and shifted by "
                 "learned parameters; the same in training and evaluation.",
    },
    "pretrain": {
        "none": "No pre-training: fine-tuning starts from the initial weights.",
        "autoencoder": "Greedy layer-wise: each hidden layer in turn learns to reconstruct its input (the codes "
                       "of the frozen layers below) through a decoder of its own, then the whole net fine-tunes.",
        "rbm": "Greedy layer-wise: each hidden layer in turn is trained as a restricted Boltzmann machine on "
               "the codes of the frozen layers below (contrastive divergence), then the whole net fine-tunes.",
    },
    "activation": {name: spec.description for name, spec in activations.SPECS.items()},
    "init": {name: scheme.description for name, scheme in initializers.SCHEMES.items()},
    "optimizer": {name: rule.description for name, rule in optimizers.RULES.items()},
    "bug": {name: bug.description for name, bug in bugs.BUGS.items()},
}
SATURATING_ACTIVATIONS = activations.SATURATING
OPTIMIZER_STATE_TENSORS = {name: rule.state_tensors for name, rule in optimizers.RULES.items()}

MAX_LAYERS = 50
MAX_WIDTH = 1024
MAX_PARAMETERS = 5_000_000
MAX_RUNS = 4
RUN_IDS = ("a", "b", "c", "d")

# Keys that every run of a group shares: lock-step training feeds all runs the same batches.
GROUP_KEYS = ("dataset", "samples", "noise", "val_fraction", "test_fraction", "standardize", "labels", "batch_size",
              "steps", "probe_every")
MAX_PRETRAIN_EPOCHS = 100  # per layer: bounds one job's pre-training (engine/serving/cost.py counts it)

# Input and output sizes per dataset; the parameter cap needs them before any data is generated.
DATASET_SHAPES = {name: (2, 2) for name in get_args(Dataset)} | {"sine": (1, 1), "digits": (64, 10)}

_HIDDEN_ITEM = re.compile(r"^\s*(?:([0-9]+)\s*[x×*]\s*)?([0-9]+)\s*$")


class RunConfig(BaseModel):
    """One run: a net, its data, its training. Field descriptions double as the UI's help texts.

    The defaults are what Train does on a fresh Playground: a 3x32 tanh net with plain SGD learns the spiral
    (at least 95% validation accuracy at seeds 0-2, tests/test_defaults.py), crossing 95% around step
    3,000-5,000 of 10,000, so a person sees the charts move while it learns. Every preset states its lr and
    steps (tests/test_defaults.py), so these defaults can change without changing a lesson; links carry
    only non-default keys, so an old link without lr or steps now means the new values.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    # Each key's title is its name in words: the sidebar's label ("Learning rate · lr", `key_label`).
    dataset: Dataset = Field("spiral", title="Dataset", description="Which toy problem the net learns.")
    samples: int = Field(1000, ge=50, le=50_000, title="Points",
                         description="How many points to generate (digits has a fixed 1,797).")
    noise: float = Field(0.1, ge=0, le=1, title="Noise", description="How much the points are jittered.")
    val_fraction: float = Field(0.3, ge=0.05, le=0.9, title="Validation share",
                                description="Share of points held out for validation.")
    test_fraction: float = Field(0.0, ge=0, le=0.5, title="Test share", description="Share of the points outside "
                                 "validation held out for a test that only a search scores, once (0: none).")
    standardize: bool = Field(True, title="Standardize inputs",
                              description="Shift and scale inputs by the training split's mean and std.")
    labels: int = Field(
        0, ge=0, le=50_000, title="Labelled examples",
        description="How many training examples fine-tuning may use, 0 for all (pre-training sees every "
                    "training input, labelled or not).",
    )
    hidden: tuple[int, ...] = Field(
        (32, 32, 32), title="Hidden layers",
        description="Hidden layer widths, e.g. 32,32,32 or 8x32 (0-50 layers of width 1-1024).",
    )
    activation: Activation = Field("tanh", title="Activation", description="The nonlinearity of every hidden layer.")
    leak: float = Field(0.01, ge=0, le=1, title="Leak slope", description="Negative slope of leaky_relu.")
    init: Init = Field("default", title="Initialization", description="How the weights start.")
    init_std: float = Field(0.01, ge=0, le=10, title="Initial spread",
                            description="Std of 'normal', half-width of 'uniform'.")
    init_gain: float = Field(1.0, ge=0, le=100, title="Initial gain",
                             description="Multiplies the initial weights of any scheme.")
    norm: Norm = Field("none", title="Normalization",
                       description="Normalize each hidden layer's linear output before the activation.")
    dropout: float = Field(0.0, ge=0, le=0.9, title="Dropout",
                           description="Probability of dropping a hidden unit while training.")
    optimizer: Optimizer = Field("sgd", title="Optimizer", description="The update rule.")
    lr: float = Field(0.1, ge=1e-6, le=10, title="Learning rate",
                      description="Learning rate: the step size of every update.")
    momentum: float = Field(0.9, ge=0, le=0.999, title="Momentum",
                            description="Momentum of 'momentum' and 'nesterov'.")
    weight_decay: float = Field(0.0, ge=0, le=1, title="Weight decay (L2)", description="L2 penalty on the weights.")
    l1: float = Field(
        0.0, ge=0, le=1, title="L1 penalty",
        description="L1 penalty on the weights: after each update every weight moves lr x l1 toward 0 and stops "
                    "at 0, so small weights become exactly 0 (the threshold is lr x l1 with adaptive optimizers "
                    "too).",
    )
    batch_size: int = Field(32, ge=1, le=4096, title="Batch size", description="Training examples per update.")
    steps: int = Field(10_000, ge=1, le=200_000, title="Training steps", description="How many updates to train for.")
    early_stopping: int = Field(
        0, ge=0, le=1000, title="Early stopping patience",
        description="Stop after this many evaluations without a better validation loss (0: off).",
    )
    pretrain: Pretrain = Field(
        "none", title="Pre-training",
        description="Greedy layer-wise pre-training of the hidden layers before fine-tuning.",
    )
    pretrain_epochs: int = Field(10, ge=1, le=MAX_PRETRAIN_EPOCHS, title="Pre-training epochs",
                                 description="Epochs over the training inputs per hidden layer.")
    pretrain_lr: float = Field(0.2, ge=1e-6, le=10, title="Pre-training learning rate",
                               description="Step size of pre-training's plain SGD updates.")
    corruption: float = Field(
        0.2, ge=0, le=0.9, title="Corruption",
        description="Denoising autoencoder: the share of each input's entries set to 0 before encoding; the "
                    "reconstruction is scored on the clean input.",
    )
    cd_k: int = Field(1, ge=1, le=25, title="Gibbs steps (CD-k)",
                      description="Gibbs steps of contrastive divergence per RBM update.")
    persistent: bool = Field(False, title="Persistent chains",
                             description="Persistent CD: the negative chains continue from update to update.")
    bug: Bug = Field("none", title="Planted bug",
                     description="A classic implementation mistake planted in the engine, to catch with the Debug "
                                 "page's checks (none: the engine as it is).")
    seed: int = Field(0, ge=0, le=2**31 - 1, title="Random seed",
                      description="Fixes data, initial weights and batch order.")
    probe_every: int = Field(10, ge=1, le=1000, title="Measure every",
                             description="Measure every layer every this many steps.")

    @field_validator("hidden", mode="before")
    @classmethod
    def _parse_hidden(cls, value: Any) -> tuple[int, ...]:
        return parse_hidden(value)

    @field_validator("pretrain")
    @classmethod
    def _pretrain_without_norm(cls, value: str, info: ValidationInfo) -> str:
        norm = info.data.get("norm", "none")  # defined above pretrain, so already validated
        if value != "none" and norm != "none":
            raise ValueError(f"pre-training trains each layer without normalization, so it needs norm none "
                             f"(this run has norm {norm})")
        return value

    @model_validator(mode="after")
    def _cap_parameters(self) -> RunConfig:
        count = parameter_count(self)
        if count > MAX_PARAMETERS:
            raise ValueError(f"the net would have {count:,} parameters; at most {MAX_PARAMETERS:,} are allowed")
        return self

    @property
    def layer_names(self) -> list[str]:
        return layer_names(len(self.hidden))

    @property
    def is_regression(self) -> bool:
        return self.dataset == "sine"


def parse_hidden(value: Any) -> tuple[int, ...]:
    """`32,32,32`, `8x32`, `2x64,32`, a list of ints, or empty for no hidden layer."""
    if isinstance(value, bool):
        raise ValueError("expected layer widths such as 32,32,32 or 8x32")
    if isinstance(value, int):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        text = value.strip()
        if text in ("", "0", "none"):
            return ()
        if len(text) > 400:
            raise ValueError("too long: expected layer widths such as 32,32,32 or 8x32")
        items = []
        for part in text.split(","):
            match = _HIDDEN_ITEM.match(part)
            if not match:
                raise ValueError(f"cannot read {part.strip()!r}: expected widths such as 32,32,32 or 8x32")
            repeat = int(match.group(1)) if match.group(1) else 1
            if repeat == 0:
                raise ValueError(f"{part.strip()!r}: a layer count must be at least 1 (0 alone means no layers)")
            if repeat > MAX_LAYERS:
                raise ValueError(f"{repeat} layers: at most {MAX_LAYERS} hidden layers are allowed")
            items.extend([int(match.group(2))] * repeat)
    else:
        raise ValueError("expected layer widths such as 32,32,32 or 8x32")
    widths = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)) or not re.fullmatch(r"[0-9]+", str(item).strip()):
            raise ValueError(f"width {item!r} is not a whole number")
        widths.append(int(item))
    if len(widths) > MAX_LAYERS:
        raise ValueError(f"{len(widths)} layers: at most {MAX_LAYERS} hidden layers are allowed")
    for width in widths:
        if not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width {width}: each layer's width must be 1-{MAX_WIDTH}")
    return tuple(widths)


def format_hidden(widths: tuple[int, ...]) -> str:
    """The shortest text for a width list: `8x32` when all equal, `32,16` otherwise."""
    if not widths:
        return "0"
    if len(widths) > 1 and len(set(widths)) == 1:
        return f"{len(widths)}x{widths[0]}"
    return ",".join(str(w) for w in widths)


def layer_sizes(config: RunConfig) -> list[int]:
    n_in, n_out = DATASET_SHAPES[config.dataset]
    return [n_in, *config.hidden, n_out]


def parameter_count(config: RunConfig) -> int:
    sizes = layer_sizes(config)
    count = sum(a * b + b for a, b in pairwise(sizes))
    if config.norm != "none":
        count += 2 * sum(config.hidden)
    return count


# ---------------------------------------------------------------- errors that name key, value, allowed


class Problem(BaseModel):
    key: str
    value: str
    message: str
    allowed: str

    def __str__(self) -> str:
        return f"{_clip(self.key)}: got {self.value}: {self.message} (allowed: {self.allowed})"


class ConfigError(ValueError):
    """Every problem in one go: one bad key never hides the others."""

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{head}{len(problems)} invalid setting(s):\n{lines}")


def allowed_text(key: str) -> str:
    """What a key accepts, in words, derived from the field definition."""
    if key == "hidden":
        return f"widths such as 32,32,32 or 8x32: 0-{MAX_LAYERS} layers of width 1-{MAX_WIDTH}"
    if key == "label":
        return "a short name for the run, up to 40 characters (fewer with accents or emoji: 40 bytes)"
    field = RunConfig.model_fields.get(key)
    if field is None:
        return "one of " + ", ".join(all_keys())
    choices = get_args(field.annotation)
    if choices and all(isinstance(c, str) for c in choices):
        return "one of " + ", ".join(choices)
    if field.annotation is bool:
        return "true or false"
    lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    kind = "a whole number" if field.annotation is int else "a number"
    return f"{kind} from {_number(lo)} to {_number(hi)}"


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    if isinstance(value, float) and (abs(value) < 1e-3 and value != 0):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


_SHOWN = reprlib.Repr()  # bounded while it is built: a huge value is never rendered whole
_SHOWN.maxlevel, _SHOWN.maxdict, _SHOWN.maxlist, _SHOWN.maxtuple, _SHOWN.maxset = 2, 4, 4, 4, 4
_SHOWN.maxstring, _SHOWN.maxlong, _SHOWN.maxother = 56, 40, 56


def _shown(value: Any) -> str:
    try:
        text = _SHOWN.repr(value)
    except ValueError:  # an integer with more digits than Python will print
        text = f"<a {type(value).__name__} too long to show>"
    return _clip(text)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def all_keys() -> list[str]:
    return list(RunConfig.model_fields)


def key_label(key: str) -> str:
    """A key in words with the key beside it, as a label: "Learning rate · lr"."""
    return f"{RunConfig.model_fields[key].title} · {key}"


def _problems_from(error: ValidationError, prefix: str, given: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for item in error.errors():
        # An empty location is the model-level check, the parameter cap: it is about the net's shape.
        key = str(item["loc"][0]) if item["loc"] else "hidden"
        value = given.get(key, item.get("input"))
        if item["type"] == "extra_forbidden":
            message, allowed = "unknown key", "keys " + ", ".join(all_keys())
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            allowed = allowed_text(key)
        problems.append(Problem(key=prefix + key, value=_shown(value), message=message, allowed=allowed))
    return problems


def parse_run(mapping: Mapping[str, Any], prefix: str = "") -> RunConfig:
    """One run from a mapping of keys to strings or typed values; raises ConfigError."""
    cleaned = {str(k): _clean(v) for k, v in mapping.items()}
    try:
        return RunConfig.model_validate(cleaned)
    except ValidationError as error:
        raise ConfigError(_problems_from(error, prefix, {str(k): v for k, v in mapping.items()})) from None


def _clean(value: Any) -> Any:
    """Strings from links arrive padded or empty; YAML gives typed values, which pass through."""
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
            return math.nan  # pydantic then reports "finite number" for the right key
    return value


def render_run(config: RunConfig, base: RunConfig | None = None) -> dict[str, str]:
    """The keys where `config` differs from `base` (default: the defaults), as strings."""
    reference = base if base is not None else RunConfig()
    out = {}
    for key in all_keys():
        value = getattr(config, key)
        if value != getattr(reference, key):
            out[key] = to_text(key, value)
    return out


def to_text(key: str, value: Any) -> str:
    if key == "hidden":
        return format_hidden(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return str(value)
