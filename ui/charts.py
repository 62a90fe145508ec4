"""Charts shared by pages: the one tolerance-band colouring of per-territory bars (mean ± tolerance)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

BAND_COLORS = {"above": "#d1495b", "within": "#00798c", "below": "#edae49"}
"""Red above the band, teal within it, orange below it: on every page that colours territories."""


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
    hover: str = "%{x}<br>%{y:,.2f}<extra></extra>",
    height: int = 380,
) -> go.Figure:
    """Bars per territory coloured by the tolerance band around `centre` (the mean of `values` unless
    given), with the band shaded, the centre dashed and a legend naming each colour."""
    v = np.asarray(values, dtype=float)
    names = [str(n) for n in names]
    finite = v[np.isfinite(v)]
    mid = float(finite.mean()) if centre is None and len(finite) else (float(centre) if centre is not None else np.nan)
    bands = band_of(v, mid, tolerance) if np.isfinite(mid) else ["within"] * len(v)
    marks = list(highlight) if highlight is not None else [False] * len(v)
    labels = band_labels(tolerance, centre_name)
    fig = go.Figure()
    for band in ("above", "within", "below"):
        idx = [i for i, b in enumerate(bands) if b == band]
        if not idx:
            continue
        fig.add_trace(
            go.Bar(
                x=[names[i] for i in idx],
                y=v[idx],
                name=labels[band],
                marker_color=BAND_COLORS[band],
                marker_line_width=[3 if marks[i] else 0 for i in idx],
                marker_line_color="#1d2b36",
                hovertemplate=hover,
            )
        )
    if np.isfinite(mid):
        fig.add_hrect(y0=(1 - tolerance) * mid, y1=(1 + tolerance) * mid, fillcolor=BAND_COLORS["within"],
                      opacity=0.12, line_width=0)  # fmt: skip
        fig.add_hline(y=mid, line_dash="dash", annotation_text=centre_name.removeprefix("the "),
                      annotation_position="top left")  # fmt: skip
    fig.update_layout(
        title=title,
        height=height,
        margin={"t": 50, "b": 10, "l": 10, "r": 10},
        yaxis_title=yaxis_title,
        barmode="overlay",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        xaxis={"categoryorder": "array", "categoryarray": names},
    )
    return fig
