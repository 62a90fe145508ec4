"""Plotly figures shared by pages: the one tolerance-band colouring of per-territory bars (mean ± tolerance),
the Lorenz curve, potential against quota, where the potential stands, and scenarios side by side."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner import text

LABEL_CHARS = 28
"""A territory's name on an axis or beside a bubble: longer names end in an ellipsis (the hover names it whole)."""
TITLE = {"x": 0.0, "xanchor": "left", "y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 34}}
"""Every chart's title, placed under the row of plotly's tool icons (top right), which covered it on a phone."""
TOP = 96
"""The top margin that holds the tool icons, the title and a legend row under it."""


def safe(name: object) -> str:
    """A user's text (a CRM name) as plotly shows it literally: plotly reads <b>, <br>, <a> as markup."""
    return html.escape(str(name), quote=False)


def short(name: object, chars: int = LABEL_CHARS) -> str:
    """A name shortened to `chars` characters with an ellipsis, then escaped for plotly (safe)."""
    text_ = " ".join(str(name).split())
    return safe(text_ if len(text_) <= chars else text_[: chars - 1].rstrip() + "…")


def titled(fig: go.Figure, title: str, *, height: int, legend: bool = True) -> go.Figure:
    """Title, height and margins shared by the charts: the title below the tool icons and, with a legend, a
    horizontal legend between the title and the plot."""
    fig.update_layout(title={**TITLE, "text": title}, height=height,
                      margin={"t": TOP if legend else 64, "b": 10, "l": 10, "r": 10})  # fmt: skip
    if legend:
        fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0.0})
    return fig


def panels(fig: go.Figure, *, height: int, legend: bool = True) -> go.Figure:
    """Margins for a chart of panels (make_subplots), stacked in rows so that their titles never run into each
    other on a phone: the first title below plotly's tool icons, a horizontal legend under the last panel's axis
    (plotly grows the bottom margin to hold it as it wraps)."""
    fig.update_layout(height=height, margin={"t": 64, "b": 10, "l": 10, "r": 10}, showlegend=legend)
    if legend:
        fig.update_layout(legend={"orientation": "h", "y": -64 / max(height - 74, 100), "yanchor": "top",
                                  "xanchor": "left", "x": 0.0})  # fmt: skip
    return fig


BAND_COLORS = {"above": "#d1495b", "within": "#00798c", "below": "#edae49"}
"""Red above the band, teal within it, orange below it: on every page that colours territories."""


def say_nothing_to_show(fig: go.Figure, words: str) -> go.Figure:
    """Hide the axes and say why the chart is empty: all-zero values drew axes from -1 to 1 (read "$-1 ... $1")."""
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=words, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
    return fig


def nothing_to_show(what: str) -> str:
    """The words of an empty chart of `what` (potential names where it comes from)."""
    base = f"No {what.lower()} to show: every territory is at 0"
    if what.lower() == "potential":
        return base + ("<br>(no account has an employee count or annual revenue;<br>see Revenue potential on the "
                       "Model page)")  # fmt: skip
    return base


def band_of(values: Any, centre: float, tolerance: float) -> list[str]:
    """'above', 'within' or 'below' the band centre x (1 ± tolerance), per value ('within' for NaN)."""
    v = np.asarray(values, dtype=float)
    hi, lo = (1 + tolerance) * centre, (1 - tolerance) * centre
    return ["above" if x > hi else "below" if x < lo else "within" for x in v.tolist()]


def band_labels(tolerance: float, centre_name: str = "the mean") -> dict[str, str]:
    """Legend text of each band."""
    pct = f"{tolerance:.0%}" if tolerance * 100 == round(tolerance * 100) else f"{tolerance:.1%}"
    return {
        "above": f"Above {centre_name} + {pct}",
        "within": f"Within ± {pct} of {centre_name}",
        "below": f"Below {centre_name} − {pct}",
    }


def band_bars(
    names: Sequence[str],
    values: Any,
    *,
    tolerance: float,
    title: str,
    yaxis_title: str,
    centre: float | None = None,
    centre_name: str = "the mean",
    highlight: Sequence[bool] | None = None,
    kind: str = "count",
) -> go.Figure:
    """Horizontal bars per territory, in the order given from the top, coloured by the tolerance band around
    `centre` (the mean of `values` unless given), with the band shaded, the centre dashed and a legend naming each
    colour. The chart grows with the number of territories (40 reps' names read whole, not squashed under the
    plot); names are shortened with an ellipsis and shown whole, as written, on hover."""
    v = np.asarray(values, dtype=float)
    names = [str(n) for n in names]
    finite = v[np.isfinite(v)]
    mid = float(finite.mean()) if centre is None and len(finite) else (float(centre) if centre is not None else np.nan)
    bands = band_of(v, mid, tolerance) if np.isfinite(mid) else ["within"] * len(v)
    marks = list(highlight) if highlight is not None else [False] * len(v)
    labels = band_labels(tolerance, centre_name)
    ticks = unique_labels(names)
    hover = "%{customdata}<br>" + yaxis_title + " " + value_format(kind, "x") + "<extra></extra>"
    fig = go.Figure()
    for band in ("above", "within", "below"):
        idx = [i for i, b in enumerate(bands) if b == band]
        if not idx:
            continue
        fig.add_trace(
            go.Bar(
                y=[ticks[i] for i in idx],
                x=v[idx],
                orientation="h",
                name=labels[band],
                marker_color=BAND_COLORS[band],
                marker_line_width=[3 if marks[i] else 0 for i in idx],
                marker_line_color="#1d2b36",
                customdata=[safe(names[i]) for i in idx],
                hovertemplate=hover,
            )
        )
    if np.isfinite(mid):
        fig.add_vrect(x0=(1 - tolerance) * mid, x1=(1 + tolerance) * mid, fillcolor=BAND_COLORS["within"],
                      opacity=0.12, line_width=0)  # fmt: skip
        fig.add_vline(x=mid, line_dash="dash", annotation_text=centre_name.removeprefix("the "),
                      annotation_position="top")  # fmt: skip
    titled(fig, title, height=bars_height(len(names)))
    fig.update_layout(
        xaxis_title=yaxis_title,
        barmode="overlay",
        # Every name on its own row, the first at the top.
        yaxis={"categoryorder": "array", "categoryarray": ticks[::-1], "dtick": 1, "automargin": True},
        xaxis=axis(kind),
    )
    if not (np.abs(finite) > 0).any():
        fig.data, fig.layout.shapes, fig.layout.annotations = (), (), ()
        return say_nothing_to_show(fig, nothing_to_show(yaxis_title))
    return fig


def bars_height(n: int, row_px: int = 22) -> int:
    """A horizontal bar chart's height for n bars: a row each, the title, legend and axis around them."""
    return max(260, TOP + 60 + row_px * n)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Shortened, escaped names (short), made distinct where two shorten alike: plotly merges equal categories."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for n in names:
        label = short(n)
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def value_format(kind: str, axis_letter: str = "y") -> str:
    """A hover's number of a kind (axis()), for the value on `axis_letter`."""
    fmt_ = {"money": ",.0f", "pct": ".1%", "ratio": ".2f"}.get(kind, ",.1~f")
    return (text.currency_prefix() if kind == "money" else "") + f"%{{{axis_letter}:{fmt_}}}"


def before_after_bars(labels: Sequence[str], before: Any, after: Any, *, tolerance: float, title: str) -> go.Figure:
    """Each territory's metric before and after a rebalance, relative to the mean target, as horizontal bar pairs
    with the tolerance band shaded; names shortened with an ellipsis, whole (as written) on hover."""
    ticks = unique_labels([str(n) for n in labels])
    full = [safe(n) for n in labels]
    fig = go.Figure()
    for name, values, colour in (("Before", before, "#b8c4ce"), ("After", after, "#00798c")):
        fig.add_bar(y=ticks, x=list(values), orientation="h", name=name, marker_color=colour, customdata=full,
                    hovertemplate="%{customdata}<br>" + name + " %{x:.2f} x target<extra></extra>")  # fmt: skip
    fig.add_vrect(x0=1 - tolerance, x1=1 + tolerance, fillcolor="#00798c", opacity=0.12, line_width=0)
    titled(fig, title, height=bars_height(len(ticks), row_px=30))
    fig.update_layout(
        barmode="group",
        xaxis_title="x target",
        yaxis={"categoryorder": "array", "categoryarray": ticks[::-1], "dtick": 1, "automargin": True},
    )
    return fig


def axis(kind: str) -> dict[str, Any]:
    """Plotly axis formatting for a kind of number (money, pct, ratio, count, hours, km). Large numbers read 10k,
    10M, 10B: d3's SI format wrote a billion as '1G', which no sales team reads."""
    if kind == "money":
        return {"tickprefix": text.currency_prefix(), "exponentformat": "B"}
    if kind == "pct":
        return {"tickformat": ".0%"}
    if kind == "ratio":
        return {"tickformat": ".2f"}
    return {"exponentformat": "B", "separatethousands": True}


def lorenz_chart(x: Any, y: Any, title: str, total: float | None = None, what: str = "values") -> go.Figure:
    """The Lorenz curve of a metric against the line of perfect equality; with the metric's `total` at 0 (or
    unknown: NaN), no curve: the diagonal of a book of zeros read as a perfectly even one."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfect equality",
                             line={"dash": "dot", "color": "#888"}))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name="Territories", line={"color": BAND_COLORS["within"]},
                             fill="tonexty"))  # fmt: skip
    titled(fig, title, height=400)
    fig.update_layout(
        xaxis_title="Share of territories (smallest first)",
        yaxis_title="Share of the total",
        xaxis={"tickformat": ".0%"},
        yaxis={"tickformat": ".0%"},
    )
    if total is not None and not total > 0:
        fig.data = ()
        return say_nothing_to_show(fig, nothing_to_show(what))
    return fig


def quota_scatter(reps: Any, colors: dict[str, str], labelled: int = 3) -> go.Figure:
    """Potential against quota, one bubble per territory (size: accounts). Only the `labelled` highest and
    lowest potential-per-quota territories carry a name, alternately above and below their bubble, so
    labels never pile up; every bubble names itself on hover."""
    pq = reps.dropna(subset=["quota"]).copy()
    cur = text.currency_prefix()
    ranked = pq["potential_per_quota"].rank(method="first")
    n = len(pq)
    pq["_label"] = [
        short(t, 24) if (r <= labelled or r > n - labelled) else ""
        for t, r in zip(pq["territory"], ranked, strict=True)
    ]
    pq["_pos"] = ["top center" if i % 2 == 0 else "bottom center" for i in range(n)]
    size = 10 + 30 * (pq["accounts"] / max(1, pq["accounts"].max())) ** 0.5 if n else []
    fig = go.Figure(
        go.Scatter(
            x=pq["quota"],
            y=pq["potential"],
            mode="markers+text",
            text=pq["_label"],
            textposition=pq["_pos"].tolist(),
            marker={
                "size": size,
                "color": [colors.get(str(r), "rgb(60,60,60)") for r in pq["rep_id"]],
                "line": {"width": 1, "color": "white"},
            },  # fmt: skip
            customdata=pq[["territory", "accounts", "potential_per_quota"]].assign(territory=pq["territory"].map(safe)),
            hovertemplate=f"%{{customdata[0]}}<br>Quota {cur}%{{x:,.0f}}<br>Potential {cur}%{{y:,.0f}}<br>"
            "%{customdata[1]:,} accounts<br>Potential / quota %{customdata[2]:.1f}<extra></extra>",
            showlegend=False,
        )
    )
    if n and float(pq["quota"].sum()) > 0:
        avg = float(pq["potential"].sum() / pq["quota"].sum())
        xmax = float(pq["quota"].max()) * 1.1
        fig.add_trace(go.Scatter(x=[0, xmax], y=[0, avg * xmax], mode="lines", line={"dash": "dash", "color": "#888"},
                                 hoverinfo="skip", name=f"Average potential / quota ({avg:.1f})"))  # fmt: skip
    titled(fig, "Potential against quota", height=440)
    fig.update_layout(xaxis_title="Quota", yaxis_title="Potential", xaxis=axis("money"), yaxis=axis("money"))
    if not n:  # empty axes from -1 to 4 said nothing
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.add_annotation(text="No territory has a quota: import a user file with a Quota column<br>"
                                "(python -m planner import users.csv --kind reps) to compare them",
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)  # fmt: skip
    elif not float(pq["potential"].fillna(0).abs().sum()) > 0:
        fig.data = ()
        say_nothing_to_show(fig, nothing_to_show("potential"))
    return fig


STATUS_COLORS = {"covered": "#00798c", "unowned": "#3c3c3c", "out_of_reach": "#d1495b", "over_capacity": "#edae49"}


def status_bars(by_status: Any) -> go.Figure:
    """Potential by coverage status (covered, no active owner, out of reach, beyond capacity)."""
    fig = go.Figure(
        go.Bar(
            x=by_status["label"],
            y=by_status["potential"],
            marker_color=[STATUS_COLORS.get(s, "#888") for s in by_status["status"]],
            customdata=by_status["accounts"],
            hovertemplate="%{x}<br>" + text.currency_prefix() + "%{y:,.0f} in %{customdata:,} accounts<extra></extra>",
        )
    )
    titled(fig, "Where the potential stands", height=440, legend=False)
    fig.update_layout(yaxis_title="Potential", yaxis=axis("money"))
    if not float(by_status["potential"].fillna(0).abs().sum()) > 0:
        fig.data = ()
        say_nothing_to_show(fig, nothing_to_show("potential").replace("every territory", "every account"))
    return fig


def imbalance_lines(fig: go.Figure, df: Any, x: list[Any], row: int, col: int) -> list[str]:
    """Max/mean against x on a subplot: a line per metric when the frame has several (`max_mean_<metric>`
    columns, as the optimizer's curves give them), else the one `max_mean` line. Returns the per-metric columns
    when there are several (the caller shows a legend and table columns for them), else []."""
    per_metric = [c for c in df.columns if c.startswith("max_mean_")]
    several = per_metric if len(per_metric) > 1 else []
    for c in several or ["max_mean"]:
        name = c.removeprefix("max_mean_") if several else "max/mean"
        fig.add_scatter(x=x, y=df[c].tolist(), mode="lines+markers", name=name, row=row, col=col)
    return several


# What each metric of a scenario is, on a comparison's axes: its title and the kind of number (axis()).
COMPARE_METRICS = {
    "potential": ("Potential", "money"),
    "expected_value": ("Expected value", "money"),
    "accounts": ("Accounts", "count"),
    "workload": ("Workload (hours)", "hours"),
}


def compare_bars(per_rep: Any, metrics: Sequence[str]) -> go.Figure:
    """Scenarios side by side: one panel per metric (those the scenarios balanced, potential first), a bar per
    territory and scenario, each scenario one colour across panels; money axes carry the store's currency."""
    metrics = [m for m in metrics if m in per_rep] or ["potential"]
    titles = [COMPARE_METRICS.get(m, (m.removeprefix("column:"), "count"))[0] + " per territory" for m in metrics]
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.08)
    palette = ["#3c3c3c", "#00798c", "#d1495b", "#edae49", "#66a182", "#2e4057"]
    for i, (scen, grp) in enumerate(per_rep.groupby("scenario", sort=False)):
        for row, m in enumerate(metrics, start=1):
            kind = COMPARE_METRICS.get(m, ("", "count"))[1]
            value = "%{y:,.0f}" if kind != "money" else text.currency_prefix() + "%{y:,.0f}"
            # Names are users' text: escaped, plotly shows them literally (a '<b>' in a name stays '<b>').
            fig.add_bar(x=[short(n) for n in grp["owner_name"]], y=grp[m], name=safe(scen),
                        legendgroup=str(i), showlegend=row == 1, marker_color=palette[i % len(palette)], row=row,
                        col=1, customdata=[safe(n) for n in grp["owner_name"]],
                        hovertemplate=f"%{{customdata}}<br>{value}")  # fmt: skip
            fig.update_yaxes(axis(kind), row=row, col=1)
    fig.update_layout(barmode="group")
    return panels(fig, height=120 + 240 * len(metrics))
