"""Widgets whose values live in the address bar, so a copied link reproduces the view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return None if value in (None, "") else str(value)


def selectbox(label: str, options: Sequence[Any], *, param: str, key: str,
              format_func: Any = str, default: Any = None, container: Any = st, **kw: Any) -> Any:  # fmt: skip
    """A selectbox whose choice is read from and written to `?param=` in the URL."""
    options = list(options)
    wanted = _param(param)
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        start = by_text.get(wanted) if wanted is not None else default
        if start not in options:
            start = default if default in options else (options[0] if options else None)
        st.session_state[key] = start
    elif st.session_state[key] not in options:
        st.session_state[key] = default if default in options else (options[0] if options else None)
    value = container.selectbox(label, options, key=key, format_func=format_func, **kw)
    set_param(param, None if value == default else value)
    return value


def multiselect(
    label: str, options: Sequence[Any], *, param: str, key: str, container: Any = st, **kw: Any
) -> list[Any]:
    """A multiselect stored in the URL as a comma-separated list."""
    options = list(options)
    if key not in st.session_state:
        wanted = (_param(param) or "").split(",")
        st.session_state[key] = [o for o in options if str(o) in wanted]
    else:
        st.session_state[key] = [o for o in st.session_state[key] if o in options]
    value = container.multiselect(label, options, key=key, **kw)
    set_param(param, ",".join(str(v) for v in value) or None)
    return list(value)


def number(label: str, *, param: str, key: str, default: float, container: Any = st, **kw: Any) -> float:
    """A number input stored in the URL."""
    if key not in st.session_state:
        try:
            st.session_state[key] = type(default)(_param(param) or default)
        except ValueError:
            st.session_state[key] = default
    value = container.number_input(label, key=key, **kw)
    set_param(param, None if value == default else value)
    return value  # type: ignore[no-any-return]


def set_param(name: str, value: Any) -> None:
    """Write (or clear) one query parameter without touching the others."""
    if value is None or value == "":
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def ignored_params(names: Sequence[str], why: str) -> None:
    """Parameters an older link may carry that no longer apply: dropped from the address, with a note."""
    present = [n for n in names if _param(n) is not None]
    if present:
        st.info(f"This link's {', '.join(present)} parameter(s) were ignored: {why}.", icon=":material/info:")
        for name in present:
            del st.query_params[name]
