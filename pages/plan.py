"""Territory plan: a rep's targets with rationale, offers, asks of other teams, a dated
multi-channel sequence, weekly load against capacity, KPI alignment with quota, plan vs actual."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import plan
from planner.errors import PlannerError
from planner.plan import exports as plan_export
from planner.plan import tables
from planner.plan.calendar import WEEKDAYS
from ui import charts, data, fmt, sidebar, state
from ui.tables import download_button

CHANNEL_COLORS = {
    "email": "#00798c",
    "phone": "#d1495b",
    "social": "#edae49",
    "event": "#66a182",
    "decision": "#2e4057",
}
RULE_KEYS = [
    "n_targets", "coverage_target", "meetings_per_week_target", "meeting_rate", "plan_share", "max_stagger_weeks",
    "tier1_share", "tier2_share", "abm_tiers", "abm_lead_days", "partner_intro", "partner_intro_day", "sdr_warmup",
    "sdr_cold_days", "sdr_lead_days", "trial_min_intent", "discount_with_open_deal", "working_days",
    "holiday_country", "holiday_subdiv", "time_zone",
]  # fmt: skip
FORMATS = {"pct": "percent", "int": "localized", "hours": "%.1f h"}


def show_table(df: pd.DataFrame, key: str, **config: object) -> None:
    """A read-only table: numbers and dates formatted by the kind of their column; a column with
    gaps shows them blank (as text), never as None."""
    out, column_config = df.copy(), dict(config)
    for col in df.columns:
        kind = tables.KINDS.get(str(col), "text")
        if df[col].isna().any() or kind in ("text", "bool"):
            out[col] = [tables.cell_text(v, kind) for v in df[col]]
        elif kind == "date":
            out[col] = pd.to_datetime(df[col])
            column_config.setdefault(str(col), st.column_config.DateColumn(str(col), format="ddd D MMM YYYY"))
        elif kind == "money":
            column_config.setdefault(str(col), fmt.money_column(str(col)))
        elif kind in FORMATS:
            column_config.setdefault(str(col), st.column_config.NumberColumn(str(col), format=FORMATS[kind]))
    st.dataframe(out, hide_index=True, width="stretch", key=key, column_config=column_config, placeholder="–")


st.title("Territory plan")
rep_id = sidebar.selected_rep()
if rep_id is None:
    if sidebar.no_reps("A territory plan (one rep's working document)"):
        sidebar.stop()
    st.info(
        "Pick a rep under **Territory** in the sidebar: a plan is one rep's working document for a period.",
        icon=":material/person_search:",
    )
    sidebar.stop()
if sidebar.no_accounts():  # a rep with nothing assigned: the next step, not a plan without targets
    sidebar.stop()
scope = sidebar.scope()
today = date.today()  # a cache key too: tomorrow's plan starts a day later

# ---- period: start and weeks live in the URL ---------------------------------------------------
try:
    with data.snapshot() as snap:
        default_start = data.cached(plan.default_start, snap, scope=scope, rep_id=rep_id, today=today)
        saved = data.cached(plan.saved_plans, snap, scope=scope, rep_id=rep_id)
        window = data.cached(plan.start_window, snap, today=today)  # the starts a plan may take
except PlannerError as exc:
    data.show_error(exc)

if "plan_start" not in st.session_state or st.session_state.get("_plan_rep") != rep_id:
    # A link's start on opening; another rep picked in the sidebar opens on that rep's own default.
    asked = st.query_params.get("start") if "plan_start" not in st.session_state else None
    try:
        wanted = plan.parse_start(asked)
        why = plan.start_problem(wanted, window) if wanted else ""
    except PlannerError:
        wanted, why = None, "not a date; use YYYY-MM-DD"
    if why:  # the link's start is not used: say so, as for any other parameter
        state.ignore("start", asked, why)
    st.session_state["plan_start"] = (None if why else wanted) or default_start
c1, c2, c3 = st.columns([1, 1, 2])
start: date = c1.date_input(
    "Plan start", key="plan_start", format="YYYY-MM-DD",
    min_value=min(window[0], st.session_state["plan_start"]), max_value=max(window[1], st.session_state["plan_start"]),
    help="The plan's first day: by default the next working day after today (or the current saved plan's start).",
)  # fmt: skip
# Written even at the default: the default moves with today, and a link shows the period it was made for.
state.set_param("start", start.isoformat())
weeks = int(
    state.number(
        "Cadence (weeks)",
        param="weeks",
        key="plan_weeks",
        default=6,
        container=c2,
        min_value=1,
        max_value=plan.MAX_WEEKS,
        step=1,
        help="Length of each account's sequence; decision points at half and end.",
    )  # fmt: skip
)
if len(saved):
    # Options are ISO dates (a store may hand back timestamps); labels read "Mon 7 Dec 2026 · 6 weeks · ...".
    labels = {
        pd.Timestamp(row.period_start).date().isoformat(): (
            f"{tables.cell_text(row.period_start, 'date')} · {row.weeks} weeks · {row.targets} targets"
        )
        for row in saved.itertuples()
    }
    c3.caption("Saved plans of this rep")
    # The chosen pill is the saved plan of this start (a link's start= picks it), none for another start.
    st.session_state["plan_saved_pick"] = start.isoformat() if start.isoformat() in labels else None
    c3.pills(
        "Saved plans", list(labels), format_func=lambda d: labels[d], key="plan_saved_pick",
        label_visibility="collapsed", on_change=lambda: st.session_state.update(
            plan_start=date.fromisoformat(st.session_state["plan_saved_pick"])
            if st.session_state["plan_saved_pick"] else st.session_state["plan_start"]
        ),
    )  # fmt: skip
else:
    c3.caption("No saved plan yet for this rep: below is a draft from their ranked accounts.")

# ---- the working copy: reset when rep, start or weeks change ----------------------------------
try:
    with data.snapshot() as snap:
        base = data.cached(plan.load, snap, scope=scope, rep_id=rep_id, start=start, weeks=weeks, today=today)
except PlannerError as exc:
    data.show_error(exc)

# The stored plan is part of the context: targets added elsewhere (Targets page, CLI) show up at once.
ctx = (rep_id, start.isoformat(), weeks, base.plan_id, base.specs(), plan.rules_json(base.rules))
if st.session_state.get("_plan_ctx") != ctx:
    st.session_state["_plan_ctx"] = ctx
    st.session_state["_plan_rep"] = rep_id
    st.session_state["plan_specs"] = base.specs()
    st.session_state["plan_editor_ver"] = st.session_state.get("plan_editor_ver", 0) + 1
    for name in RULE_KEYS:
        value = base.rules[name]
        if name == "abm_tiers":
            value = ",".join(str(v) for v in value)
        elif name == "working_days":
            value = [WEEKDAYS[d] for d in value]
        st.session_state[f"plan_rule_{name}"] = value
    for tier in (1, 2, 3):
        st.session_state[f"plan_rule_mix_{tier}"] = plan.sequence.mix_for_tier(base.rules, tier)

with st.expander("Rules: targets, tiers, collaboration, offers, capacity and company targets", icon=":material/tune:"):
    r1, r2, r3, r4 = st.columns(4)
    r1.number_input("Targets in a fresh plan", 0, 200, step=1, key="plan_rule_n_targets")
    lead_only = "A company target: a leader or admin sets it." if scope.is_rep else None
    r1.number_input("Coverage target (EV / quota)", 0.0, 10.0, step=0.1, key="plan_rule_coverage_target",
                    disabled=scope.is_rep, help=lead_only)  # fmt: skip
    r1.number_input("Meetings per week target", 0.0, 50.0, step=0.5, key="plan_rule_meetings_per_week_target",
                    disabled=scope.is_rep, help=lead_only)  # fmt: skip
    r1.number_input("Meeting rate per target", 0.0, 1.0, step=0.05, key="plan_rule_meeting_rate")
    r2.number_input("Tier 1 share of the book", 0.0, 1.0, step=0.05, key="plan_rule_tier1_share")
    r2.number_input("Tier 2 share of the book", 0.0, 1.0, step=0.05, key="plan_rule_tier2_share")
    r2.text_input("ABM campaign for tiers", key="plan_rule_abm_tiers", help="Comma-separated tiers, e.g. 1 or 1,2.")
    r2.number_input("ABM live days before first touch", 0, 90, step=1, key="plan_rule_abm_lead_days")
    r3.checkbox("Partner intro", key="plan_rule_partner_intro",
                help="Plan a partner introduction when a partner covers the account's industry or state.")  # fmt: skip
    r3.number_input("Partner intro, days after first touch", 0, 60, step=1, key="plan_rule_partner_intro_day")
    r3.selectbox("BDR/SDR warm-up", ["cold", "all", "never"], key="plan_rule_sdr_warmup")
    r3.number_input("Cold = no activity for days", 0, 730, step=10, key="plan_rule_sdr_cold_days")
    r3.number_input("Warm-up days before first touch", 0, 60, step=1, key="plan_rule_sdr_lead_days")
    r4.number_input("Share of selling hours for the plan", 0.05, 1.0, step=0.05, key="plan_rule_plan_share")
    r4.number_input("Max weeks to stagger starts", 0, 12, step=1, key="plan_rule_max_stagger_weeks")
    r4.number_input("Free trial from intent", 0, 100, step=5, key="plan_rule_trial_min_intent")
    r4.checkbox("Open-deal discount", key="plan_rule_discount_with_open_deal",
                help="Offer a discount where the account has an open deal.")  # fmt: skip
    w1, w2, w3, w4 = st.columns([2, 1, 1, 1])
    w1.multiselect("Working days", list(WEEKDAYS), key="plan_rule_working_days", placeholder="the country's week",
                   help="Steps fall on these days only; empty: the working week of the holidays' country "
                        "(Sun-Thu in Saudi Arabia), else Mon-Fri.")  # fmt: skip
    w2.text_input("Holidays of country", key="plan_rule_holiday_country", placeholder="the rep's",
                  help="ISO code such as US, GB, DE; empty: where the rep lives, else their accounts.")  # fmt: skip
    w3.text_input("... and state", key="plan_rule_holiday_subdiv", placeholder="the rep's",
                  help="State or province as a code or as exports write it (CA, BY, Bayern, Maharashtra); "
                       "empty: where the rep's home is.")  # fmt: skip
    w4.text_input("Time zone", key="plan_rule_time_zone", placeholder="the rep's",
                  help="The calendar file's times are in this zone, as IANA names it (Asia/Tokyo, Europe/London, "
                       "America/Chicago); empty: the rep's country's, else their home's.")  # fmt: skip
    m = st.columns(3)
    for tier, col in zip((1, 2, 3), m, strict=True):
        # The short name in the box (a full label is cut in a third of the page); the full one in the help.
        col.selectbox(f"Tier {tier} cadence", list(plan.MIXES), key=f"plan_rule_mix_{tier}",
                      format_func=lambda x: plan.sequence.MIX_LABELS[x].split(" (")[0],
                      help="; ".join(plan.sequence.MIX_LABELS[x] for x in plan.MIXES))  # fmt: skip

rules = dict(base.rules)
for name in RULE_KEYS:
    rules[name] = st.session_state[f"plan_rule_{name}"]
rules["abm_tiers"] = [int(t) for t in str(rules["abm_tiers"]).replace(" ", "").split(",") if t.isdigit()]
rules["tier_mix"] = {str(t): st.session_state[f"plan_rule_mix_{t}"] for t in (1, 2, 3)}

try:
    with data.snapshot() as snap:
        p = data.cached(
            plan.compose, snap, scope=scope, rep_id=rep_id, start=start, weeks=weeks,
            specs=tuple(st.session_state["plan_specs"]), rules=plan.rules_json(rules), plan_id=base.plan_id,
            today=today,
        )  # fmt: skip
except PlannerError as exc:
    data.show_error(exc)

status = f"saved plan #{p.plan_id}" if p.saved else "draft, not saved yet"
d, md = tables.cell_text, plan_export.md_text
st.caption(
    f"**{md(p.rep['name'])}** · {d(p.start, 'date')} to {d(p.end, 'date')} · {p.weeks}-week cadence · {status} · "
    f"data as of {d(p.as_of, 'date')}  \nRanking: {md(p.source)}  \nWorking days: {md(tables.calendar_text(p))}  \n"
    f"Cadence by tier: {md(tables.mixes_text(p))}"
)
for note in p.notes:
    st.warning(plan_export.md_note(note), icon=":material/info:")

# ---- KPI alignment ----------------------------------------------------------------------------
k = p.kpis
m = st.columns(3) + st.columns(3)  # six in a row cut 'Pipeline coverage' and 'Peak hours / week' at 1,280 px
m[0].metric("Targets", f"{k['targets']:,}", help=", ".join(f"{t}: {n}" for t, n in k["tiers"].items()))
m[1].metric("Potential", fmt.money(k["potential"]), help=f"{k['est_users']:,.0f} estimated users x price per user.")
m[2].metric("Expected value", fmt.money(k["expected_value"]), help="Sum of propensity x potential.")
m[3].metric(
    "Pipeline coverage",
    fmt.pct(k["coverage"])
    if k["coverage"] is not None
    else ("not comparable" if k["quota_caveat"] else "n/a" if k["quota"] else "no quota"),
    delta=f"{k['coverage'] - k['coverage_target']:+.0%} vs target" if k["coverage"] is not None else None,
    help=f"Not comparable: {k['quota_caveat']}."
    if k["quota_caveat"]
    else f"Expected value / quota {fmt.money(k['quota'])}; company target {k['coverage_target']:.0%}."
    if k["quota"]
    else "The store holds no quota for this rep, so coverage cannot be measured.",
)
m[4].metric(
    "Meetings / week",
    f"{k['meetings_per_week']:.1f}",
    delta=f"{k['meetings_per_week'] - k['meetings_per_week_target']:+.1f} vs target",
    help=f"{k['expected_meetings']:.1f} expected meetings over {p.weeks} weeks.",
)
m[5].metric(
    "Peak hours / week",
    f"{k['peak_hours']:.1f}",
    delta=f"capacity {k['capacity_per_week']:.1f}",
    delta_color="off",
    help="Hours of plan touches in the busiest week against the rep's weekly capacity for the plan.",
)
company = (
    f" · company quota {fmt.money(k['team_quota'])}, this plan's expected value is "
    f"{fmt.pct(k['share_of_team_quota'], 1)} of it"
    if k["team_quota"] and k["share_of_team_quota"] is not None  # no quota, or no share: several currencies
    else ""
)
st.caption("Accounts per tier: " + " · ".join(f"{t}: **{n}**" for t, n in k["tiers"].items()) + company)
for w in k["warnings"]:
    st.warning(plan_export.md_note(w), icon=":material/warning:")
if len(p.gap):
    st.markdown(f"**Accounts toward the {fmt.money(k['gap'])} gap** (in the ranking's order, as the targets are):")
    show_table(tables.gap_table(p).drop(columns=["Why this account"]), "plan_gap_table")
    if st.button(f"Add these {len(p.gap)} accounts to the plan", key="plan_add_gap", icon=":material/add:"):
        specs = tuple(st.session_state["plan_specs"])
        for account_id in p.gap["account_id"]:
            specs = plan.add_target(specs, str(account_id))
        st.session_state["plan_specs"] = specs
        st.session_state["plan_editor_ver"] += 1
        st.rerun()

# ---- targets: the editable table ------------------------------------------------------------------
st.subheader("Targets")
st.caption(
    "Untick **keep** to remove, change **#** to reorder, pick another **offer**, set the **start week**, "
    "or rewrite the **rationale**; the sequence, asks and KPIs follow at once. Save to keep the plan."
)
table = plan.editor_table(p)
offer_names = list(p.offers.loc[p.offers["active"].fillna(True).astype(bool), "name"])
edited = st.data_editor(
    table,
    key=f"plan_targets_{st.session_state['plan_editor_ver']}",
    hide_index=True,
    width="stretch",
    column_order=[
        "keep",
        "position",
        "name",
        "industry",
        "tier",
        "cadence",
        "est_users",
        "price_per_user",
        "propensity",
        "expected_value",
        "offer",
        "start_week",
        "first_touch",
        "rationale",
    ],  # fmt: skip
    disabled=[
        "name",
        "industry",
        "tier",
        "cadence",
        "est_users",
        "price_per_user",
        "propensity",
        "expected_value",
        "first_touch",
    ],  # fmt: skip
    column_config={
        "keep": st.column_config.CheckboxColumn("Keep", width="small"),
        "position": st.column_config.NumberColumn("#", min_value=1, step=1, width="small"),
        "name": "Account",
        "industry": "Industry",
        "tier": st.column_config.NumberColumn("Tier", width="small"),
        "cadence": st.column_config.TextColumn("Cadence", help="The channel mix of the account's tier (rules)."),
        "first_touch": st.column_config.DateColumn("First touch", format="ddd D MMM"),
        "est_users": st.column_config.NumberColumn("Est. users", format="%d"),
        "price_per_user": fmt.money_column("Price / user"),
        "propensity": st.column_config.NumberColumn("Propensity", format="percent"),
        "expected_value": fmt.money_column("Expected value"),
        "offer": st.column_config.SelectboxColumn("Offer", options=offer_names, width="medium"),
        "start_week": st.column_config.NumberColumn("Start week", min_value=1, max_value=52, step=1, width="small"),
        "rationale": st.column_config.TextColumn("Why this account", width="large"),
    },
    placeholder="–",
)
try:
    new_specs = plan.specs_from_table(edited, p.offers)
except PlannerError as exc:
    st.error(str(exc), icon=":material/error:")
    new_specs = tuple(st.session_state["plan_specs"])
if new_specs != tuple(st.session_state["plan_specs"]):
    st.session_state["plan_specs"] = new_specs
    st.session_state["plan_editor_ver"] += 1
    st.rerun()

a1, a2, a3, a4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
book = p.book
book_labels = {
    row.account_id: f"#{row.book_rank} {row.name} · tier {row.tier} · {fmt.money(row.expected_value)}"
    for row in book.head(500).itertuples()
}
pick = a1.selectbox(
    "Add an account from the rep's ranked book",
    list(book_labels),
    format_func=lambda a: book_labels[a],
    index=None,
    placeholder="Best-ranked accounts not in the plan",
    key="plan_add_pick",
)
if a2.button("Add", key="plan_add", disabled=pick is None, icon=":material/add:"):
    st.session_state["plan_specs"] = plan.add_target(st.session_state["plan_specs"], str(pick))
    st.session_state["plan_editor_ver"] += 1
    st.rerun()
if a3.button("Reset to ranking", key="plan_reset", help="Start again from the top of the ranked book."):
    st.session_state["plan_specs"] = plan.draft_specs(pd.concat([p.targets, book]).sort_values("book_rank"),
                                                      int(rules["n_targets"]))  # fmt: skip
    st.session_state["plan_editor_ver"] += 1
    st.rerun()
if a4.button("Save plan", key="plan_save", type="primary", icon=":material/save:"):
    try:
        plan_id = plan.save(data.db_path(), scope=scope, plan=p)
    except PlannerError as exc:
        data.show_error(exc)
    st.toast(f"Saved plan #{plan_id}", icon=":material/check:")
    st.rerun()

# ---- offers and collaboration --------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Offers")
    st.dataframe(
        plan.offer_usage(p),
        hide_index=True,
        width="stretch",
        key="plan_offer_use",
        placeholder="–",
        column_config={
            "offer": "Offer",
            "targets": "Targets",
            "chosen_by_rep": st.column_config.NumberColumn(
                "Chosen by the rep", help="Targets whose offer the rep picked (the others are suggested)"
            ),
        },
    )
    with st.expander("Offer catalogue", icon=":material/redeem:"):
        st.caption("Kinds: event, case_study (matched to an industry), trial, discount (set valid_until).")
        offers_edit = st.data_editor(
            p.offers.assign(industry=p.offers["industry"].fillna(""), description=p.offers["description"].fillna("")),
            key="plan_offers_editor",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            disabled=scope.is_rep,
            column_config={
                "offer_id": "Offer ID",
                "name": "Name",
                "industry": "Industry",
                "description": "Description",
                "active": "Active",
                "kind": st.column_config.SelectboxColumn("Kind", options=list(plan.OFFER_KINDS)),
                "valid_until": st.column_config.DateColumn("Valid until"),
            },
            placeholder="–",
        )
        if not scope.is_rep and st.button("Save catalogue", key="plan_offers_save"):
            try:
                plan.save_catalogue(data.db_path(), scope=scope, offers=offers_edit)
            except PlannerError as exc:
                data.show_error(exc)
            st.rerun()
with right:
    st.subheader("Asks of other teams")
    if len(p.needs):
        counts = plan.needs_per_team(p)
        st.caption(" · ".join(f"{team}: **{n}**" for team, n in counts.items()))
        tabs = state.tabs(list(counts), param="team", key="plan_needs_tab")
        for tab, team in zip(tabs, counts, strict=True):
            with tab:
                asks = tables.needs_table(p)
                show_table(asks[asks["Team"] == team].drop(columns=["Team", "Serves"]), f"plan_needs_{team}")
    else:
        st.caption("The rules ask nothing of other teams for these targets.")
    with st.expander("Partners", icon=":material/handshake:"):
        partners_edit = st.data_editor(
            plan.partners_for_editing(p),
            key="plan_partners_editor",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            disabled=scope.is_rep,
            placeholder="–",
        )
        st.caption(
            "Industries and regions as comma-separated lists (US states as 'WA', elsewhere country-region as "
            "'AU-WA'); a partner covering either is asked for intros."
            + ("" if len(p.partners) else " No partners yet: add your company's own here.")
        )
        if not scope.is_rep and st.button("Save partners", key="plan_partners_save"):
            try:
                plan.save_catalogue(data.db_path(), scope=scope, partners=partners_edit)
            except PlannerError as exc:
                data.show_error(exc)
            st.rerun()

# ---- the sequence ----------------------------------------------------------------------------------
st.subheader("Engagement sequence")
steps = p.steps.copy()
if len(steps):
    steps["start"] = pd.to_datetime(steps["step_date"])
    steps["finish"] = steps["start"] + pd.Timedelta(hours=20)
    steps["account"] = steps["position"].astype(str) + ". " + steps["account_name"].map(charts.short)
    steps["action"] = steps["action"].map(charts.safe)  # users' text (offers, names): plotly reads markup
    fig = px.timeline(
        steps,
        x_start="start",
        x_end="finish",
        y="account",
        color="channel",
        color_discrete_map=CHANNEL_COLORS,
        hover_data={"action": True, "step_date": True, "start": False, "finish": False, "account": False},
        category_orders={"account": list(dict.fromkeys(steps.sort_values("position")["account"]))},
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_layout(
        height=max(320, 26 * len(p.targets) + 150), margin={"t": 64, "b": 10, "l": 10, "r": 10},
        legend_title_text="Channel", title={**charts.TITLE, "text": "Every touch and decision point"},
    )  # fmt: skip
    marks = {p.as_of: "data as of"} | {today: "today" if today != p.as_of else "today, data as of"}
    for day, label in marks.items():  # one label where both fall on a day (they were drawn over each other)
        if p.start - pd.Timedelta(days=7) <= day <= p.end:
            fig.add_vline(x=pd.Timestamp(day).timestamp() * 1000, line_dash="dot", line_color="#888",
                          annotation_text=label)  # fmt: skip
    st.plotly_chart(fig, width="stretch", key="plan_timeline")

    load = p.load
    bar = go.Figure(
        go.Bar(
            x=[f"W{w} ({d:%b %d})" for w, d in zip(load["week"], load["week_start"], strict=True)],
            y=load["hours"],
            marker_color=["#d1495b" if o else "#00798c" for o in load["overloaded"]],
            customdata=load["touches"],
            hovertemplate="%{x}<br>%{y:.1f} h, %{customdata} touches<extra></extra>",
        )
    )
    bar.add_hline(y=k["capacity_per_week"], line_dash="dash", annotation_text="capacity", line_color="#2e4057")
    bar.update_layout(
        title={**charts.TITLE, "text": "Weekly load against capacity (red: overloaded)"}, yaxis_title="Hours",
        height=340, margin={"t": 64, "b": 10, "l": 10, "r": 10},
    )  # fmt: skip
    st.plotly_chart(bar, width="stretch", key="plan_load_chart")
    with st.expander("All steps", icon=":material/list:"):
        show_table(tables.steps_table(p), "plan_steps_table")
else:
    st.caption("No targets, no sequence: add accounts above.")

# ---- plan vs actual --------------------------------------------------------------------------------
st.subheader("Plan vs actual")
if p.start > p.as_of:
    st.caption(
        f"The plan starts after the data's as-of date ({d(p.as_of, 'date')}): nothing to compare yet. "
        "Pick an earlier start to see how the targets did."
    )
else:
    s = plan.actual_summary(p)
    known = s["activities_known"]  # else: none on record, so touches and decisions are unknown (the note says why)
    why = "Not known: no activities are on record (see the note at the top)."
    c = st.columns(5)
    c[0].metric(
        "Touched",
        f"{s['touched']} / {s['targets']}" if known else "—",
        help=f"Since {d(p.start, 'date')}, to {d(p.as_of, 'date')}." if known else why,
    )
    c[1].metric("Met", f"{s['met']}" if known else "—", help="A meeting was held." if known else why)
    c[2].metric("Opportunities", f"{s['opportunities']}", help=fmt.money(s["opportunity_amount"]))
    c[3].metric(
        "To nurture",
        f"{s['nurture']}" if known else "—",
        help="No reply by the first decision point." if known else why,
    )
    c[4].metric("To drop", f"{s['drop']}" if known else "—",
                help="No meeting by the last decision point." if known else why)  # fmt: skip
show_table(tables.actual_table(p), "plan_actual_table")

# ---- downloads and the printable view --------------------------------------------------------------
st.subheader("Export")
dl = st.columns(5)
# Files are built only when a button is clicked (a callable runs then), not on every rerun.
downloads = [
    ("Markdown", lambda: plan_export.to_markdown(p), ".md", "text/markdown", "md"),
    ("Excel", lambda: plan_export.to_excel(p), ".xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("Calendar (.ics)", lambda: plan_export.to_ics(p), ".ics", "text/calendar", "ics"),
    ("Sequence CSV", lambda: plan_export.to_engagement_csv(p), "-steps.csv", "text/csv", "csv"),
    ("Printable HTML", lambda: plan_export.to_html(p), ".html", "text/html", "html"),
]  # fmt: skip
for col, (label, build, suffix, mime, key) in zip(dl, downloads, strict=True):
    download_button(
        col,
        label,
        build,
        plan_export.file_name(p, suffix),
        mime,
        key=f"plan_dl_{key}",
        on_click="ignore",
        help="Every step, one row each, to import into Salesloft or Outreach." if key == "csv" else None,
    )
if st.toggle("Printable view", key="plan_print"):
    st.html(plan_export.to_html(p))
