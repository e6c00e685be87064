"""The Guide page: every chart and statistic in plain words, tied to the lectures' ideas."""

from __future__ import annotations

import streamlit as st

from app.pages import GUIDE
from engine.training.findings import FINDING_CODES
from engine.training.probes import STATS

STAT_MEANINGS = {
    "preact_mean": "Mean of the activation's input s (after batch or layer norm, if any). Far from 0 pushes "
                   "sigmoid and tanh toward their flat ends.",
    "preact_std": "Spread of s. Too large saturates sigmoid and tanh; too small makes every layer nearly linear.",
    "act_mean": "Mean of the layer's output a = f(s). Sigmoid outputs are never centred on 0, which biases the "
                "next layer's updates (one reason tanh trains better).",
    "act_std": "Spread of the output. Shrinking with depth means the signal dies going forward (too-small init); "
               "growing means it explodes (too-large init). He init keeps it flat for ReLU, Xavier for tanh.",
    "saturated_frac": "Share of entries where the slope f'(s) is below 5% of its maximum: almost no gradient passes "
                      "there. For ReLU this is every negative input.",
    "dead_frac": "Share of units whose slope is exactly 0 for every example of the batch: a dead ReLU receives no "
                 "gradient, so it never recovers. High learning rates kill ReLUs.",
    "grad_preact_rms": "Size of the back-propagated gradient dL/dz at this layer (Glorot & Bengio's quantity). "
                       "Backpropagation multiplies it by every layer's slopes and weights on the way down: if each "
                       "factor is below 1 it vanishes exponentially with depth, above 1 it explodes.",
    "weight_grad_rms": "Size of dL/dW, what the optimizer actually uses. It is dL/dz times the layer's input.",
    "weight_rms": "Size of the weights. Weight decay (L2) pulls it down; it grows when training overfits.",
    "update_ratio": "How much one update changes the weights relative to their size. About 1e-3 is healthy; far "
                    "above means the learning rate is too high, far below means too low (or the gradient vanished).",
}

CHARTS = [
    ("Loss and accuracy",
     "Training (the minibatch) against validation (held-out points). Both falling: learning. Training falling "
     "while validation rises: overfitting; try dropout, weight decay, more data or early stopping. Both flat at "
     "the loss of guessing (ln 2 for two classes): the net is not learning; the charts below say why."),
    ("What the net computes",
     "For 2-D datasets, the probability of class 1 over the input plane with the training and validation points; "
     "for sine, the predicted curve against the data; for digits, the confusion matrix (rows: true digit)."),
    ("Activation histograms over time",
     "One heatmap per layer: time runs left to right, the activation's value bottom to top, colour is the log "
     "count. Sigmoid and tanh piling up at their ends is saturation; ReLU piling up at 0 is dying units. The "
     "side-by-side panel shows every layer at the current step, so the depth profile shows at a glance."),
    ("Gradient magnitude across depth",
     "The back-propagated gradient per layer at the current step, on a log scale, input layer on the left. A line "
     "falling to the left by orders of magnitude is the vanishing gradient problem: the early layers, which should "
     "learn the basic features, barely move. The histograms show log10 |dL/dz|; exact zeros are counted apart."),
    ("Saturation and dead units",
     "The share of saturated entries and of dead units per layer over time."),
    ("Update ratio",
     "Size of each update relative to the weights, per layer, with the 1e-3 rule of thumb as a dashed line."),
    ("Findings",
     "The engine's diagnoses in plain language: what is happening, in which layer, with the number, and what to try."),
    ("Comparing runs (the Compare page)",
     "Two to four runs train together on the same batches from the same starting weights (where their shapes and "
     "init agree), so a difference between their charts comes from the one thing you changed. Each run has one "
     "colour in every chart. Loss, gradient size across depth and saturation across depth are drawn on top of "
     "each other; the activation histograms stand side by side, one column per run, with one value axis per "
     "layer and one colour scale, so the same layer of two runs compares cell by cell."),
]

FIXES = """
**What fixes what** (the lectures' toolbox):
- *Initialization*: Xavier/Glorot keeps the variance of signals and gradients steady for tanh; He for ReLU;
  zeros leave every unit of a layer identical forever (symmetry); LSUV rescales each layer to unit variance.
- *Activations*: ReLU and its relatives (leaky ReLU, ELU, GELU, swish) do not saturate for positive inputs, so
  gradients survive depth; leaky variants cannot die.
- *Batch norm*: normalizes each layer's input over the minibatch, which keeps activations out of the flat parts
  and allows higher learning rates; it also regularizes a little.
- *Dropout*: randomly drops units while training (inverted: survivors are scaled up), forcing redundant features;
  at test time nothing is dropped.
- *Weight decay (L2) and L1*: penalize large weights; L1 pushes weights to exactly zero.
- *Optimizers*: momentum accumulates velocity through flat regions; AdaGrad, RMSProp and Adam scale each
  weight's step by its gradient history.
"""


def render() -> None:
    st.title(GUIDE.title)
    st.markdown(
        "Layerscope trains small deep nets and measures every layer while they train, so you can see why deep "
        "nets are hard to train: units saturate, ReLUs die, gradients vanish or explode with depth. Then change "
        "one thing (initialization, activation, batch norm, dropout, weight decay, optimizer) and watch the cure."
    )
    st.header("The charts")
    for title, text in CHARTS:
        st.subheader(title)
        st.markdown(text)
    st.header("The statistics")
    st.markdown("Measured per hidden layer (h1 nearest the input) on the training batch at every probe step. "
                "z is the layer's linear output Wx + b, s the input to the activation, a = f(s) its output.")
    st.table({"stat": list(STATS), "meaning": [STAT_MEANINGS[s] for s in STATS]})
    st.header("Findings")
    st.markdown(", ".join(f"`{code}`" for code in FINDING_CODES))
    st.markdown(FIXES)
