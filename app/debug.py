"""The Debug page: check the engine's own backward pass by finite differences, plant a classic bug and catch it,
and run the sanity checks to do before training for real (engine/debugging/).

The net is set up in the sidebar, as on the Playground (the `bug` key plants a bug; a banner says so while one is
on). Two views, each with its link (app/debug_view.py): `check=gradient` (the default) shows the gradient check's
table, its errors per layer and the error against the step h in float64 or float32 (`precision`);
`check=sanity` shows the initial loss, overfit-20 and validation checks. The checks are small (a batch of 8
points, at most a few thousand steps of one small net) and run in the server process through
engine/debugging, cached per configuration and shared by every viewer, as the Guide's worked example is; nets
above MAX_PARAMETERS are left to `python -m engine gradcheck` and `sanity`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import address_bar, bug_banner, debug_view
from app.charts.gradcheck import error_vs_h_figure, overfit_figure, tensor_errors_figure
from app.layout import chart, page_top
from app.pages import DEBUG
from app.plain_text import plain
from app.sidebar import load_into_widgets, render_sidebar
from app.story import show_story
from engine.debugging.banner import what_to_look_for
from engine.debugging.gradcheck import BANDS, BATCH, GradCheck, H, gradient_check
from engine.debugging.sanity import OVERFIT_PROBE_EVERY, Sanity, sanity_check
from engine.debugging.sweep import error_vs_h
from engine.vocabulary.config import RunConfig, parameter_count
from engine.vocabulary.group import GroupConfig

SCOPE = DEBUG.prefix
CONFIG = f"{SCOPE}config."  # the sidebar's widgets: debug.config.lr, ...
MAX_PARAMETERS = 50_000  # the page checks nets up to this size in the server process; the CLI has no limit
CHECKS = {"gradient": "Gradient check", "sanity": "Sanity checks"}
PRECISIONS = {"float64": "float64 (the check's)", "float32": "float32 (training's)"}
WHY_OFF = ("Dropout, weight decay and L1 are off for the check: dropout draws a new mask at every forward pass, "
           "so the loss would not be one function of the weights; the engine applies weight decay and L1 in the "
           "update, not in the gradient (and L1 has a kink at 0).")


def _load_link() -> list[str]:
    """A new link seeds the sidebar and the view; returns the view keys' problems."""
    given = debug_view.take_from_link()
    link = address_bar.incoming(SCOPE)
    problems = debug_view.load(given, new_link=link is not None)
    if link is not None:
        load_into_widgets(link.group.base, CONFIG)
        st.session_state[f"{SCOPE}runs_in_link"] = len(link.group.runs)
    if problems:
        st.session_state[f"{SCOPE}link_problems"] = [*st.session_state.get(f"{SCOPE}link_problems", []), *problems]
    return problems


@st.cache_data(max_entries=32, show_spinner=False)
def _gradient_check(config_json: str) -> GradCheck:
    return gradient_check(RunConfig.model_validate_json(config_json))


@st.cache_data(max_entries=32, show_spinner=False)
def _error_vs_h(config_json: str) -> pd.DataFrame:
    return error_vs_h(RunConfig.model_validate_json(config_json))


@st.cache_data(max_entries=32, show_spinner=False)
def _sanity(config_json: str) -> Sanity:
    return sanity_check(RunConfig.model_validate_json(config_json))


def _bands_text() -> str:
    return ", ".join(f"**{name}** above {bound:g}" if bound else f"**{name}** below {BANDS[-2][1]:g}"
                     for name, bound in BANDS)


def check_table(result: GradCheck) -> pd.DataFrame:
    """One row per tensor: its error on each path checked, and the worse band of the two."""
    table = result.table
    wide = table.pivot(index="tensor", columns="path", values="error")
    first = table.drop_duplicates("tensor").set_index("tensor")
    order = {name: i for i, name in enumerate(table["tensor"].drop_duplicates())}
    rank = {name: i for i, (name, _) in enumerate(BANDS)}
    worst = table.groupby("tensor")["band"].agg(lambda bands: min(bands, key=lambda b: rank.get(b, len(rank))))
    out = pd.DataFrame({
        "entries": first["size"], "checked": first["checked"], "at a kink": first["kinks"],
        **{f"{path} path": wide[path] for path in ("fast", "autograd") if path in wide},
        "band": worst, "gradient 0": first["zero"],
    })
    return out.sort_index(key=lambda index: index.map(order))


def _verdict(result: GradCheck) -> None:
    wrong = result.wrong
    paths = " and ".join(sorted(set(result.table["path"]), reverse=True))
    if wrong.empty:
        st.success(f"Every tensor checks right enough on the {paths} path (no relative error above 1e-2).")
    else:
        names = ", ".join(dict.fromkeys(wrong["tensor"]))
        st.error(f"Wrong (relative error above 1e-2): {names}. The backward pass computes something other than "
                 f"the gradient of the loss for these tensors.")


def _gradient_view(config: RunConfig) -> None:
    key = config.model_dump_json()
    with st.spinner("Checking every tensor by finite differences…"):
        result = _gradient_check(key)
    st.markdown(f"The analytic gradient of each parameter tensor (what a training step computes) against centred "
                f"differences (L(w+h) − L(w−h)) / 2h of the same loss, in {result.dtype} with h = {H:g}, on "
                f"{BATCH} training points at the initial weights. Relative error |a−n| / max(|a|,|n|) per tensor: "
                f"{_bands_text()} (CS231n). Entries whose ±h moves an activation input across a kink (relu at "
                f"0) are counted and left out. {WHY_OFF}")
    for path, why in result.missing_paths.items():
        st.caption(f"Run {path}: {why}.")
    _verdict(result)
    st.dataframe(check_table(result), column_config={
        "fast path": st.column_config.NumberColumn(format="%.2e"),
        "autograd path": st.column_config.NumberColumn(format="%.2e")}, width="content")
    st.subheader("Relative error per tensor, input to output")
    chart(tensor_errors_figure(result.table), "debug-tensors",
          "One marker per tensor and training path (circle: the fast path, cross: the autograd path), coloured "
          "by kind. A planted backward bug lifts exactly the tensors it touches into the wrong band.")
    st.subheader("The error against the step h")
    precision = st.radio("Precision", list(PRECISIONS), format_func=PRECISIONS.get, horizontal=True,
                         key=debug_view.widget_key("precision"))
    with st.spinner("Sweeping h in both precisions…"):
        curves = _error_vs_h(key)
    chart(error_vs_h_figure(curves, precision, H), "debug-error-vs-h", _sweep_caption(curves, precision))


def _sweep_caption(curves: pd.DataFrame, precision: str) -> str:
    worst = curves.groupby(["dtype", "h"])["error"].max()
    at_h = worst.get((precision, H))
    best_h = worst[precision].idxmin()
    said = (f"At the check's h = {H:g} the worst tensor in {precision} reads {at_h:.1e}; its lowest error is "
            f"{worst[precision].min():.1e}, at h = {best_h:.0e}.")
    return ("Truncation (the curvature left in the difference) shrinks like h² to the left; rounding (the loss "
            "stored to about eps, divided by 2h) grows like eps/h. The two make a U. In float32 (eps 6e-8) the U "
            "sits so high that a correct backward pass looks wrong at small h: a false alarm; float64 "
            f"(eps 1e-16) checks far below 1e-7. {said}")


def _sanity_view(config: RunConfig) -> None:
    st.markdown("Three short trainings of this net, as configured (planted bug included), before training for "
                "real: the loss before any update against what a net that knows nothing scores; overfitting 20 "
                "training examples (all of them every step, dropout and regularization off), which any healthy "
                "net does; and validation after a short training on the whole split, which catches what "
                "overfitting cannot (labels that do not match their inputs are memorised just as fast).")
    with st.spinner("Training the three checks (a few seconds)…"):
        sanity = _sanity(config.model_dump_json())
    show_sanity(sanity)


def show_sanity(sanity: Sanity) -> None:
    numbers = sanity.validation
    classes = numbers["chance_accuracy"] == numbers["chance_accuracy"]  # NaN for regression
    flagged = {finding.check for finding in sanity.findings}
    expected = "ln K" if classes else "the targets' variance"
    (st.error if "initial loss" in flagged else st.success)(
        f"**Initial loss** {sanity.initial_loss:.4g}, expected about {expected} = {sanity.expected_loss:.4g}.")
    last_step, last_loss, _ = sanity.overfit_curve[-1]
    if sanity.overfit_reached is None:
        overfit = f"not near zero (below {sanity.near_zero:.2g}) after {last_step} steps: loss {last_loss:.3g}."
    else:
        stays = "and stays there" if sanity.overfit_held else f"but is back at {last_loss:.3g} by step {last_step}"
        overfit = f"near zero (below {sanity.near_zero:.2g}) at step {sanity.overfit_reached}, {stays}."
    (st.error if "overfit" in flagged else st.success)(f"**Overfit {sanity.overfit_n} examples**: {overfit}")
    chart(overfit_figure(sanity.overfit_curve, sanity.near_zero), "debug-overfit",
          f"The training loss on the N examples, measured every {OVERFIT_PROBE_EVERY} steps; the dashed line is "
          "near zero.")
    shown = (f"validation accuracy {numbers['val_accuracy']:.0%} against chance {numbers['chance_accuracy']:.0%}"
             if classes else f"validation loss {numbers['val_loss']:.3g} against {numbers['chance_loss']:.3g}")
    (st.error if "validation" in flagged else st.success)(
        f"**Validation** after {sanity.validation_steps} steps: {shown}.")
    st.subheader("Findings")
    for finding in sanity.findings:
        st.warning(f"**{finding.code.replace('_', ' ')}** ({finding.check}): {finding.message}")
    if not sanity.findings:
        st.success("No problems found: the loss starts where it should, 20 examples are memorised, and what the "
                   "net learns carries over to held-out points.")


def render() -> None:
    _load_link()
    link, present = page_top(SCOPE, DEBUG.title)
    runs = st.session_state.get(f"{SCOPE}runs_in_link", 1)
    if runs > 1:
        st.warning(f"This link sets up {runs} runs; {DEBUG.called} checks run a.")
    show_story(link.preset, present=present)
    config, errors = render_sidebar(locked=set(link.lock), prefix=CONFIG)
    for error in errors:
        st.sidebar.error(plain(error))
    check = st.radio("Check", list(CHECKS), format_func=CHECKS.get, horizontal=True,
                     key=debug_view.widget_key("check"))
    if config is None:
        debug_view.write()
        st.info("Fix the settings in the sidebar: the checks need a net that parses.")
        return
    group = GroupConfig.single(config)
    address_bar.write(SCOPE, group, whole_group=False)
    bug_banner.show(group, link=False)
    note = what_to_look_for(group)
    if note:
        st.info(note)
    count = parameter_count(config)
    if count > MAX_PARAMETERS:
        debug_view.write()
        st.warning(plain(f"hidden: this net has {count:,} parameters; {DEBUG.called} checks nets of up to "
                         f"{MAX_PARAMETERS:,} (fewer or narrower layers). `python -m engine gradcheck` and "
                         f"`python -m engine sanity` check any size."))
        return
    if check == "sanity":
        _sanity_view(config)
    else:
        _gradient_view(config)
    debug_view.write()
