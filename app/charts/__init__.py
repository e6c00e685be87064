"""Chart builders: pure functions from the engine's tidy tables to Plotly figures.

No Streamlit here, so every chart is testable without a server. Each builder takes the tables
(`scalars`, `layers`, `hists`; see engine/training/tables.py), a `Prediction`, or dataset arrays, and returns a
`plotly.graph_objects.Figure`. An empty table gives an empty figure that says "Waiting for data";
NaN and inf (diverged runs) become gaps, never exceptions. Figures stay cheap to build and to send
(each module states its budgets); layers are always in depth order (h1, h2, ..., h10, out); runs keep
one colour everywhere (`run_color`).

One module per family of charts:

- style: run colours and labels, the template, figures from plain dicts, subplot grids, the presenter's
  larger figures (`projected`).
- arrays: the tables read into numpy arrays, once per table (`hist_cube`), and the array helpers.
- curves: lines over steps: loss and accuracy; gradient size, saturation and update ratio per layer; gradient
  size per run side by side.
- depth: every layer at one step, input to output: gradient size and saturation per run, the depth profile.
- backprop: the gradient as a product of one factor per layer, with the running product and the slopes.
- weights: weights across depth: each run's weight size and share of weights exactly 0.
- histograms: histograms over time as heatmaps, one run stacked or several side by side.
- network: the net at a glance: one column per layer, coloured by a per-layer quantity.
- predictions: what the net computes: decision boundary, predicted curve or confusion matrix.
- pretraining: greedy pre-training's reconstruction error per layer and the probe of each layer's code.
- tiles: images in a grid per run: the first layer's weights (filters) and an RBM's fantasy samples.

The captions under the charts live with the Guide's texts in app/help_texts.py. Four charts also have words
that say, per run, what their numbers show (`backprop_words`, `weight_words`, `pretraining_words`,
`filters_words`, `fantasies_words`): plain text, which the page shows above the chart (app/layout.py `chart`),
where the browser wraps it; a figure's own text never wraps and is cut off on a phone.
"""

from app.charts.arrays import HistCube, depth_key, depth_order, hist_cube
from app.charts.backprop import backprop_figure, backprop_words, running_product
from app.charts.curves import (
    gradient_time_figure,
    gradient_time_grid,
    loss_accuracy_figure,
    saturation_figure,
    update_ratio_figure,
)
from app.charts.depth import depth_profile, gradient_depth_figure, saturation_depth_figure, start_depth_figure
from app.charts.histograms import histogram_grid, histogram_heatmap
from app.charts.network import NETWORK_QUANTITIES, network_color_range, network_figure, network_figures
from app.charts.predictions import prediction_figure
from app.charts.pretraining import (
    fantasies_figure,
    fantasies_words,
    filters_figure,
    filters_words,
    pretraining_figure,
    pretraining_words,
)
from app.charts.style import RUN_COLORS, projected, run_color, run_label, waiting_figure
from app.charts.weights import weight_words, weights_figure

__all__ = [
    "NETWORK_QUANTITIES",
    "RUN_COLORS",
    "HistCube",
    "backprop_figure",
    "backprop_words",
    "depth_key",
    "depth_order",
    "depth_profile",
    "fantasies_figure",
    "fantasies_words",
    "filters_figure",
    "filters_words",
    "gradient_depth_figure",
    "gradient_time_figure",
    "gradient_time_grid",
    "hist_cube",
    "histogram_grid",
    "histogram_heatmap",
    "loss_accuracy_figure",
    "network_color_range",
    "network_figure",
    "network_figures",
    "prediction_figure",
    "pretraining_figure",
    "pretraining_words",
    "projected",
    "run_color",
    "run_label",
    "running_product",
    "saturation_depth_figure",
    "saturation_figure",
    "start_depth_figure",
    "update_ratio_figure",
    "waiting_figure",
    "weight_words",
    "weights_figure",
]
