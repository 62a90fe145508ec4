"""Coverage map: where territories are unbalanced and where potential has no one covering it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import export, geo, text
from planner.coverage import hexmap, markets, report
from planner.coverage.facts import Filters
from planner.coverage.imbalance import KINDS, METRICS, lorenz, reps_only
from planner.coverage.workload import load_workload
from planner.errors import NotFound, PlannerError
from ui import charts, data, fmt, maps, sidebar, state, tables
from ui.auth import md_text

DOTS = {2_000: "2,000", 5_000: "5,000", 10_000: "10,000", 20_000: "20,000"}
HEX_SIZES = {r: f"{geo.h3_area_km2(r):,.0f} km²" for r in (3, 4, 5, 6)}
HIGH_SHARES = {"10": "Top 10%", "25": "Top 25%", "50": "Top 50%"}
TERRITORY_COLUMNS = {
    "territory": "Territory", "accounts": "Accounts", "customers": "Customers", "prospects": "Prospects",
    "potential": "Potential", "expected_value": "Expected value", "open_pipeline": "Open pipeline",
    "won_12m": "Won, 12 months", "quota": "Quota", "potential_per_quota": "Potential / quota",
    "workload_hours": "Workload h (filtered)", "book_hours": "Workload h (whole book)", "capacity_hours": "Capacity h",
    "utilisation": "Workload / capacity", "coverage": "Coverage", "mean_km": "Mean km from home",
    "max_km": "Max km from home", "out_of_reach": "Out of reach", "over_capacity": "Beyond capacity",
}  # fmt: skip
TERRITORY_KINDS = {**KINDS, "book_hours": "hours", "capacity_hours": "hours", "out_of_reach": "count",
                   "over_capacity": "count"}  # fmt: skip
WHITE_COLUMNS = {  # what to act on first, visible at 1,280 px: the account, its value, why and who
    "name": "Account", "potential": "Potential", "expected_value": "Expected value",
    "status_label": "Why not covered", "owner_name": "Owner", "industry": "Industry", "city": "City", "state": "State",
    "dist_km": "km from owner", "nearest_rep": "Nearest rep", "nearest_rep_km": "km to nearest rep",
    "account_id": "Account ID",
}  # fmt: skip
WHITE_KINDS = {"potential": "money", "expected_value": "money", "dist_km": "km", "nearest_rep_km": "km"}
IMBALANCE_KINDS = {"mean": "ratio", "max_mean": "ratio", "min_mean": "ratio", "cv": "ratio", "gini": "ratio"}
IMBALANCE_COLUMNS = {"label": "Metric", "mean": "Mean", "max_mean": "Max / mean", "min_mean": "Min / mean",
                     "cv": "CV", "gini": "Gini"}  # fmt: skip

st.title("Coverage map")
scope = sidebar.scope()
sidebar.no_reps("Coverage (who works which account, and what nobody covers)")
if sidebar.no_accounts():  # a rep with nothing assigned: not a map of nothing, nor charts blaming the data
    sidebar.stop()
rep = sidebar.selected_rep()

try:
    with data.snapshot() as snap:
        options = data.cached(report.filter_options, snap, scope=scope)
        assumed = data.cached(load_workload, snap)
except PlannerError as exc:
    data.show_error(exc)

# --- Filters and map controls (all in the address bar, so a copied link opens the same view) ---------
f = st.columns([1, 2, 2])
segments = state.multiselect(
    "Segment", options["segments"], param="seg", key="cov_seg", container=f[0], placeholder="All sizes",
    help="SMB < 100 employees ≤ Mid-market < 1,000 ≤ Enterprise",
)  # fmt: skip
industries = state.multiselect(
    "Industry", options["industries"], param="ind", key="cov_ind", container=f[1], placeholder="All industries"
)
states_ = state.multiselect(
    "State / region", options["states"], param="st", key="cov_st", container=f[2], placeholder="All"
)
c = st.columns(4)
resolution = state.selectbox(
    "Hexagon size", list(HEX_SIZES), param="hex", key="cov_hex", default=4, format_func=HEX_SIZES.get, container=c[0],
    help="Area of one hexagon of the map (H3 resolutions 3 to 6).",
)  # fmt: skip
high = state.selectbox(
    "High potential means", list(HIGH_SHARES), param="hp", key="cov_hp", default="25", format_func=HIGH_SHARES.get,
    container=c[1], help="White space counts only these accounts (by potential, among those you may see).",
)  # fmt: skip
tolerance = 5.0 if scope.is_rep else state.number(  # the band of the leaders' bar chart only
    "Tolerance ± %", param="tol", key="cov_tol", default=5.0, container=c[2], min_value=0.0, max_value=100.0, step=1.0,
    help="The band around the mean that counts as balanced in the bar chart.",
)  # fmt: skip
dots = state.selectbox(
    "Dots at most", list(DOTS), param="dots", key="cov_dots", default=10_000, format_func=DOTS.get, container=c[3],
    help="Accounts drawn as dots (a fixed random sample); hexagons always aggregate every account.",
)  # fmt: skip
layers = state.pills("Layers", maps.LAYERS, param="layers", key="cov_layers", default=maps.DEFAULT_LAYERS)
state.ignored_params(("tpy", "mh", "ips", "reach", "cap"), "the workload assumptions are set on the Settings page")
if scope.is_rep:  # a leader's link: how territories compare is a leader's view, not a parameter this page lacks
    state.not_for_role("Parts of this link compare territories, which sales leaders see: showing your own "
                       "territory.", names=("metric", "tol"))  # fmt: skip
state.show_ignored()

with st.expander("Assumptions: workload, reach and capacity", icon=":material/tune:"):
    st.markdown(md_text(assumed.describe(), 600))
    st.caption(
        "The same assumptions drive Rebalance, the rep's plan and `planner metrics`. "
        + ("Change them on the Settings page." if scope.is_admin else "An admin sets them on the Settings page.")
    )
    if scope.is_admin:
        st.page_link("pages/settings.py", label="Settings", icon=":material/tune:")


def show_click(event: Any, view: dict[str, Any], filters: Filters, snap: data.Snapshot) -> None:
    """The details of what was clicked on the map: an account, a hexagon or a rep's home/territory."""
    selection = (event or {}).get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    objects = (selection or {}).get("objects", {}) or {}
    picked = next(((lid, objs[0]) for lid, objs in objects.items() if objs), None)
    if not picked:
        return
    layer_id, obj = picked
    with st.container(border=True, key="cov_detail"):
        if layer_id == "accounts":
            try:
                card = data.cached(report.account_card, snap, scope=scope, account_id=str(obj["id"]))
            except NotFound:  # a click from before the store changed: nothing to show
                st.caption("That account is no longer in the store or in your view.")
                return
            acct = card["account"]
            where = ", ".join(fmt.plain(acct[k]) for k in ("city", "state") if acct.get(k))
            st.markdown(f"**{md_text(acct['name'])}** · {md_text(fmt.plain(acct['industry']))} · {md_text(where)}")
            d = st.columns(4)
            d[0].metric("Owner", fmt.plain(acct["owner_name"]) if acct["owner_name"] else "No owner")
            d[1].metric("Potential", fmt.money(acct["potential"]))
            d[2].metric("Employees", fmt.count(acct["employees"]))
            d[3].metric("Type", fmt.plain(acct["account_type"]))
            st.dataframe(fmt.table(card["deals"], {"amount": "money", "created_date": "date", "close_date": "date"}),
                         hide_index=True, width="stretch", key="cov_detail_deals", placeholder="–")  # fmt: skip
        elif layer_id in ("potential", "white_space"):
            top = data.cached(hexmap.hexagon_detail, snap, scope=scope, filters=filters, hex_id=str(obj["hex"]),
                              resolution=int(resolution))  # fmt: skip
            st.markdown(f"**{md_text(obj['t'])}** in this hexagon; {md_text(obj['l1'], 200)}")
            shown = top.drop(columns=["status"])
            st.dataframe(fmt.table(shown, {"potential": "money", "expected_value": "money", "open_pipeline": "money",
                                           "dist_km": "km"}),  # fmt: skip
                         hide_index=True, width="stretch", key="cov_detail_hex", placeholder="–")  # fmt: skip
        else:
            rep_id = obj.get("rep_id") or (obj.get("properties") or {}).get("rep_id")
            row = view["territories"][view["territories"]["rep_id"] == rep_id]
            st.markdown(f"**{md_text(obj.get('t') or (obj.get('properties') or {}).get('t', ''))}**")
            shown = row.assign(territory=row["name"])[list(TERRITORY_COLUMNS)]
            st.dataframe(fmt.table(shown, TERRITORY_KINDS), hide_index=True, width="stretch", key="cov_detail_rep",
                         column_config=TERRITORY_COLUMNS, placeholder="–")  # fmt: skip


def draw_map(view: dict[str, Any], colors: dict[str, list[int]]) -> Any:
    m = view["map"]
    deck_layers = []
    if "states" in layers:
        deck_layers.extend(maps.borders_layers())
    if "outlines" in layers:
        deck_layers.append(maps.outlines_layer(m["outlines"], colors))
    if "potential" in layers:
        deck_layers.append(maps.hexagon_layer(m["hexes"], "potential", "potential", maps.POTENTIAL_RAMP))
    if "white_space" in layers:
        deck_layers.append(
            maps.hexagon_layer(m["hexes"], "white_space_potential", "white_space", maps.WHITE_SPACE_RAMP)
        )
    if "accounts" in layers and len(m["points"]):
        deck_layers.append(maps.accounts_layer(m["points"], colors))
    if "homes" in layers and len(m["homes"]):
        deck_layers.append(maps.homes_layer(m["homes"], colors))
    # Frame every located account (dots and hexagons), else the homes, in the narrowest the map gets (a 1,100 px
    # window), so no coast is cropped.
    lat, lon, far = maps.fit_bulk(m)  # the bulk of the book: a few far accounts do not zoom it out to the world
    deck = maps.deck(deck_layers, maps.view_state(lat, lon, width_px=620, height_px=600))
    event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="cov_map", height=620)
    shown = len(m["points"]) if "accounts" in layers else 0
    st.caption(
        f"Hexagons aggregate all {m['located_accounts']:,} located accounts under the filters "
        f"(about {m['hex_km2']:,.0f} km² each). Dots: {shown:,} accounts"
        + (" (a fixed random sample)" if m["located_accounts"] > len(m["points"]) and shown else "")
        + ", coloured by territory (dark grey: no active owner). Homes drawn hollow were inferred from the rep's "
        "accounts. Click a dot, hexagon or home for details."
        + (f" {far:,} located account{'s lie' if far != 1 else ' lies'} far from the rest, outside this first view: "
           "drawn and counted, zoom out to see them." if far else "")
    )  # fmt: skip
    return event


try:
    filters = Filters(tuple(segments), tuple(industries), tuple(states_), rep)
    with data.snapshot() as snap:
        of_rep = data.cached(markets.store_markets, snap, scope=scope)  # once per store version, not per filter
        view = data.cached(
            report.coverage_view, snap, scope=scope, filters=filters, resolution=int(resolution),
            max_points=int(dots), high_potential_share=int(high) / 100, of_rep=of_rep,
        )  # fmt: skip
        colors = maps.territory_colors(reps_only(view["territories"])["rep_id"])

        # --- Headline ---------------------------------------------------------------------------
        cov = view["coverage"]
        fmt.currency_caveat()
        k = st.columns(4)
        not_covered = "no active owner, out of the owner's reach, or beyond the owner's capacity"
        k[0].metric(
            "Coverage",
            fmt.pct(cov["share"], 1),
            help="Share of potential owned by an active rep, within reach of the rep's home and within capacity.",
        )
        k[1].metric("Covered potential", fmt.money(cov["covered_potential"]), help=f"of {fmt.money(cov['potential'])}")
        k[2].metric(
            "White space",
            fmt.money(cov["white_space_potential"]),
            help=f"Potential of high-potential accounts not covered: {not_covered}.",
        )
        k[3].metric(
            "White-space accounts",
            f"{cov['white_space_accounts']:,}",
            help=f"High-potential accounts (at least {fmt.money(cov['high_potential_threshold'])}) not covered.",
        )
        where = filters.describe()
        if rep:
            where = where.replace(f"territory {rep}", f"territory of {sidebar.rep_name(rep, view['territories'])}")
        st.caption(md_text(f"{view['basis'].note} Showing: {where} (territory: choose it in the sidebar).", 600))
        if view["covers"]:  # a rep: what these figures are measured over
            st.caption(md_text(view["covers"], 600))
        if view["travel"]["note"]:
            st.info(md_text(view["travel"]["note"], 600), icon=":material/route:")

        event = draw_map(view, colors)
        show_click(event, view, filters, snap)
except PlannerError as exc:
    data.show_error(exc)

# --- Territory comparison ---------------------------------------------------------------------------
table = view["territories"].copy()
table["territory"] = table["name"].fillna("No active owner")
reps = reps_only(table)
imb = view["imbalance"].set_index("metric")

by_status = cov["by_status"]
# Quota against potential in a store of several currencies: no ratio (planner.coverage.report leaves it out).
quota_note = text.quota_caveat()
territory_columns = {k: v for k, v in TERRITORY_COLUMNS.items() if not (quota_note and k == "potential_per_quota")}
if scope.is_rep:
    # One territory has no balance to measure (max/mean 1.00, Gini 0, a one-bar chart): the rep's own figures.
    st.subheader("Your territory")
    own = reps.iloc[0] if len(reps) else None
    y = st.columns(4)
    y[0].metric("Potential", fmt.money(own["potential"] if own is not None else None))
    y[1].metric("Quota", fmt.money(own["quota"] if own is not None else None))
    per_quota = "not comparable" if quota_note else fmt.ratio(own["potential_per_quota"] if own is not None else None)
    y[2].metric("Potential / quota", per_quota, help=f"Not comparable: {quota_note}." if quota_note else
                "How much potential your territory holds for each unit of quota.")  # fmt: skip
    y[3].metric("Workload / capacity", fmt.pct(own["utilisation"] if own is not None else None, 0),
                help="Hours your accounts need against the hours you have (the assumptions above).")  # fmt: skip
    st.caption("How territories compare with each other is shown to sales leaders.")
    st.columns(2)[0].plotly_chart(charts.status_bars(by_status), width="stretch", key="cov_status")
else:
    st.subheader("How unbalanced are the territories?")
    metric = state.selectbox("Metric", [m for m in METRICS if not (quota_note and m == "potential_per_quota")],
                             param="metric", key="cov_metric", default="potential",
                             format_func=METRICS.get)  # fmt: skip
    state.show_ignored()
    values = reps[metric].astype(float)
    row = imb.loc[metric] if metric in imb.index else None
    by_market = view["market_imbalance"]  # empty unless the optimizer balances this book within countries
    worst = markets.worst(by_market, metric)
    book = " (whole book)" if worst else ""
    i = st.columns(5 if worst else 4)
    i[0].metric(f"Max / mean{book}", fmt.ratio(row["max_mean"] if row is not None else None),
                help="1.00 is perfectly even.")  # fmt: skip
    i[1].metric(f"Min / mean{book}", fmt.ratio(row["min_mean"] if row is not None else None))
    i[2].metric(f"Coefficient of variation{book}", fmt.ratio(row["cv"] if row is not None else None))
    i[3].metric(
        f"Gini{book}", fmt.ratio(row["gini"] if row is not None else None), help="0 is equal; towards 1, one holds all."
    )
    if worst:
        i[4].metric("Max / mean, worst country", fmt.ratio(worst["max_mean"]),
                    help=f"{worst['name']}: its territories against its own country's mean.")  # fmt: skip
        per = by_market[by_market["metric"] == metric][["name", "reps", "max_mean", "min_mean", "cv", "gini"]]
        st.caption(
            f"This book spans {len(per)} countries, and Rebalance balances each on its own (a rep's fair share is "
            "their country's total over its reps). Whole book: every territory against the mean of all (the bars "
            "below), so a rep who holds a whole small country reads far from a country of many reps. Per country: "
            f"each territory against its own country's mean, as Rebalance measures it ({METRICS[metric]}):"
        )
        st.dataframe(
            fmt.table(per, {"reps": "count", **IMBALANCE_KINDS}), hide_index=True, key="cov_markets",
            placeholder="–", column_config={"name": "Country", "reps": "Reps", **IMBALANCE_COLUMNS},
        )  # fmt: skip

    g = st.columns([3, 2])
    order = reps.assign(_v=values).sort_values("_v", ascending=False)
    bars = charts.band_bars(
        order["territory"], order["_v"], tolerance=tolerance / 100, title=f"{METRICS[metric]} by territory",
        yaxis_title=METRICS[metric], highlight=[r == rep for r in order["rep_id"]], kind=KINDS.get(metric, "count"),
    )  # fmt: skip
    g[0].plotly_chart(bars, width="stretch", key="cov_bars")
    lx, ly = lorenz(values)
    gini_value = row["gini"] if row is not None else None
    lorenz_title = f"Lorenz curve: {METRICS[metric]} (Gini {fmt.ratio(gini_value)})"
    lorenz_fig = charts.lorenz_chart(lx, ly, lorenz_title, total=float(values.fillna(0).sum()), what=METRICS[metric])
    g[1].plotly_chart(lorenz_fig, width="stretch", key="cov_lorenz")

    sc = st.columns([3, 2])
    rgb = {r: "rgb({},{},{})".format(*c) for r, c in colors.items()}
    if quota_note:
        sc[0].info(f"Potential against quota is not drawn: {quota_note}.", icon=":material/currency_exchange:")
    else:
        sc[0].plotly_chart(charts.quota_scatter(reps, rgb), width="stretch", key="cov_scatter")
        sc[0].caption("Bubble size: accounts. Named: the three territories with the most and the least potential "
                      "per quota; hover a bubble for the others.")  # fmt: skip
    sc[1].plotly_chart(charts.status_bars(by_status), width="stretch", key="cov_status")

# --- Tables and downloads ---------------------------------------------------------------------------
st.subheader("Territories")
shown_table = table[list(territory_columns)]
st.dataframe(fmt.table(shown_table, TERRITORY_KINDS), hide_index=True, width="stretch", key="cov_table",
             column_config=territory_columns, placeholder="–")  # fmt: skip
if quota_note:
    st.caption(f"No potential / quota column: {quota_note}.")
imb_shown = view["imbalance"][["label", "mean", "max_mean", "min_mean", "cv", "gini"]]
if not scope.is_rep:  # indices of one territory measure no balance
    with st.expander("Imbalance indices for every metric"):
        st.dataframe(fmt.table(imb_shown, IMBALANCE_KINDS), hide_index=True, width="stretch", key="cov_imbalance",
                     column_config=IMBALANCE_COLUMNS, placeholder="–")  # fmt: skip

white = view["white_space"]
st.subheader("White space: the largest high-potential accounts not covered")
st.caption(
    "Not covered means no active owner, out of the owner's reach, or beyond the owner's capacity (the owner works "
    "reachable accounts in order of expected value per hour until the hours run out)."
)
shown_white = white[list(WHITE_COLUMNS)].assign(account_id=white["account_id"].map(text.crm_record_id))
st.dataframe(fmt.table(tables.drop_empty(shown_white), WHITE_KINDS), hide_index=True, width="stretch", key="cov_white",
             column_config=WHITE_COLUMNS, placeholder="–")  # fmt: skip
st.caption(f"Showing the top {len(white):,} of {cov['white_space_accounts']:,} high-potential accounts not covered; "
           "the downloads below hold all of them.")  # fmt: skip


CUR = text.currency_in_use()  # the files are built when clicked, on a thread of their own: named here
MONEY = ("potential", "expected_value", "open_pipeline", "won_12m", "quota", "high_potential")
ROUNDED = {"mean_km": 1, "max_km": 1, "dist_km": 1, "nearest_rep_km": 1, "workload_hours": 1, "book_hours": 1,
           "capacity_hours": 1, "potential_per_quota": 4, "utilisation": 4, "coverage": 4}  # fmt: skip


def _human(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """A table as the page labels it, money to the cent with the currency named, no float noise."""
    return export.readable(frame, names, currency=CUR, money=MONEY, digits=ROUNDED)


def _all_white() -> pd.DataFrame:  # every matching account, not the top 500 shown: built when clicked
    every = data.fresh(report.coverage_report, scope=scope, filters=filters, high_potential_share=int(high) / 100,
                       white_space_limit=100_000)["white_space"]  # fmt: skip
    return _human(
        every[list(WHITE_COLUMNS)].assign(account_id=every["account_id"].map(text.crm_record_id)), WHITE_COLUMNS
    )


d = st.columns(3)
tables.download_button(
    d[0],
    "Territories (CSV)",
    lambda: export.to_csv_bytes(_human(shown_table, territory_columns)),
    file_name="territories.csv",
    mime="text/csv",
    key="cov_dl_territories",
    on_click="ignore",
)
tables.download_button(d[1], f"White space, all {cov['white_space_accounts']:,} (CSV)", lambda: export.to_csv_bytes(
    _all_white()), file_name="white_space.csv", mime="text/csv", key="cov_dl_white", on_click="ignore")  # fmt: skip
tables.download_button(
    d[2],
    "All tables (Excel)",
    lambda: export.to_excel_bytes({
        "Territories": _human(shown_table, territory_columns),
        **({} if scope.is_rep else {"Imbalance": imb_shown.rename(columns=IMBALANCE_COLUMNS)}),
        "White space": _all_white(),
        "Coverage": _human(by_status, {
            "label": "Status", "accounts": "Accounts", "potential": "Potential",
            "high_accounts": "High-potential accounts", "high_potential": "High potential"}),
    }),
    file_name="coverage.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="cov_dl_excel", on_click="ignore",
)  # fmt: skip
