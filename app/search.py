"""The Search page: choose hyperparameters by grid or random search, early stopping and validation.

The form is the search's own vocabulary (engine/search/spec.py): fixed keys (KEY=VALUE), up to ROWS searched
keys with their specs, the method and the budget. Start checks it all at once (every problem named, nothing
starts), starts the search on the server (engine/search/jobs.py, shared by everyone with the same link) and
puts the whole search in the address bar: the link holds the space. A fragment polls the search about once a
second and draws the table of trials ranked by validation, the score against each searched key, every
trial's curve with its best step and early stop, a warning when the best value sits at the edge of its
range, a link that opens any trial in the Playground, and the downloads. Stop ends every trial within 2 s.
"""

from __future__ import annotations

import json

import streamlit as st

from app import help_texts
from app.charts.search import curves_figure, score_by_key_figure
from app.guard import guarded
from app.layout import plot
from app.pages import PLAYGROUND, SEARCH
from app.plain_text import plain
from engine.lessons.presets import load_preset
from engine.search import tables
from engine.search.jobs import SearchJobs, SearchLimitError, SearchView
from engine.search.space import NOT_SEARCHED, SPEC_SYNTAX, STARTING_FIXED, STARTING_SPACE
from engine.search.spec import MAX_TRIALS, METHODS, SearchSpec, parse_search, search_mapping, split_search_mapping
from engine.vocabulary.config import ConfigError, all_keys, render_run

SCOPE = SEARCH.prefix
ROWS = 4
SEARCHABLE = ["", *(key for key in all_keys() if key not in NOT_SEARCHED)]
REFRESH_S = 1.0


@st.cache_resource(show_spinner=False)
def search_jobs() -> SearchJobs:
    """The server's searches: one registry, so every viewer of a link watches the same search."""
    return SearchJobs()


def _fill(fixed: dict, specs: dict, options: dict) -> None:
    state = st.session_state
    state[f"{SCOPE}fixed"] = "\n".join(f"{k}={v}" for k, v in fixed.items())
    rows = list(specs.items())[:ROWS]
    for i in range(ROWS):
        key, spec = rows[i] if i < len(rows) else ("", "")
        state[f"{SCOPE}key{i}"] = key if key in SEARCHABLE else ""
        state[f"{SCOPE}spec{i}"] = str(spec)
    state[f"{SCOPE}method"] = str(options.get("method", "random")) if options.get("method") in METHODS else "random"
    try:
        trials = int(str(options.get("trials", 9)))
    except ValueError:
        trials = 9
    state[f"{SCOPE}trials"] = min(max(trials, 1), MAX_TRIALS)


def _load_link() -> None:
    """A new link (or the first visit) fills the form; a link's search starts when it parses."""
    params = {k: st.query_params[k] for k in st.query_params}
    marker = json.dumps(params, sort_keys=True)
    if st.session_state.get(f"{SCOPE}link") == marker:
        return
    st.session_state[f"{SCOPE}link"] = marker
    if not params and f"{SCOPE}fixed" in st.session_state:
        return  # back from another page by the menu (no link): the form and the search stay as they were
    st.session_state[f"{SCOPE}problems"] = []
    mapping = dict(params)
    if "preset" in mapping:
        try:
            mapping = {**load_preset(str(mapping.pop("preset")).strip()).config, **mapping}
        except ConfigError as error:
            st.session_state[f"{SCOPE}problems"] = [str(p) for p in error.problems]
    mapping = {k: v for k, v in mapping.items() if k not in ("page", "preset")}
    fixed, specs, options = split_search_mapping(mapping)
    if not specs:
        fixed = fixed or dict(STARTING_FIXED)
        specs = dict(STARTING_SPACE)
    elif params:  # a link's search: anything wrong with it is named now, before anyone presses Start
        try:
            parse_search(fixed, specs, options.get("method", "random"), options.get("trials", 9))
        except ConfigError as error:
            st.session_state[f"{SCOPE}problems"] += [str(p) for p in error.problems]
    _fill(fixed, specs, options)


def _form_search() -> tuple[SearchSpec | None, list[str]]:
    state = st.session_state
    fixed, problems = {}, []
    for line in str(state.get(f"{SCOPE}fixed", "")).splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            problems.append(f"fixed keys: got {line.strip()!r}: expected KEY=VALUE, one a line (e.g. dataset=digits)")
            continue
        fixed[key.strip()] = value.strip()
    specs = {state[f"{SCOPE}key{i}"]: state.get(f"{SCOPE}spec{i}", "") for i in range(ROWS)
             if state.get(f"{SCOPE}key{i}")}
    try:
        spec = parse_search(fixed, specs, state.get(f"{SCOPE}method", "random"), state.get(f"{SCOPE}trials", 9))
    except ConfigError as error:
        return None, problems + [str(p) for p in error.problems]
    return (spec, []) if not problems else (None, problems)


def _start() -> None:
    spec, problems = _form_search()
    st.session_state[f"{SCOPE}problems"] = problems
    if spec is None:
        return
    try:
        key = search_jobs().start(spec)
    except (SearchLimitError, ConfigError) as error:
        st.session_state[f"{SCOPE}problems"] = [str(error)]
        return
    st.session_state[f"{SCOPE}key"] = key
    mapping = search_mapping(spec)
    st.query_params.from_dict(mapping)  # the link holds the space: opening it starts (or shares) this search
    st.session_state[f"{SCOPE}link"] = json.dumps(mapping, sort_keys=True)


def _stop() -> None:
    key = st.session_state.get(f"{SCOPE}key")
    if key:
        search_jobs().stop(key)


def _form() -> None:
    st.text_area("Fixed keys, one KEY=VALUE a line (anything not searched; the vocabulary of the Playground)",
                 key=f"{SCOPE}fixed", height=110, persist_state="session")
    st.markdown(f"**Searched keys.** A spec is {plain(SPEC_SYNTAX)}.")
    for i in range(ROWS):
        left, right = st.columns([1, 2])
        left.selectbox(f"Key {i + 1}", SEARCHABLE, key=f"{SCOPE}key{i}", persist_state="session")
        right.text_input(f"Spec {i + 1}", key=f"{SCOPE}spec{i}", placeholder="log:1e-4:1, 0:0.5, int:16:256, a|b",
                         persist_state="session")
    left, right = st.columns(2)
    left.radio("Method", METHODS, key=f"{SCOPE}method", horizontal=True, persist_state="session",
               help="grid: evenly spaced values of each range on its own scale, every combination within the budget; "
                    "random: each trial draws every key independently, from the seed")
    right.number_input("Trials (the budget)", min_value=1, max_value=MAX_TRIALS, step=1, key=f"{SCOPE}trials",
                       persist_state="session")
    left, right = st.columns(2)
    left.button("Start", type="primary", on_click=guarded("the Search page's Start")(_start), key=f"{SCOPE}start")
    right.button("Stop", on_click=guarded("the Search page's Stop")(_stop), key=f"{SCOPE}stop")
    problems = st.session_state.get(f"{SCOPE}problems", [])
    if problems:
        st.error("Nothing started; fix these, then Start:\n\n" + "\n".join(f"- {plain(line)}" for line in problems))


@st.cache_resource(max_entries=16, ttl=600, show_spinner=False)
def _tables(key: str, version: int, _view: SearchView) -> dict:
    """The view's tables and figures, built once per search version and shared by its viewers."""
    outcome = _view.outcome
    trials, curves = tables.trials_table(outcome), tables.curves_table(outcome)
    score = "val_loss" if _view.spec.base.is_regression else "val_accuracy"
    return {"trials": trials, "curves": curves, "summary": tables.summary(outcome),
            "score": score_by_key_figure(trials, _view.spec.space, score),
            "curves_figure": curves_figure(curves, trials),
            "best_yaml": tables.best_yaml(outcome) if outcome.done else ""}


def _results(view: SearchView) -> None:
    built = _tables(view.key, view.version, view)
    outcome, summary = view.outcome, built["summary"]
    total = len(outcome.results)
    finished = len(outcome.finished())
    state = {"running": "running", "done": "done", "stopped": "stopped", "failed": "failed"}[view.state]
    if view.state == "running" and not any(outcome.results):
        state = "starting: the search's own process loads the engine, a few seconds"
    st.progress(finished / max(total, 1), text=f"{view.spec.method} search: {finished} of {total} trials ended "
                                                  f"({state}, {outcome.seconds:.0f} s)")
    if view.error:
        st.error(f"The search failed: {plain(view.error)}")
    chosen = summary["chosen"]
    if chosen is not None:
        values = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in chosen["values"].items())
        score = ("validation loss " + f"{chosen['val_loss']:.4g}" if chosen["val_accuracy"] is None
                 else f"validation accuracy {chosen['val_accuracy']:.2%}")
        best = "Chosen by validation" if outcome.done else "Best so far"
        st.markdown(f"**{best}: trial {chosen['trial']}** ({plain(values)}): {score} at step {chosen['best_step']}.")
    if summary["test"] is not None:
        test = summary["test"]
        accuracy = "" if test["accuracy"] is None else f", accuracy {test['accuracy']:.2%}"
        st.markdown(f"Test split ({test['points']} held-out points), scored once, for the chosen trial only: loss "
                    f"{test['loss']:.4g}{accuracy}.")
    for warning in tables.edge_warnings(outcome) if outcome.done else []:
        st.warning(plain(warning), icon=":material/warning:")
    plot(built["score"], f"{SCOPE}score")
    st.caption(help_texts.SEARCH_CAPTIONS["scores"])
    st.dataframe(built["trials"], hide_index=True, key=f"{SCOPE}table")
    plot(built["curves_figure"], f"{SCOPE}curves")
    st.caption(help_texts.SEARCH_CAPTIONS["curves"])
    _open_trial(view, built["trials"])
    if outcome.done:
        left, right = st.columns(2)
        left.download_button("Trials (CSV)", built["trials"].to_csv(index=False), "trials.csv", "text/csv",
                             key=f"{SCOPE}download_trials")
        right.download_button("Best config (YAML)", built["best_yaml"], "best.yaml", "application/x-yaml",
                              key=f"{SCOPE}download_best", disabled=not built["best_yaml"])


def _open_trial(view: SearchView, trials) -> None:
    if trials.empty:
        return
    ranked = [int(t) for t in trials["trial"]]
    trial = st.selectbox("Open a trial in the Playground", ranked, key=f"{SCOPE}open",
                         format_func=lambda t: f"trial {t} (rank {ranked.index(t) + 1})")
    result = view.outcome.results[trial]
    if result is not None:
        st.page_link(PLAYGROUND.script, label=f"Open trial {trial} in {PLAYGROUND.called}", icon=PLAYGROUND.icon,
                     query_params=render_run(result.config))


def _live() -> None:
    key = st.session_state.get(f"{SCOPE}key")
    view = search_jobs().view(key) if key else None
    if view is None:
        st.caption("Set the space and press Start; the trials appear here as they train.")
        return
    _results(view)


def render() -> None:
    st.title(SEARCH.title)
    st.markdown("Choose hyperparameters by search: each trial trains with early stopping on validation; the one "
                "chosen has the best validation score; the test split, if you hold one out (test_fraction), is "
                "scored once, for that trial only. Random search tries a new value of every key in every trial; "
                "a grid tries a few values of each, in every combination.")
    _load_link()
    _form()
    key = st.session_state.get(f"{SCOPE}key")
    view = search_jobs().view(key) if key else None
    running = view is not None and view.state == "running"
    st.fragment(run_every=REFRESH_S if running else None)(guarded("the Search page's results")(_live))()
