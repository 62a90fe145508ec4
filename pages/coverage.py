"""Coverage map: where territories are unbalanced and where potential has no one covering it."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import export, geo
from planner.coverage import hexmap, report
from planner.coverage.facts import Filters
from planner.coverage.imbalance import METRICS, lorenz, reps_only
from planner.coverage.workload import load_workload
from planner.errors import NotFound, PlannerError
from ui import charts, data, fmt, maps, sidebar, state
from ui.auth import md_text

DOTS = {2_000: "2,000", 5_000: "5,000", 10_000: "10,000", 20_000: "20,000"}
HEX_SIZES = {r: f"{geo.h3_area_km2(r):,.0f} km² (H3 res {r})" for r in (3, 4, 5, 6)}
HIGH_SHARES = {"10": "Top 10%", "25": "Top 25%", "50": "Top 50%"}
MONEY = {"potential", "expected_value", "open_pipeline", "won_12m", "quota"}

st.title("Coverage map")
scope = sidebar.scope()
rep = sidebar.selected_rep()

try:
    with data.snapshot() as snap:
        options = data.cached(report.filter_options, snap, scope=scope)
except PlannerError as exc:
    data.show_error(exc)

# --- Filters (all in the address bar, so a copied link opens the same view) -----------------------
f = st.columns([1, 2, 2])
segments = state.multiselect(
    "Segment",
    options["segments"],
    param="seg",
    key="cov_seg",
    container=f[0],
    placeholder="All sizes",
    help="SMB < 100 employees ≤ Mid-market < 1,000 ≤ Enterprise",
)
industries = state.multiselect(
    "Industry", options["industries"], param="ind", key="cov_ind", container=f[1], placeholder="All industries"
)
states_ = state.multiselect(
    "State", options["states"], param="st", key="cov_st", container=f[2], placeholder="All states"
)

try:
    with data.snapshot() as snap:
        assumed = data.cached(load_workload, snap)
except PlannerError as exc:
    data.show_error(exc)
with st.expander("Assumptions: workload, reach and capacity", icon=":material/tune:"):
    st.markdown(md_text(assumed.describe(), 600))
    st.caption(
        "The same assumptions drive Rebalance, the rep's plan and `planner metrics`. "
        + ("Change them on the Settings page." if scope.role == "admin" else "An admin sets them on the Settings page.")
    )
    if scope.role == "admin":
        st.page_link("pages/settings.py", label="Settings", icon=":material/tune:")
state.ignored_params(("tpy", "mh", "ips", "reach", "cap"), "workload assumptions now live on the Settings page")

c = st.columns([1.2, 1.1, 0.8, 0.8, 2.6])
resolution = state.selectbox(
    "Hexagon size", list(HEX_SIZES), param="hex", key="cov_hex", default=4, format_func=HEX_SIZES.get, container=c[0]
)
high = state.selectbox(
    "High potential means",
    list(HIGH_SHARES),
    param="hp",
    key="cov_hp",
    default="25",
    format_func=HIGH_SHARES.get,
    container=c[1],
    help="White space counts only these accounts.",
)
tolerance = state.number(
    "Tolerance ± %", param="tol", key="cov_tol", default=5.0, container=c[2], min_value=0.0, max_value=100.0, step=1.0
)
wanted = st.query_params.get("layers")
if "cov_layers" not in st.session_state:
    st.session_state["cov_layers"] = (
        [x for x in str(wanted).split(",") if x in maps.LAYERS] if wanted is not None else list(maps.DEFAULT_LAYERS)
    )
dots = state.selectbox(
    "Dots at most",
    list(DOTS),
    param="dots",
    key="cov_dots",
    default=10_000,
    format_func=DOTS.get,
    container=c[3],
    help="Accounts drawn as dots (a fixed random sample); hexagons always aggregate every account.",
)
layers = c[4].pills("Layers", list(maps.LAYERS), selection_mode="multi", format_func=maps.LAYERS.get, key="cov_layers")
state.set_param("layers", None if sorted(layers) == sorted(maps.DEFAULT_LAYERS) else ",".join(layers) or "none")

try:
    filters = Filters(tuple(segments), tuple(industries), tuple(states_), rep)
    with data.snapshot() as snap:
        view = data.cached(
            report.coverage_view, snap, scope=scope, filters=filters, resolution=int(resolution),
            max_points=int(dots), high_potential_share=int(high) / 100,
        )  # fmt: skip
        m = view["map"]
        colors = maps.territory_colors(reps_only(view["territories"])["rep_id"])

        # --- Headline ---------------------------------------------------------------------------
        cov = view["coverage"]
        k = st.columns(4)
        k[0].metric(
            "Coverage",
            fmt.pct(cov["share"], 1),
            help="Share of potential owned by an active rep, within reach of the rep's home and within "
            "the rep's capacity.",
        )
        k[1].metric("Covered potential", fmt.money(cov["covered_potential"]), help=f"of {fmt.money(cov['potential'])}")
        k[2].metric(
            "White space",
            fmt.money(cov["white_space_potential"]),
            help="Potential of high-potential accounts not covered: no active owner, out of the owner's "
            "reach, or beyond the owner's capacity.",
        )
        k[3].metric(
            "High-potential accounts not covered",
            f"{cov['white_space_accounts']:,}",
            help=f"High potential: at least {fmt.money(cov['high_potential_threshold'])}.",
        )
        where = filters.describe()
        if rep:
            where = where.replace(f"territory {rep}", f"territory of {sidebar.rep_name(rep, view['territories'])}")
        st.caption(f"{view['basis'].note} Showing: {where} (territory: choose it in the sidebar).")

        # --- Map --------------------------------------------------------------------------------
        deck_layers = []
        if "states" in layers:
            deck_layers.append(maps.states_layer())
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
        if "homes" in layers:
            deck_layers.append(maps.homes_layer(m["homes"], colors))
        # Fit the view to the accounts shown (the sample spreads like all of them), else to the homes.
        fit = m["points"] if len(m["points"]) else m["homes"].rename(columns={"home_lat": "lat", "home_lon": "lon"})
        deck = maps.deck(deck_layers, maps.view_state(fit.get("lat"), fit.get("lon")))
        event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="cov_map", height=620)
        shown = len(m["points"]) if "accounts" in layers else 0
        st.caption(
            f"Hexagons aggregate all {m['located_accounts']:,} located accounts under the filters "
            f"(about {m['hex_km2']:,.0f} km² each). Dots: {shown:,} accounts"
            + (" (a fixed random sample)" if m["located_accounts"] > len(m["points"]) and shown else "")
            + ", coloured by territory (dark grey: no active owner). Click a dot, hexagon or home for details."
        )

        # --- What was clicked -------------------------------------------------------------------
        selection = (event or {}).get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
        objects = (selection or {}).get("objects", {}) or {}
        picked = next(((lid, objs[0]) for lid, objs in objects.items() if objs), None)
        if picked:
            layer_id, obj = picked
            with st.container(border=True, key="cov_detail"):
                if layer_id == "accounts":
                    try:
                        card = data.cached(report.account_card, snap, scope=scope, account_id=str(obj["id"]))
                    except NotFound:  # a click from before the store changed: nothing to show
                        card = None
                        st.caption("That account is no longer in the store or in your view.")
                    if card is not None:
                        acct = card["account"]
                        st.markdown(
                            f"**{md_text(acct['name'])}** · {md_text(acct['industry'] or '')} · "
                            f"{md_text(acct['city'] or '')}, {md_text(acct['state'] or '')}"
                        )
                        d = st.columns(4)
                        d[0].metric("Owner", acct["owner_name"] or "none")
                        d[1].metric("Potential", fmt.money(acct["potential"]))
                        d[2].metric("Employees", f"{int(acct['employees'] or 0):,}")
                        d[3].metric("Type", acct["account_type"] or "–")
                        st.dataframe(card["deals"], hide_index=True, width="stretch", key="cov_detail_deals")
                elif layer_id in ("potential", "white_space"):
                    top = data.cached(
                        hexmap.hexagon_detail, snap, scope=scope, filters=filters, hex_id=str(obj["hex"]),
                        resolution=int(resolution),
                    )  # fmt: skip
                    st.markdown(f"**Hexagon {md_text(obj['hex'])}**: {md_text(obj['t'])}; {md_text(obj['l1'], 200)}")
                    st.dataframe(top, hide_index=True, width="stretch", key="cov_detail_hex")
                else:
                    rep_id = obj.get("rep_id") or (obj.get("properties") or {}).get("rep_id")
                    row = view["territories"][view["territories"]["rep_id"] == rep_id]
                    st.markdown(f"**{md_text(obj.get('t') or (obj.get('properties') or {}).get('t', ''))}**")
                    st.dataframe(row, hide_index=True, width="stretch", key="cov_detail_rep")
except PlannerError as exc:
    data.show_error(exc)

# --- Territory comparison ---------------------------------------------------------------------------
table = view["territories"].copy()
table["territory"] = table["name"].fillna("No active owner")
reps = reps_only(table)
imb = view["imbalance"].set_index("metric")

st.subheader("How unbalanced are the territories?")
metric = state.selectbox(
    "Metric",
    list(METRICS),
    param="metric",
    key="cov_metric",
    default="potential",
    format_func=METRICS.get,
)
values = reps[metric].astype(float)
tol = tolerance / 100
row = imb.loc[metric] if metric in imb.index else None
i = st.columns(4)
i[0].metric("Max / mean", fmt.ratio(row["max_mean"] if row is not None else None), help="1.00 is perfectly even.")
i[1].metric("Min / mean", fmt.ratio(row["min_mean"] if row is not None else None))
i[2].metric("Coefficient of variation", fmt.ratio(row["cv"] if row is not None else None))
i[3].metric("Gini", fmt.ratio(row["gini"] if row is not None else None), help="0 is equal; towards 1, one holds all.")

g = st.columns([3, 2])
order = reps.assign(_v=values).sort_values("_v", ascending=False)
fig = charts.band_bars(
    order["territory"],
    order["_v"],
    tolerance=tol,
    title=f"{METRICS[metric]} by territory",
    yaxis_title=METRICS[metric],
    highlight=[r == rep for r in order["rep_id"]],
)
g[0].plotly_chart(fig, width="stretch", key="cov_bars")

lx, ly = lorenz(values)
gini_value = row["gini"] if row is not None else None
lor = go.Figure()
lor.add_trace(
    go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfect equality", line={"dash": "dot", "color": "#888"})
)
lor.add_trace(
    go.Scatter(x=lx, y=ly, mode="lines+markers", name="Territories", line={"color": "#00798c"}, fill="tonexty")
)
lor.update_layout(
    title=f"Lorenz curve of {METRICS[metric].lower()} (Gini {fmt.ratio(gini_value)})",
    xaxis_title="Share of territories (smallest first)",
    yaxis_title="Share of the total",
    height=380,
    margin={"t": 50, "b": 10, "l": 10, "r": 10},
    showlegend=False,
)
g[1].plotly_chart(lor, width="stretch", key="cov_lorenz")

sc = st.columns([3, 2])
pq = reps.dropna(subset=["quota"])
scatter = go.Figure(
    go.Scatter(
        x=pq["quota"],
        y=pq["potential"],
        mode="markers+text",
        text=pq["territory"],
        textposition="top center",
        marker={
            "size": 10 + 30 * (pq["accounts"] / max(1, pq["accounts"].max())) ** 0.5,
            "color": ["rgb({},{},{})".format(*colors.get(r, maps.UNOWNED)) for r in pq["rep_id"]],
        },
        customdata=pq[["accounts", "potential_per_quota"]],
        hovertemplate="%{text}<br>Quota $%{x:,.0f}<br>Potential $%{y:,.0f}<br>%{customdata[0]:,} accounts"
        "<br>Potential / quota %{customdata[1]:.1f}<extra></extra>",
    )
)
if len(pq) and pq["quota"].sum() > 0:
    ratio = float(pq["potential"].sum() / pq["quota"].sum())
    xmax = float(pq["quota"].max()) * 1.1
    scatter.add_trace(
        go.Scatter(
            x=[0, xmax],
            y=[0, ratio * xmax],
            mode="lines",
            line={"dash": "dash", "color": "#888"},
            hoverinfo="skip",
            name=f"Average potential / quota {ratio:.1f}",
        )
    )
scatter.update_layout(
    title="Potential against quota (dashed: the average ratio)",
    xaxis_title="Quota (USD)",
    yaxis_title="Potential (USD)",
    height=420,
    showlegend=False,
    margin={"t": 50, "b": 10, "l": 10, "r": 10},
)
sc[0].plotly_chart(scatter, width="stretch", key="cov_scatter")
by_status = cov["by_status"]
status_fig = go.Figure(
    go.Bar(
        x=by_status["label"],
        y=by_status["potential"],
        marker_color=["#00798c", "#3c3c3c", "#d1495b", "#edae49"],
        customdata=by_status["accounts"],
        hovertemplate="%{x}<br>$%{y:,.0f} in %{customdata:,} accounts<extra></extra>",
    )
)
status_fig.update_layout(
    title="Where the potential stands",
    yaxis_title="Potential (USD)",
    height=420,
    margin={"t": 50, "b": 10, "l": 10, "r": 10},
)
sc[1].plotly_chart(status_fig, width="stretch", key="cov_status")

# --- Tables and downloads ---------------------------------------------------------------------------
cols = [
    "territory",
    "accounts",
    "customers",
    "prospects",
    "potential",
    "expected_value",
    "open_pipeline",
    "won_12m",
    "quota",
    "potential_per_quota",
    "workload_hours",
    "book_hours",
    "capacity_hours",
    "utilisation",
    "coverage",
    "mean_km",
    "max_km",
    "out_of_reach",
    "over_capacity",
]
money_cfg = {k: st.column_config.NumberColumn(METRICS.get(k, k), format="dollar") for k in MONEY}
st.subheader("Territories")
st.dataframe(
    table[cols],
    hide_index=True,
    width="stretch",
    key="cov_table",
    column_config={
        "territory": "Territory",
        **money_cfg,
        "potential_per_quota": st.column_config.NumberColumn("Potential / quota", format="%.1f"),
        "workload_hours": st.column_config.NumberColumn("Workload h (filtered)", format="%,.0f"),
        "book_hours": st.column_config.NumberColumn("Workload h (whole book)", format="%,.0f"),
        "capacity_hours": st.column_config.NumberColumn("Capacity h", format="%,.0f"),
        "utilisation": st.column_config.NumberColumn("Workload / capacity", format="percent"),
        "coverage": st.column_config.NumberColumn("Coverage", format="percent"),
        "mean_km": st.column_config.NumberColumn("Mean km from home", format="%,.0f"),
        "max_km": st.column_config.NumberColumn("Max km from home", format="%,.0f"),
        "out_of_reach": st.column_config.NumberColumn("Out of reach", format="%d"),
        "over_capacity": st.column_config.NumberColumn("Beyond capacity", format="%d"),
    },
)
imb_shown = view["imbalance"][["label", "mean", "max_mean", "min_mean", "cv", "gini"]]
with st.expander("Imbalance indices for every metric"):
    st.dataframe(
        imb_shown,
        hide_index=True,
        width="stretch",
        key="cov_imbalance",
        column_config={
            "label": "Metric",
            "mean": st.column_config.NumberColumn("Mean", format="%,.2f"),
            "max_mean": st.column_config.NumberColumn("Max / mean", format="%.2f"),
            "min_mean": st.column_config.NumberColumn("Min / mean", format="%.2f"),
            "cv": st.column_config.NumberColumn("CV", format="%.2f"),
            "gini": st.column_config.NumberColumn("Gini", format="%.2f"),
        },
    )

white = view["white_space"]
st.subheader("White space: the largest high-potential accounts nobody covers")
wcols = [
    "account_id",
    "name",
    "industry",
    "city",
    "state",
    "status_label",
    "owner_name",
    "potential",
    "expected_value",
    "dist_km",
    "nearest_rep",
    "nearest_rep_km",
]
st.dataframe(
    white[wcols],
    hide_index=True,
    width="stretch",
    key="cov_white",
    column_config={
        "account_id": "Account",
        "name": "Name",
        "industry": "Industry",
        "city": "City",
        "state": "State",
        "status_label": "Why not covered",
        "owner_name": "Owner",
        "potential": st.column_config.NumberColumn("Potential", format="dollar"),
        "expected_value": st.column_config.NumberColumn("Expected value", format="dollar"),
        "dist_km": st.column_config.NumberColumn("km from owner", format="%,.0f"),
        "nearest_rep": "Nearest rep",
        "nearest_rep_km": st.column_config.NumberColumn("km to nearest rep", format="%,.0f"),
    },
)
st.caption(f"Showing the top {len(white):,} of {cov['white_space_accounts']:,} high-potential accounts not covered.")
d = st.columns(3)
d[0].download_button(
    "Territories (CSV)",
    lambda: export.to_csv_bytes(table[cols]),
    file_name="territories.csv",
    mime="text/csv",
    key="cov_dl_territories",
)
d[1].download_button(
    "White space (CSV)",
    lambda: export.to_csv_bytes(white[wcols]),
    file_name="white_space.csv",
    mime="text/csv",
    key="cov_dl_white",
)
d[2].download_button(
    "All tables (Excel)",
    lambda: export.to_excel_bytes(
        {"territories": table[cols], "imbalance": imb_shown, "white space": white[wcols], "coverage": by_status}
    ),
    file_name="coverage.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="cov_dl_excel",
)
