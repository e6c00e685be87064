"""The charts of the training pages, by name: the one list of chart names, with what each one plots.

The app draws them (app/playground.py and app/compare.py name their figures with these names, and
app/help_texts.py has a caption for each); a preset names the one its story points to (`key_chart`),
and the Gallery's card for the preset plots one of that chart's quantities from the stored preview
(engine/lessons/previews.py). The engine cannot import the app, so the list lives here.

A quantity is what a card can plot from a preview: a curve over the steps (`val_loss`, `train_loss`,
`val_accuracy`) or a layer stat across depth (`grad_preact_rms`, `dead_frac`, ...; engine/training/probes.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from engine.nets import activations
from engine.vocabulary.group import GroupConfig

# What a card can plot, in plain words (the card's caption). Curves are over the steps; the rest are per
# layer, across depth, at the first and at the last probe step of the preview.
CURVES = {
    "val_loss": "Validation loss",
    "train_loss": "Training loss (the minibatch)",
    "val_accuracy": "Validation accuracy",
}
DEPTH_STATS = {
    "grad_preact_rms": "Back-propagated gradient |dL/dz| per layer",
    "dead_frac": "Dead units per layer",
    "saturated_frac": "Saturated entries per layer (flat tails of sigmoid, tanh)",
    "act_std": "Spread (std) of the activations per layer",
    "update_ratio": "Update ratio per layer",
    "zero_frac": "Share of the weights exactly 0 per layer",
    "weight_rms": "Size (RMS) of the weights per layer",
}
QUANTITIES = {**CURVES, **DEPTH_STATS}


@dataclass(frozen=True)
class Chart:
    title: str  # the heading above it on its page
    quantities: tuple[str, ...]  # what it plots, of QUANTITIES; the first is what a card shows by default
    one_run: bool  # drawn on the Playground (one run)
    comparison: bool  # drawn on the Compare page (two to four runs)
    # drawn only on a group that has this (one of NEEDS, see `group_has`); None: on every group. A chart with a
    # condition may plot no card quantity (its data is not in a preview), and then no preset can point to it.
    needs: str | None = None


# What a chart may need of its group, in words (`group_has` decides from the group's config).
NEEDS = {
    "pretrain": "a run that pre-trains (pretrain autoencoder or rbm)",
    "rbm": "a run that pre-trains with an RBM (pretrain rbm)",
    "filters": "digits (the first layer's weights are 8x8 images) or a run that pre-trains",
}


CHARTS: dict[str, Chart] = {
    # the net at a glance: one column per layer, coloured by the quantity chosen beside it
    "network": Chart("The net at a glance", ("grad_preact_rms", "saturated_frac", "dead_frac", "act_std"), True, True),
    "loss": Chart("Loss and accuracy", ("val_loss", "train_loss", "val_accuracy"), True, True),
    # what the net computes: how well its map or curve fits the held-out points is its validation accuracy
    "output": Chart("What the net computes", ("val_accuracy",), True, True),
    "grad_depth": Chart("Gradient magnitude across depth", ("grad_preact_rms",), True, True),
    "grad_time": Chart("Gradient magnitude over time", ("grad_preact_rms",), True, False),
    "grad_hist": Chart("Gradient histograms over time", ("grad_preact_rms",), True, False),
    "grad_time_runs": Chart("Gradient size over time, run by run", ("grad_preact_rms",), False, True),
    "act_time": Chart("Activations over time", ("act_std",), True, False),
    "act_now": Chart("Activations across depth", ("act_std",), True, False),
    "act_grid": Chart("Activations over time, side by side", ("act_std",), False, True),
    # the gradient as a product of one factor per layer (backward_gain), with the running product and the slopes
    "backprop": Chart("Backprop as a product", ("grad_preact_rms",), True, True),
    "saturation": Chart("Saturation and dead units", ("saturated_frac", "dead_frac"), True, False),
    "saturation_depth": Chart("Saturation and dead units across depth", ("saturated_frac", "dead_frac"),
                              False, True),
    # each run's weight size and share of weights exactly 0 per layer, with what a penalty did, in words
    "weights": Chart("Weights across depth", ("zero_frac", "weight_rms"), True, True),
    "update": Chart("Update ratio", ("update_ratio",), True, False),
    # greedy pre-training (issue 13): each layer's reconstruction error over its epochs, the probe of its code
    "pretraining": Chart("Pre-training, layer by layer", (), True, True, needs="pretrain"),
    # at step 0, where fine-tuning starts: a pre-trained net's activation spread and gradient size across depth
    # beside a random one's
    "start": Chart("Where fine-tuning starts: step 0", ("act_std", "grad_preact_rms"), True, True,
                   needs="pretrain"),
    # the first layer's weights, one image per unit (digits) or arrows in the input plane
    "filters": Chart("The first layer's weights", (), True, True, needs="filters"),
    # an RBM's samples by Gibbs sampling from the model, after h1's phase
    "fantasies": Chart("What the RBM dreams up", (), True, True, needs="rbm"),
}


def group_has(group: GroupConfig) -> set[str]:
    """What of NEEDS the group has, from its runs' configs."""
    methods = {run.pretrain for run in group.runs} - {"none"}
    has = {"pretrain"} if methods else set()
    has |= {"rbm"} if "rbm" in methods else set()
    has |= {"filters"} if methods or any(run.dataset == "digits" for run in group.runs) else set()
    return has


def charts_for(runs: int, has: Collection[str] = ()) -> list[str]:
    """The names of the charts on the page a group of `runs` runs opens on, `has` what of NEEDS it has
    (`group_has`): a page without pre-training on spiral draws none of the pre-training charts."""
    return [name for name, chart in CHARTS.items() if (chart.comparison if runs > 1 else chart.one_run)
            and (chart.needs is None or chart.needs in has)]


# Where an activation is flat, and so which stat counts its stuck entries (ARCHITECTURE.md, "What is measured"):
# engine/nets/activations.py's `tails` of each activation decides; this maps it to the stat and to words.
FLAT_STAT = {activations.BOTH_TAILS: "saturated_frac", activations.NEGATIVE_TAIL: "inactive_frac"}
FLAT_STATS = {"saturated_frac": "both tails", "inactive_frac": "negative side"}  # stat -> where it counts


def flat_stat(activation: str) -> str | None:
    """The stat that counts `activation`'s stuck entries: saturated_frac, inactive_frac, or None (linear)."""
    return FLAT_STAT.get(activations.SPECS[activation].tails)


def flat_tails(activation: str) -> str:
    """Where `activation` is flat, in words: 'both tails', 'negative side' or 'none'."""
    stat = flat_stat(activation)
    return FLAT_STATS[stat] if stat else "none"
