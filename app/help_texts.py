"""Every help text of the app in one place: the captions under the charts ("how to read this") and the
Guide's texts (what each chart and statistic means, what fixes what), so the two say the same thing
in the same words. app/layout.py and the pages show the captions, app/guide.py the rest.
"""

# The caption under each chart, by the chart's name on its page (the names of engine/lessons/charts.py);
# the "what the net computes" chart takes the caption of its prediction's kind (boundary, curve or confusion).
HOW_TO_READ: dict[str, str] = {
    "network": "The whole net, input (left) to output (right): one column per layer, a circle per unit for narrow "
               "layers, a bar for wide ones; the number above is the layer's width. Colour is the chosen quantity "
               "per layer at the latest step (gradient size on a log scale): dark columns near the input with "
               "bright ones near the output mean the signal dies on the way back. Grey: no gradient at all "
               "(exactly 0); white: not measured there.",
    "loss": "Thick solid: the held-out validation split; dotted: the training minibatch, smoothed (a moving "
            "average; with one run its raw values are the faint line behind). Validation rising while training "
            "falls is overfitting; a flat line at the loss of guessing means the net is not learning.",
    "boundary": "Colour is the net's probability of class 1 (blue) vs class 0 (red), white where it is undecided. "
                "Dots: training points, crosses: validation points, coloured by their true class.",
    "curve": "Grey dots: training points, open circles: validation points; the line is what the net predicts "
             "for every x. A straight or flat line means the hidden layers are not helping.",
    "confusion": "Rows: the true digit; columns: the net's answer on the validation split. Everything on the "
                 "diagonal is right; bright cells off it are the digits it confuses.",
    "act_time": "One panel per hidden layer, step to the right, activation value up; colour is how many of "
                "the probe set's activations fall in that bin (log scale). Mass piling at the edges (±1 for tanh, "
                "0 and 1 for sigmoid) is saturation; a layer collapsing onto one value has stopped carrying signal.",
    "grad_time": "RMS of the back-propagated gradient dL/dz per layer over training, log scale; light lines are "
                 "near the input, dark ones near the output. Lines fanning apart by orders of magnitude: "
                 "gradients vanish (lower layers below) or explode (above). Exact zeros (no gradient at all: "
                 "dead) are drawn on the dashed floor marked 0.",
    "grad_hist": "One panel per hidden layer (at most six, evenly picked, input at the top): the distribution of "
                 "|dL/dz| (log scale) over training, colour the count (log scale). The bottom strip, marked 0, "
                 "counts gradients that are exactly 0 (relu units on their flat side). Panels sliding down toward "
                 "the input: vanishing gradients.",
    "act_now": "The activations of every hidden layer at the latest step, side by side from input (left) to "
               "output (right), each scaled to its own peak. The depth profile shows at a glance where "
               "distributions saturate, collapse or spread.",
    "grad_depth": "Gradient size per layer at the latest step, input (left) to output (right), log scale. Left: "
                  "back-propagated dL/dz; right: dL/dW. A steep slope across depth means vanishing or "
                  "exploding gradients; a flat line is healthy. Layers with no gradient at all (exactly 0: "
                  "dead) sit on the dashed floor marked 0.",
    "grad_time_runs": "One panel per run, on one log scale: the RMS of the back-propagated gradient dL/dz of every "
                      "layer over training, light lines near the input (h1), dark ones near the output. A wide gap "
                      "between light and dark lines means the first layers get a tiny share of the gradient: "
                      "vanishing gradients. Exact zeros (no gradient at all, dead) sit on the dashed floor marked 0.",
    "saturation": "Saturated (sigmoid, tanh): the share of entries in the flat tails, where the slope is below 5% "
                  "of its maximum. Inactive (relu and its relatives): the share on the flat negative side. Each "
                  "run reports the one its activation has; linear has neither. Bottom: dead units, zero slope for "
                  "every probe point. Light lines are near the input, dark ones near the output.",
    "saturation_depth": "Per layer, input (left) to output (right), at the latest step, one line per run: saturated "
                        "(sigmoid, tanh: entries in the flat tails, slope below 5% of its maximum), inactive (relu "
                        "and its relatives: entries on the flat negative side), each for the runs whose activation "
                        "has it, and dead units (zero slope for every probe point).",
    "backprop": "Left, log scale: each hidden layer's factor, how much of the gradient it passes down (|dL/dz| at "
                "the layer over one layer up; the top layer's over the output), against the dashed line at 1; the "
                "thick line is the running product from the top hidden layer down, read right to left as the "
                "gradient travels: at h1 it is h1's gradient over the top's. Factors below 1 multiply into a "
                "vanishing gradient, above 1 into an exploding one. Right: each layer's mean slope f'(s), one of "
                "the things every factor multiplies by (sigmoid's is at most 0.25).",
    "act_grid": "One column per run, one row per hidden layer (input at the top): step to the right, activation "
                "value up, colour the count (log scale, one scale for all). Each cell has its own value axis, "
                "the range of its run's activation (sigmoid 0 to 1, tanh -1 to 1, ReLU its own span): read the "
                "labels. Mass at the edges is saturation, a thin band is collapse.",
    "weights": "Per layer, input (left) to output (right), at the latest step, one line per run. Left, log scale: the "
               "size (RMS) of the layer's weights; a layer whose weights are all exactly 0 sits on the dashed floor. "
               "Right: the share of its weights that are exactly 0, from 0% (a line just above the bottom edge) to "
               "100%; runs on the same values show as nested stripes, the first run widest. The words above say, per "
               "run, what the numbers show for h1: the share L1 set to exactly 0, and how large the weights are "
               "against the run without a penalty (weight decay, L2, shrinks them without zeroing any).",
    "update": "How much each step changes a layer's weights relative to their size, log scale. The dashed line "
              "is the rule of thumb 1e-3: far above, the learning rate is too high; far below, the layer "
              "barely learns.",
    "pretraining": "Greedy pre-training trains one layer at a time, without labels, on the codes of the layers "
                   "below (frozen). Left: each layer's reconstruction error (mean squared, on that layer's input) "
                   "over its epochs, light lines near the input, dark near the output; falling means the layer "
                   "learns to describe its input. Right: how well a linear read-out (a ridge probe on the labelled "
                   "training points, scored on validation) predicts the target from each layer's code after its "
                   "phase: features worth having before any fine-tuning.",
    "filters": "The first layer's weights, one small image per unit (on digits, 8x8: red pixels push the unit up, "
               "blue down), each scaled to its own largest weight so its shape shows. From random init they are "
               "noise. With standardize=false, pre-training turns them into strokes and blobs, the simple features "
               "early layers detect; with standardized inputs (the default) a weight acts on a pixel's deviation "
               "from its mean, and the images change far less visibly. On 2-D data each unit is an arrow: the "
               "direction in the plane its input grows along.",
    "start": "At step 0, after pre-training and before the first labelled step, per layer from input (left) to "
             "output (right), log scales, one line per run. Left: the spread of each layer's activations on the "
             "probe set; right: the size of the back-propagated gradient dL/dz. From random init a deep sigmoid "
             "net's gradient shrinks layer by layer towards the input; pre-trained layers start where the "
             "gradient reaches all of them.",
    "fantasies": "Digits the RBM generates on its own: 200 steps of Gibbs sampling from noise, after h1's phase "
                 "(black is ink). Stroke-like blobs mean the RBM has learned what digits look like; noise means it "
                 "has not yet.",
}

# Findings by their code, as a short title (the engine's message says the rest).
FINDING_TITLES = {
    "vanishing_gradients": "Vanishing gradients", "exploding_gradients": "Exploding gradients",
    "dead_units": "Dead units", "saturation": "Saturation", "sigmoid_drift": "Sigmoid drift", "diverged": "Diverged",
    "loss_unstable": "Unstable loss", "overfitting": "Overfitting",
    "lr_too_high": "Learning rate too high", "lr_too_low": "Learning rate too low", "not_learning": "Not learning",
}

# ---------------------------------------------------------------------------------------- the Guide

# What each statistic of engine/training/probes.py means.
STAT_MEANINGS = {
    "preact_mean": "Mean of the activation's input s (after batch or layer norm, if any). Far from 0 pushes "
                   "sigmoid and tanh toward their flat ends.",
    "preact_std": "Spread of s. Too large saturates sigmoid and tanh; too small makes every layer nearly linear.",
    "act_mean": "Mean of the layer's output a = f(s). Sigmoid outputs are never centred on 0, which biases the "
                "next layer's updates (one reason tanh trains better).",
    "act_std": "Spread of the output. Shrinking with depth means the signal dies going forward (too-small init); "
               "growing means it explodes (too-large init). He init keeps it flat for ReLU, Xavier for tanh.",
    "saturated_frac": "Sigmoid and tanh only: the share of entries in the flat tails, at large |s|, where the slope "
                      "f'(s) is below 5% of its maximum. Almost no gradient passes there, and a unit stuck there "
                      "is slow to get out.",
    "inactive_frac": "ReLU and its relatives only (leaky_relu, elu, selu, gelu, swish, softplus): the share of entries "
                     "on the flat negative side, where the slope is below 5% of its maximum (for relu every s at or "
                     "below 0). That is normal: about half of a healthy ReLU layer is inactive for any one point.",
    "dead_frac": "Share of units whose slope is exactly 0 for every point of the probe set: a dead ReLU receives no "
                 "gradient from any of them, so it cannot recover. High learning rates kill ReLUs.",
    "slope_mean": "Mean slope f'(s) over the probe set's entries. Backpropagation multiplies the gradient by it at "
                  "every layer: sigmoid's is at most 0.25, so a sigmoid layer passes at most a quarter of it "
                  "(times what its weights do).",
    "backward_gain": "How much of the gradient the layer passes down: RMS of dL/dz here over one layer up (for the "
                     "top hidden layer, the output). The gradient at h1 is the top's times the factors in between; "
                     "factors below 1 make it vanish, above 1 explode.",
    "zero_frac": "Share of the layer's weights (not biases) that are exactly 0: L1's step sets small weights to 0.",
    "grad_preact_rms": "Size of the back-propagated gradient dL/dz at this layer (Glorot & Bengio's quantity). "
                       "Backpropagation multiplies it by every layer's slopes and weights on the way down: if each "
                       "factor is below 1 it vanishes exponentially with depth, above 1 it explodes.",
    "weight_grad_rms": "Size of dL/dW, what the optimizer actually uses. It is dL/dz times the layer's input.",
    "weight_rms": "Size of the weights. Weight decay (L2) pulls it down; it grows when training overfits.",
    "update_ratio": "How much one update changes the weights relative to their size. About 1e-3 is healthy; far "
                    "above means the learning rate is too high, far below means too low (or the gradient vanished).",
}

GUIDE_CHARTS = [
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
    ("Backprop as a product",
     "The gradient that reaches h1 is the top hidden layer's times one factor per layer in between (each layer's "
     "backward_gain). The chart draws each factor against the line at 1 and the running product from the top "
     "down, which ends at h1's gradient over the top's: the gradient chart's h1/top ratio. Each factor carries "
     "the layer's slope f'(s), drawn beside it: on an 8-layer sigmoid net with standard init the slope is at most "
     "0.25, every factor is well below 1, and their product is tiny."),
    ("Saturation and dead units",
     "Sigmoid and tanh saturate: the share of entries in their flat tails (saturated). ReLU and its relatives do "
     "not; their stuck entries are on the flat negative side (inactive), which about half of a healthy ReLU "
     "layer is at any point. Each run shows the one its activation has, linear neither; both panels show dead "
     "units, per layer over time."),
    ("Weights across depth",
     "Each layer's weight size (RMS, log scale) and the share of its weights that are exactly 0 (zero_frac), one "
     "line per run. L1 moves every weight lr x l1 toward zero after each update and stops it there, so the "
     "weights the loss does not keep pushing away become exactly 0 and the share climbs; weight decay (L2) "
     "shrinks each weight in proportion to its size, so the size falls but no weight reaches 0. The title says, "
     "per run, what the numbers show at h1."),
    ("Update ratio",
     "Size of each update relative to the weights, per layer, with the 1e-3 rule of thumb as a dashed line."),
    ("Findings",
     "The engine's diagnoses in plain language: what is happening, in which layer, with the number, and what to try."),
    ("Comparing runs (the Compare page)",
     "Two to four runs train together on the same batches from the same starting weights (where their shapes and "
     "init agree), so a difference between their charts comes from the one thing you changed. Each run has one "
     "colour in every chart. Loss, gradient size across depth, backprop as a product, saturation across depth "
     "and the weights across depth are drawn on top of each other (saturation with a panel per kind: saturated "
     "for sigmoid and tanh runs, inactive for ReLU-like ones); gradient size over time and the activation "
     "histograms stand side by side, one column per run: the gradients on one shared log scale, the histograms "
     "each on its own activation's range with one colour scale, so a sigmoid's 0 to 1 is not squeezed beside a "
     "ReLU's wide span."),
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
- *Weight decay (L2) and L1*: penalize large weights. L2 shrinks every weight in proportion to its size, so
  none reaches zero; L1 moves every weight a fixed lr x l1 toward zero after each update and stops it there, so
  the weights the loss does not need become exactly zero.
- *Optimizers*: momentum accumulates velocity through flat regions; AdaGrad, RMSProp and Adam scale each
  weight's step by its gradient history.
"""


# The Search page's charts (app/charts/search.py): not charts of the training pages' list, so not in HOW_TO_READ.
SEARCH_CAPTIONS = {
    "scores": "Each dot is a trial at its value of the key and its validation score at its early-stopping point; "
              "the star is the trial chosen by validation. The axis title counts the values tried: a 3x3 grid tries "
              "3 of each, random search a new one in every trial.",
    "curves": "Validation loss of every trial over its steps (log scale); a dot marks its best step, the net it "
              "keeps, a cross where early stopping ended it. The chosen trial is drawn thick.",
}

# The Word vectors page's charts (app/words.py), by their names in engine/words/charts.py.
WORDS_CAPTIONS = {
    "words_analogies": "Share of the analogy questions (a is to b as c is to d) whose answer, the nearest word to "
                       "b - a + c by cosine, is d: thick over all questions, thin per relation. Measured on the "
                       "input vectors at about 60 steps of the run.",
    "words_loss": "Negative-sampling loss per example, averaged over the steps since the last measurement: "
                  "-log sigmoid of the true pair's logit minus the log sigmoid of each negative's negated logit. "
                  "It starts at (k + 1) log 2 and cannot reach 0 while negatives are drawn at random.",
    "words_map": "Every word's unit-length input vector projected on the two directions of most spread (PCA). Each "
                 "frame is turned onto the last, so the map does not flip or spin; arrows join a to b for a few "
                 "analogy pairs: parallel arrows of equal length are what an analogy needs.",
    "words_neighbours": "The nearest words to each chosen word by cosine of the input vectors, with the cosine.",
    "words_hists": "Histograms over time (darker: more of the words or examples in that bin, each column sums to "
                   "1): the length of each word's input vector, the logits of the last step's true pairs (pushed "
                   "up) and of its negatives (pushed down).",
    "words_example": "One example of the text, on the current vectors: the logit of the word to predict and of each "
                     "negative before (grey) and after (blue) one SGD step on this example alone. A negative "
                     "pushed down and the true word pulled up is negative sampling at work.",
}
