"""Rebalance: what-if territories from the optimizer, measured against what is possible; scenarios."""

from __future__ import annotations

import hashlib

import streamlit as st
from plotly.subplots import make_subplots

from ui import shell, tables

shell.ensure_routed()

from planner import crm_files, export, geo, optimize, scenarios, text
from planner.errors import PlannerError
from ui import charts, commit, data, fmt, job_views, maps, markets, sidebar, state, travel, whatif
from ui.auth import md_text

METRIC_LABELS = {
    "potential": "Potential",
    "expected_value": "Expected value",
    "accounts": "Accounts",
    "workload": "Workload (hours)",
    "mix": "Weighted mix",
}
UNIT_LABELS = {
    "account": "Accounts",
    "zip3": "ZIP3 areas",
    "county": "Counties",
    "state": "States",
    "h3": "H3 hexagons",
}
MAP_DOTS = 4000
# The owner-update files (planner.crm_files.FORMATS): button label and widget key.
CRM_DOWNLOADS = {
    "salesforce": ("Salesforce Data Loader (CSV)", "rb_dl_sf"),
    "hubspot": ("HubSpot import (CSV)", "rb_dl_hs"),
    "dynamics": ("Dynamics 365 import (CSV)", "rb_dl_dyn"),
    "pipedrive": ("Pipedrive import (CSV)", "rb_dl_pd"),
    "plain": ("Owner list (CSV)", "rb_dl_plain"),
}

REP_LINK = (
    "This link is for a page your role cannot open: rebalancing weighs every territory against the others, so a "
    "sales leader or an admin runs it. Your own territory is on Overview, Coverage and Plan."
)
st.title("Rebalance territories")
scope = sidebar.scope()
if scope.is_rep:
    if not state.not_for_role(REP_LINK):
        st.info("Rebalancing weighs every territory against the others; a sales leader or an admin runs it.")
    sidebar.stop()
if sidebar.no_reps("Rebalancing (it divides the accounts among reps)"):
    sidebar.stop()
fmt.currency_caveat()  # potential, pipeline and quota are balanced as written

try:
    with data.snapshot() as snap:
        # Only the team: the accounts load when the optimizer runs (1M rows would slow every first render).
        reps = data.cached(scenarios.team, snap, scope=scope)
except PlannerError as exc:
    data.show_error(exc)

active = reps[reps["active"].astype(bool)]
rep_names = dict(zip(reps["rep_id"], reps["name"], strict=True))

# --- What to balance --------------------------------------------------------------------------------
c = st.columns([3, 2, 2, 2])  # the metric chips need the room (each pick is a chip with a close button)
if "rb_metric" not in st.session_state and not st.query_params.get("metric"):
    st.session_state["rb_metric"] = ["potential"]
picked = state.multiselect(
    "Balance", list(METRIC_LABELS), param="metric", key="rb_metric", container=c[0], format_func=METRIC_LABELS.get,
    help="Every metric picked is kept within its tolerance, each on its own (one tolerance per metric below when "
    "several are picked); a weighted mix balances one blend. Workload is each account's own hours a year: its "
    "meetings plus travel from its nearest rep's home (the Settings page's assumptions); 'Rep hours' in the result "
    "adds each rep's own travel, as Coverage counts it.",
) or ["potential"]  # fmt: skip
metric = "mix" if "mix" in picked else ",".join(picked)
tol_pct = state.percent(
    "Tolerance ± %",
    param="tol",
    key="rb_tol",
    container=c[1],
    default=5.0,
    help="The band around the mean target that counts as balanced (5 = within ± 5 %).",
)
tolerance = tol_pct / 100
max_moved = state.number(
    "Most that may move (share, 0 = as little as needed)", param="mm", key="rb_mm", container=c[2], default=0.0,
    min_value=0.0, max_value=1.0, step=0.05, format="%.2f",
)  # fmt: skip
unit = state.selectbox(
    "Move whole", list(UNIT_LABELS), param="unit", key="rb_unit", container=c[3], default="account",
    format_func=UNIT_LABELS.get,
    help="Move single accounts, or whole areas together (every account of a ZIP3, county or state goes to one rep; "
    "H3 hexagons work in any country: as fine as gives at most 25 a rep, finer where one would hold half a "
    "territory). Areas make each territory one "
    "connected region only with the option 'One connected region per territory'.",
)  # fmt: skip
weights: tuple[tuple[str, float], ...] = ()
if metric == "mix":
    w = st.columns(4)
    weights = tuple(
        (m, float(w[i].slider(METRIC_LABELS[m], 0.0, 1.0, 0.5 if m in ("potential", "accounts") else 0.0,
                              0.05, key=f"rb_w_{m}")))
        for i, m in enumerate(optimize.METRICS)
    )  # fmt: skip
# Several metrics: one tolerance each (as `balance --tolerance potential=0.05,accounts=0.10`), in the link as
# ?tol_accounts=10 (percent) when it differs from the one above; each follows the one above until it is changed.
tolerances: list[tuple[str, float]] = []
own_tol = metric != "mix" and len(picked) > 1
prev_tol = st.session_state.get("rb_tol_prev", tol_pct)
tc = st.columns(4) if own_tol else []
for m in optimize.METRICS:
    key = f"rb_tol_{m}"
    if not own_tol or m not in picked:
        st.session_state.pop(key, None)
        state.set_param(f"tol_{m}", None)
        continue
    if st.session_state.get(key) == prev_tol:
        st.session_state[key] = tol_pct
    own = state.percent(
        f"{METRIC_LABELS[m]}: ± %", param=f"tol_{m}", key=key, container=tc[picked.index(m) % 4], default=tol_pct,
        help="This metric's own band (± % of the mean); it follows the tolerance above until you change it.",
    )  # fmt: skip
    if own != tol_pct:
        tolerances.append((m, own / 100))
st.session_state["rb_tol_prev"] = tol_pct
# One below the other: side by side, the labels clip at 1,100 px.
allow_customers = state.checkbox("Customers may change owner", param="customers", key="rb_cust")
allow_open = state.checkbox("Accounts with open deals may change owner", param="open_deals", key="rb_open")
within = markets.within_control()
contiguous = state.checkbox(
    "One connected region per territory", param="contiguous", key="rb_contig", disabled=unit == "account",
    help="With whole areas (ZIP3, county, state, H3): each territory's areas form one connected region, neighbours "
    "being the pairs of an adjacency file when you give one, else areas whose centres share a Delaunay edge. "
    "Single accounts have no regions: pick an area in 'Move whole'.",
) and unit != "account"  # fmt: skip
adjacency: tuple[tuple[str, str], ...] | None = None
if contiguous and unit != "h3":  # an adjacency file pairs ZIP3s, counties or states
    adjacency_file = st.file_uploader(
        "Neighbouring areas (optional CSV: from,to)", type=["csv"], key="rb_adjacency",
        help="One row per pair of neighbouring areas in the codes of 'Move whole': ZIP3 (021), county "
        "('MA · Middlesex County' or the Census county adjacency file's 'Middlesex County, MA') or state (MA). "
        "Areas with no neighbour in it are islands: any territory may hold them.",
    )  # fmt: skip
    if adjacency_file is not None:
        try:
            adjacency = optimize.read_adjacency(adjacency_file.getvalue(), unit, adjacency_file.name)
        except PlannerError as exc:
            data.show_error(exc)

with st.expander("What-if: team, capacity and locks", icon=":material/groups:"):
    remove = state.multiselect(
        "Remove reps", list(active["rep_id"]), param="rm", key="rb_remove", format_func=lambda r: rep_names.get(r, r),
        help="Their accounts are shared out among the others.",
    )  # fmt: skip
    successor = whatif.successor(list(active["rep_id"]), remove, rep_names)
    cities = geo.hire_cities()  # worldwide, largest first: 'Hamburg, DE', 'London, GB', 'Boston, MA, US'
    city_key = cities["label"].tolist()
    homes = dict(zip(city_key, zip(cities["lat"], cities["lon"], strict=True), strict=True))
    hires = state.multiselect(
        "Add reps based in", city_key, param="add", key="rb_add", help="A new rep per city, working from there."
    )
    st.caption("Capacity: a rep's target is proportional to their selling hours (equal hours, equal targets).")
    caps = st.data_editor(
        active[["rep_id", "name", "capacity_hours"]].reset_index(drop=True),
        key="rb_caps", hide_index=True, disabled=["rep_id", "name"], width="stretch",
        column_config={"rep_id": None, "name": "Rep",  # rep ids are the store's, not the team's
                       "capacity_hours": st.column_config.NumberColumn("Hours a year", min_value=1, step=50)},
        placeholder="–",
    )  # fmt: skip
    locks_text = st.text_area("Lock accounts (ids or exact names, one a line)", key="rb_locks", height=68)

matrix_file = travel.matrix_inputs(scope)

with st.expander("Solver time", icon=":material/timer:"):
    time_limit = state.number(
        "Time limit per solver step (seconds)", param="tl", key="rb_tl", default=120, min_value=10, max_value=3600,
        step=30,
        help="Each LP or MIP step stops here (as `balance --time-limit`). Several metrics over many reps make the "
        "largest problems: 20,000 accounts, 200 reps and three metrics take about 3 minutes on a 2-core machine; "
        "100,000 about 15, with steps over the default 120 s.",
    )  # fmt: skip

base_caps = dict(zip(active["rep_id"], active["capacity_hours"], strict=True))
capacities = tuple(
    (r, float(h)) for r, h in zip(caps["rep_id"], caps["capacity_hours"], strict=True)
    if h == h and base_caps.get(r) != h and r not in remove
)  # fmt: skip
options = optimize.Options(
    metric="potential" if metric == "mix" else metric,
    weights=weights,
    tolerance=float(tolerance),
    tolerances=tuple(tolerances),
    max_moved=float(max_moved) if max_moved > 0 else None,
    unit=unit,
    contiguous=contiguous,
    adjacency=adjacency,
    allow_customers=allow_customers,
    allow_open_deals=allow_open,
    locks=optimize.lock_lines(locks_text),
    successor=successor if remove else None,
    add_reps=tuple(
        optimize.NewRep(
            name=f"New rep · {name}",
            home_lat=float(homes[name][0]),
            home_lon=float(homes[name][1]),
            rep_id=f"NEW{i + 1}",
        )
        for i, name in enumerate(hires)
    ),  # fmt: skip
    remove_reps=tuple(remove),
    capacities=capacities,
    time_limit_s=float(time_limit),
    within=within,
)

n_team = len(active) - len(remove) + len(hires)
if metric != "mix" and optimize.large_problem(len(picked), n_team, time_limit):
    st.caption(
        f":orange-badge[Large problem] {len(picked)} metrics over {n_team} reps: each solver step may need more than "
        f"{time_limit:,} s (200 reps, three metrics, on a 2-core machine: 20,000 accounts about 3 minutes in all, "
        "100,000 about 15 with steps of up to 3). Raise 'Solver time' if the run stops at its limit."
    )
run = st.button("Run optimizer", type="primary", key="rb_run", icon=":material/play_arrow:")
matrix_now = (matrix_file.name, matrix_file.getvalue()) if matrix_file else None
if run and job_views.free(job_views.OPTIMIZE, scope):  # one run at a time: a second click says which one runs
    st.session_state["rb_options"] = options
    st.session_state["rb_matrix_run"] = matrix_now
    st.session_state.pop("rb_failed", None)  # a failed run is tried again
job_views.resume_optimizer(scope)  # a run that went on while the user was on another page
ran: optimize.Options | None = st.session_state.get("rb_options")
if ran is None:
    st.info("Set what to balance and what may change, then run the optimizer. Nothing changes until you commit.")
else:
    # The travel matrix is a setting too: swapped for another file, or removed, the result shown is not its.
    if ran != options or travel.matrix_identity(matrix_now) != travel.matrix_identity(
        st.session_state.get("rb_matrix_run")
    ):
        st.caption(":orange-badge[Settings changed] run again to see their effect; showing the last run.")
    try:  # a background job: it goes on while the user is on another page (ui/job_views.py)
        result = job_views.optimizer_result(ran, st.session_state.get("rb_matrix_run"), scope)
    except PlannerError as exc:
        data.show_error(exc)
    s = result.summary

    # --- Result vs bounds -------------------------------------------------------------------------------
    st.subheader("Result, measured against what is possible")
    m = st.columns(4) + st.columns(4)
    label, after, before = markets.headline(s)  # several metrics: the worst after, against itself today
    m[0].metric(label, fmt.ratio(after), delta=f"{after - before:+.2f}", delta_color="inverse",
                help=f"Today {before:.2f}. Band: {optimize.tolerance_text(s)}.")  # fmt: skip
    m[1].metric("Lower bound", fmt.ratio(s["lower_bound"]), help="max(1, largest account x reps / total, fixed loads)")
    changes = scenarios.result_changes(result)
    m[2].metric(
        "Accounts moved", f"{s['moved_accounts']:,}",
        help="Accounts that go from one rep to another (unowned accounts given an owner are counted apart).",
    )  # fmt: skip
    m[3].metric(
        "Moved share of the metric", fmt.pct(s["moved_share"], 1),
        help=f"At least {s['min_moved_share']:.1%} had to move (each territory's excess over the band any "
        "assignment can reach, metric by metric: one account bigger than a band widens that metric's band only).",
    )  # fmt: skip
    m[4].metric("Least that had to move", fmt.pct(s["min_moved_share"], 1))
    d_km = s["travel_km_after"] - s["travel_km_today"]
    tu = s.get("travel_unit", "km")  # minutes or km of an uploaded travel matrix, else great-circle km
    m[5].metric(
        "Mean travel", f"{s['travel_km_after']:,.1f} {tu}",
        delta=f"{d_km:+,.1f} {tu}" if abs(d_km) >= 0.05 else "same as today",
        delta_color="inverse" if abs(d_km) >= 0.05 else "off", delta_arrow="auto" if abs(d_km) >= 0.05 else "off",
        help=f"Today {s['travel_km_today']:,.1f} {tu} from each account to its owner's home; the optimizer keeps it "
        "at or below today's unless balance needs more (then a note says why).",
    )  # fmt: skip
    m[6].metric(
        "Travel bounds", f"{s.get('travel_km_lp_bound', float('nan')):,.0f} {tu}",
        help=markets.travel_bound_help(s, tu),
    )  # fmt: skip
    m[7].metric("Solve time", f"{s['solve_seconds']:.2f} s", help=s.get("solver", ""))
    q = st.columns(4)
    q[0].metric(
        "Far accounts (p95 travel)", f"{fmt.count(s['travel_km_p95_after'])} {tu}",
        help=f"95% of accounts are at most this far from their rep; today {fmt.count(s['travel_km_p95_today'])} {tu}. "
        f"No assignment goes below {fmt.count(s['travel_km_p95_nearest'])} {tu} (each account with its nearest rep).",
    )  # fmt: skip
    q[1].metric(
        "Rep among 3 nearest", fmt.pct(s["top3_share_after"], 0),
        help=f"Share of accounts whose rep is one of the 3 nearest to them; today {fmt.pct(s['top3_share_today'], 0)}.",
    )  # fmt: skip
    q[2].metric(
        "Inside another territory", fmt.pct(s["overlap_after"], 0),
        help="Share of accounts that lie inside another territory's outline (convex hull of its accounts); "
        f"today {fmt.pct(s['overlap_today'], 0)}.",
    )  # fmt: skip
    q[3].metric(
        "Rep hours, max / mean", fmt.ratio(s["rep_hours_max_mean_after"]),
        help="Each rep's yearly hours with their own travel from home, as Coverage counts workload "
        f"(the workload band counts each account's travel from its nearest rep); today "
        f"{fmt.ratio(s['rep_hours_max_mean_before'])}.",
    )  # fmt: skip
    if len(s.get("metrics", [])) > 1:
        st.dataframe(
            [{"Metric": b["metric"], "Max / mean today": fmt.ratio(b["max_mean_before"]),
              "Max / mean": fmt.ratio(b["max_mean_after"]), "Lower bound": fmt.ratio(b["lower_bound"]),
              "Largest deviation": fmt.pct(b["largest_deviation"], 1), "Tolerance": fmt.pct(b["tolerance"], 0),
              "Within": "yes" if b["met"] else "no"} for b in s["metrics"]],
            hide_index=True, key="rb_metrics_table", placeholder="–",
        )  # fmt: skip
    markets.market_table(s, tu)
    if s["tolerance_met"]:
        band = optimize.tolerance_text(s)  # "±5%", or each metric's own ("potential ±5%, accounts ±10%")
        within = (
            f"{band} of its target on {s['metric']}" if band.startswith("±") else f"its band on every metric ({band})"
        )
        st.success(
            f"Every territory within {within}; nearest-rep travel would be {s['travel_km_nearest']:,.0f} {tu} "
            "(no balance at all).",
            icon=":material/check_circle:",
        )
    st.caption(
        f"Owner changes: {scenarios.describe_changes(changes)} ({changes['changed']:,} rows in the moves table and "
        "the CRM update files)."
    )
    if "contiguous" in s:
        moved_units = s.get("contiguity_units_moved", 0)
        how = (
            f"neighbours as the adjacency file pairs them, {s['adjacency_edges']:,} pairs; "
            f"{s['adjacency_islands']:,} area(s) without a neighbour in it are islands, exempt"
            + (
                f"; {s['adjacency_detached']:,} area(s) in {s['adjacency_groups'] - 1:,} group(s) it links to no "
                "other (e.g. Hawaii's) are exempt too"
                if s.get("adjacency_detached")
                else ""
            )
            + (
                f"; {s['adjacency_unknown']:,} code(s) in it name no known area, their pairs ignored (e.g. "
                f"{md_text(str(s['adjacency_unknown_example']))})"
                if s.get("adjacency_unknown")
                else ""
            )
            if s.get("adjacency") == "file"
            else "neighbours share a Delaunay edge between area centres"
            + (
                f"; {s['adjacency_islands']:,} area(s) of accounts without a place of their own are exempt"
                if s.get("adjacency_islands")
                else ""
            )
        )
        st.caption(
            f"One connected region per territory: {'every' if s['contiguous'] else 'not every'} territory's "
            f"{UNIT_LABELS[s['unit']].lower().replace('h3', 'H3')}"
            + (f" (resolution {s['h3_resolution']})" if s.get("h3_resolution") is not None else "")
            + f" form one connected region ({how}); {moved_units:,} area(s) changed "
            f"territory to join one up, {s.get('contiguity_band_moves', 0):,} to bring bands back and "
            f"{s.get('contiguity_travel_moves', 0):,} to shorten travel."
            + (
                " Bringing bands back stopped at its time budget (a quarter of the solver's time limit): "
                "territories are whole, bands may be missed (see above)."
                if s.get("contiguity_stopped_by_time")
                else ""
            )
        )
    for reason in s["reasons"]:
        st.warning(md_text(reason, 2000), icon=":material/info:")
    for note in s.get("notes", []):  # plain text that may name reps (CRM owner names): shown as written
        st.caption(md_text(note, 2000))

    # --- Before / after ---------------------------------------------------------------------------------
    r = result.reps.copy()
    r["label"] = (
        r["name"] + r["removed"].map({True: " (leaves)", False: ""}) + r["is_new"].map({True: " (new)", False: ""})
    )
    mean = r["target_share"].mean()
    title = f"{s['metric'][:1].upper()}{s['metric'][1:]} per territory, relative to the mean target"
    fig = charts.before_after_bars(r["label"], r["before"].fillna(0) / mean, r["after"].fillna(0) / mean,
                                   tolerance=s["tolerance"], title=title)  # fmt: skip
    st.plotly_chart(fig, width="stretch", key="rb_bars")
    idx = st.columns(2)
    idx[0].dataframe(
        {"index": ["max / mean", "min / mean", "CV", "Gini"],
         "before": [s["before"][k] for k in ("max_mean", "min_mean", "cv", "gini")],
         "after": [s["after"][k] for k in ("max_mean", "min_mean", "cv", "gini")]},
        hide_index=True, key="rb_indices",
        column_config={"index": f"Index of {s['metric']}",
                       "before": st.column_config.NumberColumn("Before", format="%.3f"),
                       "after": st.column_config.NumberColumn("After", format="%.3f")}, placeholder="–",
    )  # fmt: skip
    idx[1].dataframe(
        r[["label", "accounts_before", "accounts_after", "potential_before", "potential_after", "moved_in",
           "moved_out"]],
        hide_index=True, key="rb_rep_table",
        column_config={"label": "Territory", "accounts_before": "Accounts before", "accounts_after": "Accounts after",
                       "potential_before": fmt.money_column("Potential before"),
                       "potential_after": fmt.money_column("Potential after"), "moved_in": "Moved in",
                       "moved_out": "Moved out"}, placeholder="–",
    )  # fmt: skip

    a = result.assignments
    shown = a.sort_values("potential", ascending=False).head(MAP_DOTS)
    colors = maps.territory_colors(list(reps["rep_id"]) + list(r["rep_id"]))
    names = {**rep_names, **dict(zip(r["rep_id"], r["name"], strict=True))}
    # Fit the narrowest the two columns get (a 1,100 px window) so neither coast is cropped.
    view = maps.view_state(shown["lat"], shown["lon"], width_px=440, height_px=400)
    two = st.columns(2)
    for col, (title, owner_col) in zip(two, (("Before", "previous_owner"), ("After", "owner")), strict=True):
        pts = shown.assign(
            owner_rep_id=shown[owner_col], owner_name=shown[owner_col].map(names),
            status=shown["moved"].map({True: "moves", False: "stays"}),
        )  # fmt: skip
        home_rows = r[~r["removed"]] if owner_col == "owner" else r[~r["is_new"]]
        col.markdown(f"**{title}** · largest {len(shown):,} accounts by potential")
        col.pydeck_chart(
            maps.deck([*maps.borders_layers(), maps.accounts_layer(pts, colors, f"acc_{owner_col}"),
                       maps.homes_layer(home_rows, colors, f"homes_{owner_col}")], view, height=420),
            key=f"rb_map_{owner_col}", height=420,
        )  # fmt: skip

    st.subheader("Owner changes")
    moves = result.moves().copy()
    moves["change"] = scenarios.owner_change(moves["previous_owner"], moves["owner"])
    moves["from"], moves["to"] = moves["previous_owner"].map(names).fillna(fmt.MISSING), moves["owner"].map(names)
    table = moves[["name", "account_id", "city", "state", "potential", "change", "from", "to", "km_before", "km_after",
                   "reason"]].assign(account_id=moves["account_id"].map(text.crm_record_id))  # fmt: skip
    table = table.drop(columns=[] if (table["account_id"] != "").any() else ["account_id"])  # no CRM ids at all
    st.dataframe(
        table.sort_values("potential", ascending=False), hide_index=True, width="stretch", key="rb_moves", height=320,
        placeholder=fmt.MISSING,
        column_config={"potential": fmt.money_column("Potential"),
                       "account_id": "Account ID", "name": "Account", "city": "City", "state": "State",
                       "change": "Change", "from": "From", "to": "To", "reason": "Reason",
                       "km_before": st.column_config.NumberColumn(f"{tu} before", format="%.0f"),
                       "km_after": st.column_config.NumberColumn(f"{tu} after", format="%.0f")},
    )  # fmt: skip
    d = st.columns(3)
    cur = text.currency_in_use()  # the files are built when clicked, on a thread of their own: named here
    moves_file = crm_files.moves_for_people(table, cur, tu)
    tables.download_button(
        d[0], "Assignment (CSV)",
        lambda: export.to_csv_bytes(
            crm_files.plain_for_people(scenarios.result_file(result, reps, "plain").table, cur)),
        file_name="assignment.csv", mime="text/csv", key="rb_dl_assignment", on_click="ignore",
    )  # fmt: skip
    tables.download_button(
        d[1], "Owner changes (CSV)", lambda: export.to_csv_bytes(moves_file), file_name="moves.csv", mime="text/csv",
        key="rb_dl_moves", on_click="ignore",
    )  # fmt: skip
    with d[2].form("rb_save_form", border=False):
        name = st.text_input("Scenario name", key="rb_name", placeholder="e.g. Two hires in Texas")
        if st.form_submit_button("Save scenario", icon=":material/save:"):
            try:
                sid = scenarios.save(data.db_path(), name, result, scope.user, scope=scope)
                st.session_state["rb_saved"] = st.session_state["rb_pick_id"] = sid  # the picker shows it
                st.rerun()
            except PlannerError as exc:
                st.error(data.error_text(exc))
if st.session_state.get("rb_saved"):
    st.toast(f"Saved scenario #{st.session_state.pop('rb_saved')}", icon=":material/save:")

# --- Scenarios: compare, commit, export, restore ------------------------------------------------------
st.subheader("Scenarios")
try:
    with data.snapshot() as snap:
        saved = data.cached(scenarios.list_scenarios, snap, scope=scope)
        versions = data.cached(scenarios.versions, snap, scope=scope)
except PlannerError as exc:
    data.show_error(exc)
if saved.empty:
    st.caption("No saved scenarios yet: run the optimizer and save a result to compare, commit and export it.")
else:
    st.dataframe(
        saved[["scenario_id", "name", "status", "metric", "max_mean_before", "max_mean_after", "moved_accounts",
               "newly_assigned", "moved_share", "travel_km_after", "created_by", "created_at", "committed_by",
               "committed_at"]],
        hide_index=True, width="stretch", key="rb_scenarios", placeholder=fmt.MISSING,
        column_config={"scenario_id": st.column_config.NumberColumn("#", format="%d"), "name": "Name",
                       "status": "Status", "metric": "Metric", "created_by": "By", "created_at": "Saved",
                       "committed_by": "Committed by", "committed_at": "Committed",
                       "moved_accounts": st.column_config.NumberColumn("Moved accounts", format="%d"),
                       "newly_assigned": st.column_config.NumberColumn("Newly assigned", format="%d",
                                                                       help="Unowned accounts given an owner."),
                       "moved_share": st.column_config.NumberColumn("Moved share", format="percent"),
                       "max_mean_before": st.column_config.NumberColumn("Max/mean before", format="%.2f"),
                       "max_mean_after": st.column_config.NumberColumn("Max/mean after", format="%.2f"),
                       "travel_km_after": st.column_config.NumberColumn("Travel km", format="%.0f")},
    )  # fmt: skip
    labels = {
        int(i): f"#{i} {n} ({s})" for i, n, s in zip(saved["scenario_id"], saved["name"], saved["status"], strict=True)
    }
    # The browser keeps a widget's option labels while its key stays the same, so a commit would leave
    # "(draft)" on the chips: key the pickers by their labels and carry the choice over to the new key.
    version = hashlib.sha1("|".join(labels.values()).encode()).hexdigest()[:8]
    compare_key, pick_key = f"rb_compare_{version}", f"rb_pick_{version}"
    # A link's ?compare= and ?scenario= choose them on first opening (state reads the URL into a new key).
    if compare_key not in st.session_state and "rb_compare_ids" in st.session_state:
        st.session_state[compare_key] = [i for i in st.session_state["rb_compare_ids"] if i in labels]
    if pick_key not in st.session_state and st.session_state.get("rb_pick_id") in labels:
        st.session_state[pick_key] = st.session_state["rb_pick_id"]
    chosen = state.multiselect("Compare", list(labels), param="compare", key=compare_key, format_func=labels.get,
                               max_selections=4)  # fmt: skip
    st.session_state["rb_compare_ids"] = chosen
    if chosen:
        with data.snapshot() as snap:
            cmp = data.cached(scenarios.compare, snap, chosen, scope=scope)
        for note in cmp["notes"]:
            st.caption(md_text(note, limit=400))
        # One panel per metric the scenarios balanced (potential first), money in the store's currency.
        st.plotly_chart(charts.compare_bars(cmp["per_rep"], cmp["metrics"]), width="stretch", key="rb_compare_chart")
    pick = state.selectbox("Scenario to export or commit", list(labels), param="scenario", key=pick_key,
                           format_func=labels.get)  # fmt: skip
    st.session_state["rb_pick_id"] = pick
    with data.snapshot() as snap:
        # Every format the CLI's `balance --out FILE --format F` writes, from the one implementation.
        crm = {f: data.cached(scenarios.crm_file, snap, pick, f, scope=scope) for f in CRM_DOWNLOADS}
        mv = data.cached(scenarios.moves_report, snap, pick, scope=scope)
    sf = crm["salesforce"].table
    cells = st.columns(3) + st.columns(3)  # three a row: the labels fit a 1,100 px window unclipped
    cur = text.currency_in_use()  # the files are built when clicked, on a thread of their own: named here
    for col, (f, (label, key)) in zip(cells[: len(CRM_DOWNLOADS)], CRM_DOWNLOADS.items(), strict=True):
        # The CRM formats keep the headers their importers read; the owner list is for people.
        tables.download_button(
            col, label, lambda t=crm[f].table, f=f: export.to_csv_bytes(
                t if f != "plain" else crm_files.plain_for_people(t, cur)),
            file_name=f"{f}_accounts_reassigned_{pick}.csv", mime="text/csv", key=key, on_click="ignore",
        )  # fmt: skip
    e = st.columns(4)
    report = crm_files.moves_for_people(mv, cur)
    tables.download_button(
        cells[len(CRM_DOWNLOADS)], "Moves report (Excel)", lambda: export.to_excel_bytes({"moves": report}),
        file_name=f"moves_{pick}.xlsx", key="rb_dl_report", on_click="ignore",
    )  # fmt: skip
    kinds = mv["change"].value_counts()
    st.caption(
        f"Scenario #{pick}'s update files have {len(sf):,} rows{' ' * bool(mv.attrs.get('basis'))}"
        f"{mv.attrs.get('basis', '')}: {int(kinds.get('moved', 0)):,} moved, "
        f"{int(kinds.get('newly assigned', 0)):,} newly assigned, {int(kinds.get('unassigned', 0)):,} unassigned "
        "(the moves report's change column says which)."
    )
    for note in dict.fromkeys(n for f in CRM_DOWNLOADS for n in crm[f].notes):
        # Owners whose CRM user id (or email) is unknown, and how to supply them: a warning, as the file is incomplete.
        st.warning(md_text(note, 600), icon=":material/badge:")
    status = saved.loc[saved["scenario_id"] == pick, "status"].item()
    commit.commit_controls(pick, status, scope, e, METRIC_LABELS)
commit.show_committed(METRIC_LABELS)
commit.owner_history(scope)

if len(versions) and scope.is_admin:
    with st.expander("Restore an earlier assignment", icon=":material/history:"):
        vrows = zip(versions["version"], versions["created_at"], versions["created_by"], versions["note"], strict=True)
        vlabels = {int(v): f"v{v} · {str(t)[:16]} · {by} · {note}" for v, t, by, note in vrows}
        ver = state.selectbox("Version", list(vlabels), param="version", key="rb_version", format_func=vlabels.get)
        if st.button("Restore this version", key="rb_restore", icon=":material/restore:"):
            try:
                det = scenarios.restore(data.db_path(), ver, scope.user, scope=scope)
                st.success(f"Restored version {ver}: {det['accounts_changed']:,} accounts changed owner.")
            except PlannerError as exc:
                st.error(data.error_text(exc))

# --- Disruption trade-off ------------------------------------------------------------------------------
st.subheader("How much should move?")
if st.button("Compute the disruption trade-off", key="rb_disrupt_btn", icon=":material/swap_horiz:"):
    st.session_state["rb_disrupt"] = options
if st.session_state.get("rb_disrupt"):
    d_opts = st.session_state["rb_disrupt"]
    try:
        with st.spinner("Rebalancing at each moved share…", show_time=True), data.snapshot() as snap:
            d_matrix = st.session_state.get("rb_matrix_run")
            d_travel = {"travel_matrix": d_matrix[1], "matrix_name": d_matrix[0]} if d_matrix else {}
            dcurve, dflt = data.cached_with_progress(scenarios.disruption_curve, snap, d_opts, scope=scope, **d_travel)
    except PlannerError as exc:
        data.show_error(exc)
    fig = make_subplots(rows=2, cols=1, subplot_titles=("Mean travel", "Imbalance (max / mean)"), shared_xaxes=True,
                        vertical_spacing=0.12)  # fmt: skip
    by_moved = dcurve.sort_values("moved_share", kind="stable")  # one region each may go over a cap
    x = (by_moved["moved_share"] * 100).round(1).tolist()
    fig.add_scatter(x=x, y=by_moved["travel_km"], mode="lines+markers", name="travel", row=1, col=1)
    per_metric = charts.imbalance_lines(fig, by_moved, x, row=2, col=1)
    for row, key in ((1, "travel_km"), (2, "max_mean")):
        fig.add_scatter(
            x=[round(dflt["moved_share"] * 100, 1)], y=[dflt[key]], mode="markers", name="customers and deals stay",
            marker={"size": 12, "symbol": "diamond", "color": "#d1495b"}, row=row, col=1, showlegend=row == 1,
        )  # fmt: skip
    fig.update_xaxes(title_text="Share of the metric moved (%)", row=2, col=1)
    charts.panels(fig, height=520, legend=bool(per_metric))
    st.plotly_chart(fig, width="stretch", key="rb_disrupt_chart")
    tu_d = dflt.get("travel_unit", "km")  # minutes or km of an uploaded travel matrix, else great-circle km
    st.caption(optimize.curve.trade_off_text(dflt, tu_d))  # from the floor that must move; red against no more moved
    shown = dcurve.assign(moved_share=dcurve["moved_share"] * 100, top3_share=dcurve["top3_share"] * 100)
    st.dataframe(
        shown[
            ["point", "moved_share", "moved_accounts", "max_mean", *per_metric,
             "tolerance_met", "travel_km", "travel_km_p95", "travel_km_lp_bound", "top3_share", "assignment_of"]
        ],
        hide_index=True, key="rb_disrupt_table", placeholder="–",
        column_config={"point": "Point", "moved_share": st.column_config.NumberColumn("Moved %", format="%.1f"),
                       "moved_accounts": st.column_config.NumberColumn("Accounts moved", format="%d"),
                       "max_mean": st.column_config.NumberColumn("Max / mean", format="%.3f"),
                       "tolerance_met": st.column_config.CheckboxColumn(
                           "Within tolerance", help="Every metric within its own tolerance"),
                       "travel_km": st.column_config.NumberColumn("Mean travel", format="%.1f"),
                       "travel_km_p95": st.column_config.NumberColumn("p95 travel", format="%.0f"),
                       "travel_km_lp_bound": st.column_config.NumberColumn("Travel bound", format="%.1f"),
                       "top3_share": st.column_config.NumberColumn("With a 3-nearest rep %", format="%.0f"),
                       "assignment_of": st.column_config.TextColumn(
                           "Assignment of", help="A tighter cap's assignment shows where it is better (it moves no "
                           "more): the best found within each cap"),
                       **{c: st.column_config.NumberColumn(f"Max / mean {c.removeprefix('max_mean_')}",
                                                           format="%.3f") for c in per_metric}},
    )  # fmt: skip

    # The leader picks a point: its cap and free moves go to the fields above (set by a callback, before they draw).
    caps = {pt: cap for pt, cap in zip(dcurve["point"], dcurve["moved_cap"], strict=True) if cap > 0}
    if caps:
        point = st.selectbox("Pick a point", list(caps), key="rb_disrupt_pick", index=len(caps) - 1)
        mm, use = min(1.0, max(0.01, round(float(caps[point]), 2))), {"rb_cust": True, "rb_open": True}
        st.button(f"Use it: at most {mm:.2f} moved, customers and open deals may move", key="rb_disrupt_use",
                  icon=":material/ads_click:", on_click=st.session_state.update, args=({**use, "rb_mm": mm},),
                  help="Sets the fields above; then run the optimizer to see the territories, and commit")  # fmt: skip

# --- How many reps -------------------------------------------------------------------------------------
st.subheader("How many reps?")
k0 = len(active) - len(remove) + len(hires)
lo, hi = st.slider("Team sizes", 1, max(k0 * 2, 4), (max(1, k0 - 3), k0 + 3), key="rb_team_sizes")
if st.button("Compute capacity curve", key="rb_curve_btn", icon=":material/insights:"):
    st.session_state["rb_curve"] = (options, tuple(range(lo, hi + 1)))
if st.session_state.get("rb_curve"):
    curve_opts, sizes = st.session_state["rb_curve"]
    try:
        with st.spinner(f"Rebalancing for {len(sizes)} team sizes…", show_time=True), data.snapshot() as snap:
            curve = data.cached_with_progress(scenarios.capacity_curve, snap, curve_opts, sizes, scope=scope)
    except PlannerError as exc:
        data.show_error(exc)
    panel_titles = ("Imbalance (max / mean)", "Coverage of potential", "Mean travel (km)")
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=panel_titles)
    per_metric = charts.imbalance_lines(fig, curve, curve["reps"].tolist(), row=1, col=1)
    fig.add_scatter(x=curve["reps"].tolist(), y=curve["coverage"], mode="lines+markers", name="coverage", row=2, col=1)
    fig.add_scatter(x=curve["reps"].tolist(), y=curve["travel_km"], mode="lines+markers", name="travel", row=3, col=1)
    for row in (1, 2, 3):
        fig.add_vline(x=k0, line_dash="dot", line_color="#999", row=row, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(range=[0.98, max(1.1, float(curve["max_mean"].max()) * 1.03)], row=1, col=1)
    fig.update_xaxes(title_text="Reps", row=3, col=1)
    charts.panels(fig, height=660, legend=bool(per_metric))
    st.plotly_chart(fig, width="stretch", key="rb_curve_chart")
    st.caption(
        "Each team size redraws the territories freely (locks, customers and open deals as set above). Fewer reps: "
        "the smallest books leave first. More reps: each hire is based on the far side of the territory whose "
        "potential lies farthest from home. Coverage is the share of potential within reach of its owner's home."
    )
