"""Targets: a territory's accounts ranked by expected value (propensity x potential), with reasons."""

from __future__ import annotations

import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import export, propensity, targets, text, world
from planner.errors import PlannerError
from ui import data, fmt, job_views, jobs, sidebar, state, tables
from ui.auth import md_text

SHOW = [100, 500, 1000]

st.title("Targets")
scope = sidebar.scope()
rep_id = sidebar.selected_rep()
if sidebar.no_accounts():  # a rep with nothing assigned: the next step, not an empty list
    sidebar.stop()
try:
    with data.snapshot() as snap:
        options = data.cached(targets.filter_options, snap, scope=scope, rep_id=rep_id)
        reps = data.cached(world.rep_options, snap, scope=scope)
        version = data.cached(targets.model_version, snap)
        card = data.cached(propensity.card, snap) if version is not None else None
except PlannerError as exc:
    data.show_error(exc)

rep_name = sidebar.rep_name(rep_id, reps)
# Before any training the accounts are still listed (and downloadable), ranked by revenue potential as the plan
# ranks them meanwhile: no score, no probability, and said so.
unranked = version is None
if unranked:
    if scope.is_rep:  # a rep cannot train (the Model page is read-only for them)
        st.info("No scores yet: the propensity model has not been trained. Ask your sales-ops lead or an admin to "
                "train it on the Model page; until then your accounts are listed by revenue potential, here and in "
                "your plan.", icon=":material/model_training:")  # fmt: skip
    else:  # a first import leaves no scores: rank here, where the ranking is wanted, not on another page
        st.info("No scores yet: train the propensity model to rank the accounts (without won and lost deals it "
                "ranks by a transparent fit score). The Model page shows how good it is.",
                icon=":material/model_training:")  # fmt: skip
        # A background job (ui/jobs.py), as on the Model page: leaving Targets mid-training no longer loses it.
        ranked = job_views.follow_training(scope)
        if ranked is not None and ranked.state == jobs.DONE:
            st.rerun()  # the scores are in
        if ranked is not None and ranked.state == jobs.FAILED:
            st.error(f"The training failed: {md_text(ranked.error or '', 400)}", icon=":material/error:")
        if st.button("Rank the accounts now", key="tg_train", type="primary", icon=":material/model_training:"):
            job_views.start_training(scope)
            st.rerun()
    st.page_link("pages/model.py", label="Open the Model page", icon=":material/model_training:")

# Without a model the fit score ranks: a fit, not a probability of buying, so no percent and no dollar
# expected value is made of it (planner.coverage.value).
fit = card is not None and card["kind"] == "fit_score"
if unranked:
    st.caption(
        f"{rep_name}: accounts ranked by revenue potential (price per user x estimated users), highest first. "
        "Not scored yet: no model has been trained, so there is no propensity or fit score. Select rows to add "
        "them to the rep's plan."
    )
elif fit:
    why = (card["metrics"] or {}).get("no_model_reason") or "too little history"
    st.caption(
        f"{rep_name}: accounts ranked by fit score (no model: {why}) x revenue potential. The fit score "
        "compares an account's industry and size with the won deals; it is not a probability of buying. "
        "Select rows to add them to the rep's plan."
    )
else:
    interval = ((card or {}).get("metrics") or {}).get("auc_interval")
    tentative = (f" Tentative: on its test deals the model's AUC spans {interval[0]:.2f}-{interval[1]:.2f}, not yet "
                 "shown better than chance (Model page)." if interval and interval[0] <= 0.5 else "")  # fmt: skip
    st.caption(
        f"{rep_name}: accounts ranked by expected value = propensity (model version {version}) x revenue "
        f"potential.{tentative} Select rows to add them to the rep's plan."
    )
cols = st.columns([3, 2, 2, 2, 2])
industries = state.multiselect("Industry", options["industries"], param="ind", key="tg_industry", container=cols[0],
                               placeholder="All industries")  # fmt: skip
# A book whose accounts name no state (most outside the US) gets no State filter: it would offer nothing.
states = state.multiselect("State", options["states"], param="st", key="tg_state", container=cols[1],
                           placeholder="All states") if options["states"] else []  # fmt: skip
size = state.selectbox(
    "Employees", list(targets.SIZE_BANDS), param="size", key="tg_size", default="any", container=cols[2],
    format_func=lambda s: "Any size" if s == "any" else s,
)  # fmt: skip
min_prop = 0.0 if fit or unranked else state.number(
    "Minimum propensity", param="minp", key="tg_minp", default=0.0, container=cols[3], min_value=0.0,
    max_value=1.0, step=0.05, format="%.2f",
)  # fmt: skip
top = state.selectbox("Show", SHOW, param="top", key="tg_top", default=500, container=cols[4],
                      format_func=lambda n: f"Top {n}")  # fmt: skip

try:
    with data.snapshot() as snap:
        result = data.cached(
            targets.targets,
            snap,
            rep_id,
            tuple(industries),
            tuple(states),
            size,
            float(min_prop),
            int(top),
            scope=scope,
        )
except PlannerError as exc:
    data.show_error(exc)

fmt.currency_caveat()
m = st.columns(3 if unranked else 4 if fit else 5)
m[0].metric("Matching accounts", f"{result['matches']:,}")
if unranked:
    m[1].metric("Potential", fmt.money(result["potential"]), help="Sum of price per user x estimated users.")
    m[2].metric("Open deals", f"{result['open_deals']:,}")
elif fit:
    m[1].metric("Potential", fmt.money(result["potential"]), help="Sum of price per user x estimated users.")
    mean_fit = result["mean_propensity"]
    m[2].metric(
        "Mean fit score",
        fmt.MISSING if mean_fit != mean_fit else f"{mean_fit * 100:.0f}/100",
        help="0-100: how an account's industry and size compare with the won deals; not a probability.",
    )
    m[3].metric("Open deals", f"{result['open_deals']:,}")
else:
    m[1].metric("Expected value", fmt.money(result["expected_value"]), help="Sum of propensity x potential.")
    m[2].metric("Potential", fmt.money(result["potential"]), help="Sum of price per user x estimated users.")
    m[3].metric("Mean propensity", fmt.pct(result["mean_propensity"], 1))
    m[4].metric("Open deals", f"{result['open_deals']:,}")

rows = result["rows"]
if rows.empty:
    st.info("No account matches these filters.", icon=":material/filter_alt_off:")
    sidebar.stop()
if result["matches"] > len(rows):
    st.caption(f"Showing the best {len(rows):,} of {result['matches']:,} matching accounts; totals cover all of them.")
if result["unscored"] and not unranked:
    st.warning(f"{result['unscored']:,} matching account(s) are not scored yet (added after the model was trained): "
               "they are listed last, without a rank. The Model page says whether to retrain.",
               icon=":material/hourglass_empty:")  # fmt: skip

shown = rows[
    ["rank", "name", "expected_value", "propensity", "potential", "reasons", "open_deals", "industry", "employees",
     "city", "state", "country", "account_id"]
].copy()  # fmt: skip
if rep_id is None:  # All territories: whose account each row is (a rep always sees their own territory only)
    shown.insert(2, "owner", rows["owner_rep_id"].map(dict(zip(reps["rep_id"], reps["name"], strict=True))))
# Ranked among the accounts this person may see and these filters match (never a store-wide rank: a rep
# must not learn how their territory compares with the accounts of others).
shown["rank"] = range(1, len(shown) + 1)
if not unranked:  # not scored yet: no rank (before any model every account is ranked by potential)
    shown["rank"] = shown["rank"].where(rows["scored"].astype(bool).to_numpy())
shown["reasons"] = shown["reasons"].fillna("").astype(str)
if shown["country"].isna().all():  # a book in one country that names none: no empty column
    shown = shown.drop(columns="country")
if unranked:
    shown = shown.drop(columns=["expected_value", "propensity"])
elif fit:
    shown = shown.drop(columns="expected_value").rename(columns={"propensity": "fit_score"})
    shown["fit_score"] = (shown["fit_score"] * 100).round(0)
where = f"in {rep_name}'s territory" if rep_id else "among the accounts you may see"
ranked_by = "revenue potential" if unranked else "fit score x potential" if fit else "expected value"
event = st.dataframe(
    # Rows tall enough for four wrapped lines; the figures before the Why column, so all of them show at 1,280 px
    # (Potential was cut); no column empty on every row (a book without IDs or states).
    tables.drop_empty(shown.assign(reasons=shown["reasons"].str.replace("; ", "\n", regex=False),
                                   account_id=shown["account_id"].map(text.crm_record_id)), keep=("rank",)),
    hide_index=True,
    width="stretch",
    height=640,
    row_height=92,
    placeholder=fmt.MISSING,
    key="tg_table",
    on_select="rerun",
    selection_mode="multi-row",
    column_config={
        "rank": st.column_config.NumberColumn(
            "Rank", format="%d", width=50, help=f"1 = highest {ranked_by} {where} matching these filters."
        ),
        "industry": "Industry",
        "employees": st.column_config.NumberColumn("Employees", format="localized"),
        "city": "City",
        "state": "State",
        "country": "Country",
        "propensity": st.column_config.ProgressColumn("Propensity", format="percent", min_value=0.0, max_value=1.0),
        "fit_score": st.column_config.ProgressColumn(
            "Fit score", format="%d", min_value=0, max_value=100,
            help="0-100: industry and size compared with the won deals (no model yet); not a probability.",
        ),
        "potential": fmt.money_column("Potential"),
        "expected_value": fmt.money_column("Expected value"),
        "open_deals": st.column_config.NumberColumn("Open deals", format="%d"),
        "reasons": st.column_config.TextColumn(
            "Why (▲ raised the score, ▼ lowered it)", width=360,
            help=f"The {'fit score' if fit else 'model'}'s strongest drivers for this account, compared with a "
            "typical account (an industry: with the book's overall win rate; none where every account scores the "
            "same): ▲ raised its "
            "score; ▼ lowered it."
            if not unranked
            else "No model has been trained yet, so no account has a score or reasons; train one on the Model page.",
        ),
        "name": st.column_config.TextColumn("Account", width=160),
        "owner": st.column_config.TextColumn("Owner", width=120),
        "account_id": "Account ID",
    },
)  # fmt: skip
selected = [int(i) for i in (event.selection.rows if event is not None else [])]
chosen = shown.iloc[selected]["account_id"].tolist() if selected else []

with st.container():
    who = f"{rep_name}'s plan" if rep_id else "a rep's plan (choose a territory)"
    label = f"Add {len(chosen)} selected to {who}" if chosen else f"Add selected rows to {who}"
    clicked = st.button(
        label,
        key="tg_add",
        type="primary",
        disabled=not (rep_id and chosen),
        help="Choose a territory in the sidebar and select rows in the table." if not rep_id else None,
        icon=":material/playlist_add:",
    )
    if clicked:
        try:
            done = targets.add_to_plan(data.db_path(), str(rep_id), chosen, actor=scope.user, scope=scope)
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state["tg_added"] = done
        st.rerun()
    done = st.session_state.pop("tg_added", None)
    if done:
        extra = f" ({done['already_planned']} already in it)" if done["already_planned"] else ""
        said = f"Added {done['added']} accounts to plan {done['plan_id']}{extra}."
        if done.get("from_draft"):  # no saved plan before: the draft Plan showed became the plan
            said = f"Saved the draft plan of {done['from_draft']} targets as plan {done['plan_id']}; {said}"
        st.success(said, icon=":material/check:")
        st.page_link("pages/plan.py", label="Open the territory plan", icon=":material/event_note:")
d1, d2 = st.columns(2)
DOWNLOAD_COLUMNS = {
    "rank": "Rank", "name": "Account", "owner": "Owner", "reasons": "Why", "expected_value": "Expected value",
    "propensity": "Propensity", "fit_score": "Fit score", "potential": "Potential", "open_deals": "Open deals",
    "industry": "Industry", "employees": "Employees", "city": "City", "state": "State",
    "country": "Country", "account_id": "Account ID",
}  # fmt: skip
# The downloads name accounts and columns as the table does (a name key, an import's 'name:...', is no one's CRM
# id), money to the cent in the store's currency; built when clicked, not on every rerun (a row selection is one).
table = export.readable(
    shown.assign(account_id=shown["account_id"].map(text.crm_record_id)), DOWNLOAD_COLUMNS,
    currency=text.currency_in_use(), money=("potential", "expected_value"), digits={"propensity": 4},
)  # fmt: skip
tables.download_button(
    d1,
    f"Download {export.rows_label(len(table))} (CSV)",
    lambda: export.to_csv_bytes(table),
    file_name="targets.csv",
    mime="text/csv",
    key="tg_csv",
    icon=":material/download:",
    on_click="ignore",
)
tables.download_button(
    d2,
    f"Download {export.rows_label(len(table))} (Excel)",
    lambda: export.to_excel_bytes({"targets": table}),
    file_name="targets.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="tg_xlsx",
    icon=":material/download:",
    on_click="ignore",
)
