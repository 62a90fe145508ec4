"""Model: the propensity model's card (data, features, honest evaluation), versions, and revenue potential."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import shell, tables

shell.ensure_routed()

from planner import export, potential, propensity
from planner.errors import PlannerError
from planner.propensity.features import ALWAYS_EXCLUDED
from ui import charts, data, fmt, job_views, jobs, sidebar
from ui.auth import md_text

st.title("Model")
scope = sidebar.scope()
can_edit = not scope.is_rep


def trained(job: jobs.Job | None) -> None:
    """A training that ran as this user's job (ui/jobs.py), shown once: its new version below, or why it ended."""
    if job is None:
        return
    if job.state == jobs.DONE:
        st.session_state["md_trained"] = job.result
    elif job.state == jobs.FAILED:
        st.error(f"The training failed: {job.error}", icon=":material/error:")
    else:
        st.info("The training was cancelled: the active model is unchanged.", icon=":material/cancel:")


if can_edit:  # the store's training running (anyone's: no second one starts), then this user's outcome
    trained(job_views.follow_training(scope))
try:
    with data.snapshot() as snap:
        card = data.cached(propensity.card, snap)
        versions = data.cached(propensity.history, snap)
        pot = data.cached(potential.settings_table, snap)
        pot_notes = data.cached(potential.assumptions, snap)
except PlannerError as exc:
    data.show_error(exc)


def retrain() -> None:
    """Train in the background: leaving the page no longer throws the training away (its bar shows here)."""
    job_views.start_training(scope)
    st.rerun()


def number(value: object, digits: int = 3) -> str:
    return fmt.MISSING if value is None else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


# The downloads' headers, as the page's tables label them.
DOWNLOAD_LABELS = {
    "ranking": "Ranking", "auc": "AUC", "lift_top_decile": "Top-decile lift", "brier": "Brier score", "name": "Name",
    "kind": "Kind", "source": "Source", "reason": "Why", "model_version": "Version", "created_at": "Trained",
    "created_by": "By", "active": "Active", "n_train": "Train deals", "n_test": "Test deals",
    "has_scores": "Can restore", "fit_score_auc": "Fit score AUC", "intent_auc": "Intent AUC",
}  # fmt: skip


def download(df: pd.DataFrame, file_name: str, key: str) -> None:
    """A table's CSV under the page's headers, built when clicked; the click does not rerun the page."""
    table = df.rename(columns={c: DOWNLOAD_LABELS.get(str(c), str(c)) for c in df.columns})
    table = table.apply(lambda c: c.map({True: "yes", False: "no"}) if pd.api.types.is_bool_dtype(c) else c)
    tables.download_button(st, "Download CSV", lambda: export.to_csv_bytes(table), file_name=file_name, mime="text/csv",
                       key=key, icon=":material/download:", on_click="ignore")  # fmt: skip


def band(bounds: object, unit: str) -> str:
    """A fit-score band, e.g. '40 to 500 employees'; said plainly when too few values gave none."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return f"not used (too few {unit} values)"
    return f"{fmt.count(bounds[0])} to {fmt.count(bounds[1])} {unit}"


done = st.session_state.pop("md_trained", None)
if done and done.get("ranking") == "previous_model":
    st.warning(f"Version {done['model_version']} trained, but not used: it ranks no better than its baseline. "
               f"Model version {done['active_version']} stays active.", icon=":material/warning:")  # fmt: skip
elif done and done.get("kind") == "fit_score":
    st.success(f"Version {done['model_version']} is active: the transparent fit score (no model: "
               f"{done.get('why_no_model') or 'too little history'}).", icon=":material/check:")  # fmt: skip
elif done:
    st.success(f"Model version {done['model_version']} trained and active.", icon=":material/check:")

if card is None:
    st.info("No model has been trained in this store yet.", icon=":material/model_training:")
    if can_edit and st.button("Train the model", key="md_train_first", type="primary"):
        retrain()
    sidebar.stop()

m = card["metrics"]
feats = card["features"]
base = m.get("baselines") or {}
fit_b, intent_b = base.get("fit_score") or {}, base.get("intent_only") or {}
rejected = bool(m.get("model_rejected"))
kind = (
    "calibrated gradient boosting"
    if card["kind"] == "model"
    else f"transparent fit score, no model ({m.get('no_model_reason') or 'too little history'})"
)
# A rep sees how good the ranking is, not the whole book's size, its segments' counts or who trained it (the
# sidebar and the Data page keep store-wide totals from reps too).
by = "" if scope.is_rep else f" by {card['created_by']}"
st.caption(f"Active: version {card['model_version']} · {kind} · trained {str(card['created_at'])[:16]}{by}")
message = (
    "Ranks accounts by their chance of buying, learned from the company's closed deals and tested on the newest."
    if scope.is_rep and card["kind"] == "model" and m.get("beats_baselines", True)
    else m.get("message", "")
    if not scope.is_rep
    else "Ranking by the transparent fit score: the company's deals give no model better than it yet."
)
if card["kind"] == "model" and m.get("beats_baselines", True):
    st.info(message, icon=":material/science:")
else:
    st.warning(message, icon=":material/warning:")
try:
    with data.snapshot() as snap:
        since = data.cached(propensity.since_training, snap)
except PlannerError as exc:
    data.show_error(exc)
if since and since["note"] and scope.is_rep:  # whether to retrain, not the book's counts
    if since["retrain_suggested"]:
        why = (
            "Amounts are now in several currencies, so annual revenue no longer counts in the scores"
            if since.get("revenue_left_out")
            else "Much data was added since this model was trained"
        )
        st.warning(f"{why}: a retrain is due (your sales-ops lead or an admin retrains it).",
                   icon=":material/update:")  # fmt: skip
elif since and since["note"]:
    warn = since["retrain_suggested"] or since["accounts_unscored"]
    (st.warning if warn else st.info)(since["note"], icon=":material/update:")
newest = versions.iloc[0] if len(versions) else None
if newest is not None and not bool(newest["active"]) and int(newest["model_version"]) > card["model_version"]:
    # A newer training that is not in use (it ranked no better than its baseline): say so, not only in history.
    try:
        with data.snapshot() as snap:
            latest = data.cached(propensity.card, snap, int(newest["model_version"]))
    except PlannerError as exc:
        data.show_error(exc)
    if latest and (latest["metrics"] or {}).get("model_rejected"):
        st.warning(f"Version {latest['model_version']}, trained {str(latest['created_at'])[:16]}, is not used. "
                   + str(latest["metrics"].get("message", "")), icon=":material/block:")  # fmt: skip

st.subheader("How good is it? (newest deals, never seen in training)")
c = st.columns(5)
c[0].metric(
    "AUC (model not used)" if rejected else "AUC",
    number(m.get("auc")),
    help="Chance a won deal scores above a lost one; 0.5 is a coin toss.",
)
if m.get("auc_interval"):
    lo, hi = m["auc_interval"]
    tested = "" if scope.is_rep else f" over {m.get('n_test') or 0:,} test deals"  # the book's size: not a rep's
    c[0].caption(f"95% interval {lo:.3f}–{hi:.3f}{tested}" + (": not yet better than chance" if lo <= 0.5 else ""))
c[1].metric("Top-decile lift", number(m.get("lift_top_decile"), 2),
            help="Win rate of the top 10% by score / overall win rate.")  # fmt: skip
c[2].metric("Fit score AUC", number(fit_b.get("auc")), help="Baseline: the transparent firmographic fit score.")
c[3].metric("Intent AUC", number(intent_b.get("auc")), help="Baseline: ranking by intent score only.")
c[4].metric("Ceiling AUC", number(m.get("ceiling_auc")),
            help="Demo data only: AUC of the generator's true probabilities, the best any model could do.")  # fmt: skip

this_row = "The model fitted (not used)" if rejected else "This model"
compare = pd.DataFrame(
    [
        {"ranking": this_row, "auc": m.get("auc"), "lift_top_decile": m.get("lift_top_decile"),
         "brier": m.get("brier")},
        {"ranking": "Fit score (firmographics)", "auc": fit_b.get("auc"),
         "lift_top_decile": fit_b.get("lift_top_decile"), "brier": fit_b.get("brier")},
        {"ranking": "Intent score alone", "auc": intent_b.get("auc"),
         "lift_top_decile": intent_b.get("lift_top_decile"), "brier": None},
    ]
)  # fmt: skip
if m.get("ceiling_auc") is not None:
    compare.loc[len(compare)] = {"ranking": "Ceiling (true probabilities, demo)", "auc": m["ceiling_auc"],
                                 "lift_top_decile": None, "brier": None}  # fmt: skip
RATIOS = {"auc": "{:.3f}", "lift_top_decile": "{:.2f}", "brier": "{:.4f}", "fit_score_auc": "{:.3f}",
          "intent_auc": "{:.3f}"}  # fmt: skip
st.dataframe(
    compare.style.format({c: f for c, f in RATIOS.items() if c in compare}, na_rep=fmt.MISSING),
    hide_index=True,
    key="md_compare",
    column_config={
        "ranking": "Ranking",
        "auc": "AUC",
        "lift_top_decile": "Top-decile lift",
        "brier": st.column_config.Column("Brier score", help="Lower is better."),
    },
    placeholder="–",
)
download(compare, "model_comparison.csv", "md_compare_dl")

left, right = st.columns(2)
cal = m.get("calibration")
with left:
    if cal:
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfect", line={"dash": "dash", "color": "#999"})
        )
        fig.add_trace(go.Scatter(x=cal["predicted"], y=cal["observed"], mode="lines+markers", name="This model",
                                 line={"color": "#00798c"}))  # fmt: skip
        top = max([0.05, *cal["predicted"], *cal["observed"]]) * 1.1
        fig.update_layout(
            title={**charts.TITLE, "text": "Calibration: predicted vs observed win rate (test deals, 10 bins)"},
            xaxis={"title": "Predicted probability", "range": [0, min(1, top)]},
            yaxis={"title": "Observed win rate", "range": [0, min(1, top)]},
            height=400, margin={"t": charts.TOP, "b": 10, "l": 10, "r": 10},
            legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        )  # fmt: skip
        st.plotly_chart(fig, width="stretch", key="md_calibration")
    else:
        st.caption("No calibration curve: the model was not used." if rejected
                   else "No calibration curve: there is no test set for the fallback fit score.")  # fmt: skip
with right:
    imp = pd.DataFrame(m.get("importance") or [])
    if len(imp):
        imp = imp.sort_values("mean")
        fig = go.Figure(go.Bar(x=imp["mean"], y=imp["name"].map(charts.safe), orientation="h", marker_color="#edae49",
                               error_x={"type": "data", "array": imp["std"]},
                               hovertemplate="%{y}: AUC drop %{x:.4f}<extra></extra>"))  # fmt: skip
        fig.update_layout(
            title={**charts.TITLE, "text": "Permutation importance: AUC lost when a feature is shuffled"},
            height=400, margin={"t": 64, "b": 10, "l": 10, "r": 10}, xaxis_title="AUC drop",
        )  # fmt: skip
        st.plotly_chart(fig, width="stretch", key="md_importance")
    else:
        st.caption("No permutation importance: the model was not used." if rejected
                   else "No permutation importance for the fallback fit score.")  # fmt: skip

if not scope.is_rep:  # whole-book counts: not a rep's to see
    st.subheader("Data used")
    d = m.get("data") or {}
    dc = st.columns(4)
    dc[0].metric("Accounts", f"{d.get('accounts', 0):,}")
    sampled = d.get("sampled_deals")
    dc[1].metric(
        "Closed deals",
        f"{d.get('closed_deals', 0):,}",
        delta=f"trained on {sampled:,}" if sampled and sampled < d.get("closed_deals", 0) else None,
        delta_color="off",
        delta_arrow="off",
        help=f"{d.get('won_deals', 0):,} won."
        + (
            f" The model learns from a random sample of {sampled:,} of them, with the same share of every close month "
            "and outcome: more rows add little accuracy and cost minutes."
            if sampled and sampled < d.get("closed_deals", 0)
            else ""
        ),
    )
    n_train, n_test = m.get("n_train") or 0, m.get("n_test") or 0
    dc[2].metric("Train / test deals", f"{n_train / 1000:,.1f}k / {n_test / 1000:,.1f}k" if n_train >= 10_000
                 else f"{n_train:,} / {n_test:,}",
                 help=f"{n_train:,} deals to fit, {n_test:,} to test: those closed on or after "
                 f"{d.get('split_date', 'n/a')}.")  # fmt: skip
    dc[3].metric("Custom attributes", f"{d.get('custom_attributes', 0):,}", help="Typed fields that came with imports.")
    st.caption(
        (
            f"Closed deals from {d['first_close']} to {d.get('last_close')}"
            if d.get("first_close")
            else "No closed deals"
        )
        + f"; data as of {d.get('as_of')}. Each training row is a closed deal with what was known when it was "
        f"created: similar wins are other accounts of the same industry won within {feats.get('radius_km', 100):.0f} "
        f"km in the {feats.get('window_days', 182)} days before, and the account's own earlier deals count only if "
        "they closed before. Account fields (size, intent, growth) are today's values, as CRM exports carry no "
        "history of them."
    )

always = {name for name, _ in ALWAYS_EXCLUDED}
dropped = [str(e.get("name")) for e in feats.get("excluded") or [] if e.get("name") not in always]
if dropped:
    st.warning(
        f"Not used in this store: {', '.join(dropped)}. Each is empty, the same on every deal, too sparse or "
        "recorded after the outcome; the table below says which.",
        icon=":material/filter_alt_off:",
    )
used = pd.DataFrame(feats.get("used") or [], columns=["field", "name", "kind", "source"])
excluded = pd.DataFrame(feats.get("excluded") or [], columns=["field", "name", "reason"])
f1, f2 = st.columns(2)
with f1:
    st.markdown("**Features used**")
    st.dataframe(fmt.table(used), hide_index=True, key="md_used",
                 column_config={"field": None, "name": "Feature", "kind": "Kind", "source": "Source"},
                 placeholder="–")  # fmt: skip
    download(used.drop(columns="field"), "model_features_used.csv", "md_used_dl")
with f2:
    st.markdown("**Excluded, and why**")
    why = st.column_config.TextColumn("Why", width="large")
    st.dataframe(fmt.table(excluded), hide_index=True, key="md_excluded",
                 column_config={"field": None, "name": "Field", "reason": why},
                 placeholder="–")  # fmt: skip
    download(excluded.drop(columns="field"), "model_features_excluded.csv", "md_excluded_dl")
with st.expander("How the transparent fit score is computed"):
    rules = m.get("fit_score_rules") or {}
    st.write(rules.get("points", ""))
    base_rate = rules.get("base_rate")
    st.write(f"Base win rate {'n/a (no closed deals)' if base_rate is None else fmt.pct(base_rate, 1)}; employees band "
             f"{band(rules.get('employee_band'), 'employees')}; annual revenue band "
             f"{band(rules.get('revenue_band'), 'revenue')}.")  # fmt: skip
    rates = pd.DataFrame(list((rules.get("industry_rates") or {}).items()), columns=["industry", "win_rate"])
    rate_col = st.column_config.NumberColumn("Smoothed win rate", format="percent")
    st.dataframe(rates, hide_index=True, key="md_rates", column_config={"win_rate": rate_col}, placeholder="–")
    download(rates.rename(columns={"industry": "Industry", "win_rate": "Smoothed win rate"}), "industry_win_rates.csv",
             "md_rates_dl")  # fmt: skip

st.subheader("Versions")
trained_at = versions["created_at"].map(lambda v: fmt.MISSING if pd.isna(v) else str(v)[:16])
shown_versions = versions.assign(created_at=trained_at)
if scope.is_rep:  # who trained it, and how many deals the whole book holds, are not a rep's to see
    shown_versions = shown_versions.drop(columns=["created_by", "n_train", "n_test"], errors="ignore")
st.dataframe(
    shown_versions.style.format(
        {c: f for c, f in {**RATIOS, "n_train": "{:,.0f}", "n_test": "{:,.0f}"}.items() if c in shown_versions},
        na_rep=fmt.MISSING,
    ),
    hide_index=True,
    key="md_versions",
    column_config={
        "model_version": "Version",
        "created_at": "Trained",
        "created_by": "By",
        "kind": "Kind",
        "active": st.column_config.CheckboxColumn("Active"),
        "n_train": "Train deals",
        "n_test": "Test deals",
        "has_scores": st.column_config.CheckboxColumn("Can restore"),
        "auc": "AUC",
        "lift_top_decile": "Lift",
        "fit_score_auc": "Fit score AUC",
        "intent_auc": "Intent AUC",
    },
    placeholder="–",
)
download(shown_versions, "model_versions.csv", "md_versions_dl")
if can_edit:
    a, b = st.columns(2)
    with a:
        if st.button("Retrain now", key="md_retrain", type="primary", icon=":material/refresh:",
                     help="Fit a new version on today's closed deals and score every account."):  # fmt: skip
            retrain()
    with b:
        restorable = versions[versions["has_scores"] & ~versions["active"]]["model_version"].tolist()
        if restorable and st.session_state.get("md_version") not in restorable:
            st.session_state["md_version"] = restorable[0]  # a stale choice from before a retrain
        pick = st.selectbox("Roll back to version", restorable, key="md_version", disabled=not restorable,
                            placeholder="No other version to restore")  # fmt: skip
        if st.button("Activate this version", key="md_activate", disabled=not restorable,
                     icon=":material/history:"):  # fmt: skip
            try:
                propensity.activate(
                    data.db_path(), int(pick), scope=scope, actor=scope.user, progress=data.progress_bar()
                )  # it scores every account again
            except PlannerError as exc:
                data.show_error(exc)
            st.rerun()

st.subheader("Revenue potential")
st.caption(
    "Potential = estimated users x price per user, with users = employees x the adoption share of the account's "
    "industry ('*' covers the rest). Learned from won deals where a segment has 10 or more; your edits stay put. "
    "Prices are in the store's currency. Expected value = propensity x potential."
)
for note in pot_notes if can_edit else []:  # how the settings were made, for those who edit them
    st.info(md_text(note, 1000), icon=":material/info:")
editable = pot[
    ["segment", "adoption_share", "price_per_user", "learned", "manual"] + (["accounts"] if can_edit else [])
].copy()  # a segment's accounts in the whole book: not a rep's
edited = st.data_editor(
    editable,
    hide_index=True,
    key="md_potential",
    disabled=not can_edit or ["segment", "learned", "manual", "accounts"],
    column_config={
        "segment": "Segment",
        "adoption_share": st.column_config.NumberColumn(
            "Adoption share", min_value=0.001, max_value=1.0, step=0.01, format="%.3f"
        ),
        "price_per_user": fmt.money_column("Price per user", min_value=1.0),
        "learned": st.column_config.CheckboxColumn("Learned"),
        "manual": st.column_config.CheckboxColumn("Edited"),
        "accounts": st.column_config.NumberColumn("Accounts", format="localized"),
    },  # fmt: skip
    placeholder="–",
)
download(editable.rename(columns={"segment": "Segment", "adoption_share": "Adoption share", "price_per_user":
                                  "Price per user", "learned": "Learned", "manual": "Edited", "accounts": "Accounts"}),
         "potential_settings.csv", "md_potential_dl")  # fmt: skip
if can_edit and st.button("Save potential settings", key="md_save_potential", icon=":material/save:"):
    changed = edited.merge(editable, on="segment", suffixes=("", "_old"))
    changed = changed[(changed["adoption_share"] != changed["adoption_share_old"])
                      | (changed["price_per_user"] != changed["price_per_user_old"])]  # fmt: skip
    if changed.empty:
        st.info("Nothing changed.")
    else:
        try:
            rows = changed[["segment", "adoption_share", "price_per_user"]].itertuples(index=False, name=None)
            potential.save_settings(data.db_path(), rows, scope=scope, actor=scope.user)
        except PlannerError as exc:
            data.show_error(exc)
        st.rerun()
