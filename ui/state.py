"""Widgets whose values live in the address bar, so a copied link reproduces the view.

A value in the link that the page cannot use (an unknown option, a number out of range, junk) is
never a blank view: the widget falls back to its default and the page says what was ignored
(`show_ignored`, which the sidebar also calls at the end of every page for anything left).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.auth import md_text

_IGNORED = "_url_ignored"
_run = threading.local()


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return None if value in (None, "") else str(value)


def _from_link(key: str) -> bool:
    """Whether a widget takes its value from the address now: on its first run, and on a run the browser's Back or
    Forward started (Streamlit 1.67 reruns the page with the entry's address then; the value the session kept
    would write itself back to the address, so Back changed nothing and led nowhere: a trap)."""
    if key not in st.session_state:
        return True
    ctx = get_script_run_ctx()
    return bool(getattr(ctx, "is_history_navigation", False))


def ignore(param: str, value: object, why: str) -> None:
    """Remember that `?param=value` from the link was not used, and why (shown by show_ignored)."""
    notes: list[str] = st.session_state.setdefault(_IGNORED, [])
    text = str(value)
    shown = text if len(text) <= 40 else text[:39] + "…"
    note = f"{param}={shown} ({why})"
    if note not in notes:
        notes.append(note)


def show_ignored(container: Any = st) -> None:
    """One note listing what the link asked for that this page ignored (nothing when all was used)."""
    notes = st.session_state.pop(_IGNORED, [])
    if notes:
        container.info(
            md_text("Ignored from this link: " + "; ".join(notes) + ". Showing the defaults instead.", 800),
            icon=":material/link_off:",
        )


def _choices(options: Sequence[Any], format_func: Any) -> str:
    names = [str(o) for o in options[:6]]
    return "use " + ", ".join(names) + (", …" if len(options) > 6 else "")


def selectbox(label: str, options: Sequence[Any], *, param: str, key: str, format_func: Any = str,
              default: Any = None, container: Any = st, url_text: Any = str, keep_default: bool = False,
              **kw: Any) -> Any:  # fmt: skip
    """A selectbox whose choice is read from and written to `?param=` in the URL (as `url_text(choice)`; the
    default choice is left out of the link unless keep_default, for a default that differs by who opens it)."""
    options = list(options)
    wanted = _param(param)
    by_text = {str(url_text(o)): o for o in options}
    if _from_link(key):
        start = by_text.get(wanted) if wanted is not None else default
        if wanted is not None and wanted not in by_text:
            ignore(param, wanted, f"not an option here; {_choices(options, format_func)}")
        if start not in options:
            start = default if default in options else (options[0] if options else None)
        st.session_state[key] = start
    elif st.session_state[key] not in options:
        st.session_state[key] = default if default in options else (options[0] if options else None)
    # Streamlit keeps showing a kept value's old label when format_func's text for it changes (its issue 13788:
    # after an import the sidebar said 'Ava Garcia' for R001, now Anna Schmidt); setting the value again redraws it.
    shown, memo = (None if st.session_state[key] is None else str(format_func(st.session_state[key]))), f"_{key}_shown"
    if memo in st.session_state and st.session_state[memo] != shown:
        st.session_state[key] = st.session_state[key]
    st.session_state[memo] = shown
    value = container.selectbox(label, options, key=key, format_func=format_func, **kw)
    set_param(param, None if value is None or (value == default and not keep_default) else url_text(value))
    return value


def multiselect(
    label: str, options: Sequence[Any], *, param: str, key: str, container: Any = st, **kw: Any
) -> list[Any]:
    """A multiselect stored in the URL as one `?param=` per value, so a value may hold a comma ("Banking,
    Financial Services"). An older link's comma-separated list is still read where its parts are values."""
    options = list(options)
    if _from_link(key):
        known = {str(o) for o in options}
        wanted: list[str] = []
        unknown: list[str] = []
        for raw in st.query_params.get_all(param):
            found, missed = _known_values(str(raw), known)
            wanted += found
            unknown += missed
        if unknown:
            ignore(param, ",".join(unknown), "not among the values in your data")
        chosen = [o for o in options if str(o) in wanted]
        most = kw.get("max_selections")
        if most and len(chosen) > most:
            ignore(param, ",".join(str(o) for o in chosen[most:]), f"at most {most} at a time")
            chosen = chosen[:most]
        st.session_state[key] = chosen
    else:
        st.session_state[key] = [o for o in st.session_state[key] if o in options]
    value = container.multiselect(label, options, key=key, **kw)
    set_param(param, [str(v) for v in value])
    return list(value)


def _known_values(raw: str, known: set[str]) -> tuple[list[str], list[str]]:
    """The values one `?param=` names: itself when it is a value, else its comma-separated parts (an older
    link's list), joining neighbouring parts back where together they make a value that holds a comma."""
    if raw in known or raw == "":
        return ([raw] if raw else []), []
    parts, i = raw.split(","), 0
    found: list[str] = []
    missed: list[str] = []
    while i < len(parts):
        j = next((j for j in range(len(parts), i, -1) if ",".join(parts[i:j]) in known), None)
        if j is None:
            if parts[i].strip():
                missed.append(parts[i])
            i += 1
        else:
            found.append(",".join(parts[i:j]))
            i = j
    return found, missed


def number(label: str, *, param: str, key: str, default: float, container: Any = st, **kw: Any) -> float:
    """A number input stored in the URL (a value that is not a number, or out of range, is ignored)."""
    if _from_link(key):
        wanted = _param(param)
        value = default
        if wanted is not None:
            try:
                value = type(default)(wanted)
                low, high = kw.get("min_value"), kw.get("max_value")
                if value != value or (low is not None and value < low) or (high is not None and value > high):
                    raise ValueError
            except ValueError:
                ignore(param, wanted, f"not a number from {kw.get('min_value', '')} to {kw.get('max_value', '')}")
                value = default
        st.session_state[key] = value
    value = container.number_input(label, key=key, **kw)
    set_param(param, None if value == default else value)
    return value  # type: ignore[no-any-return]


def percent(label: str, *, param: str, key: str, default: float, container: Any = st, **kw: Any) -> float:
    """A tolerance in percent (5 = ± 5 %), stored in the URL in percent, from 1 to max_value (50 unless given).
    An older link's share (tol=0.05, below 1) is read as that share in percent; no value this field can hold is
    below 1, so the two cannot be confused."""
    wanted = _param(param) if _from_link(key) else None
    try:
        old_share = wanted is not None and 0 < float(wanted) < 1
    except ValueError:
        old_share = False
    if old_share and wanted is not None:
        st.query_params[param] = f"{float(wanted) * 100:g}"
    kw = {"min_value": 1.0, "max_value": 50.0, "step": 1.0, **kw}
    return number(label, param=param, key=key, default=float(default), container=container, **kw)


def checkbox(label: str, *, param: str, key: str, container: Any = st, **kw: Any) -> bool:
    """A checkbox stored in the URL as `?param=1` when ticked (anything but 1 or 0 is ignored)."""
    if _from_link(key):
        wanted = _param(param)
        if wanted is not None and wanted not in ("0", "1"):
            ignore(param, wanted, "use 1 (ticked) or 0")
        st.session_state[key] = wanted == "1"
    value = bool(container.checkbox(label, key=key, **kw))
    set_param(param, "1" if value else None)
    return value


def pills(label: str, options: dict[str, str], *, param: str, key: str, default: Sequence[str],
          container: Any = st, **kw: Any) -> list[str]:  # fmt: skip
    """Multi-select pills stored in the URL as a comma-separated list ('none' for an empty choice)."""
    if _from_link(key):
        wanted = _param(param)
        if wanted is None:
            chosen = list(default)
        else:
            asked = [w for w in wanted.split(",") if w not in ("", "none")]
            chosen = [w for w in asked if w in options]
            unknown = [w for w in asked if w not in options]
            if unknown:
                ignore(param, ",".join(unknown), f"{_choices(list(options), str)}")
                if not chosen:
                    chosen = list(default)
        st.session_state[key] = chosen
    value = container.pills(label, list(options), selection_mode="multi", format_func=options.get, key=key, **kw)
    value = list(value or [])
    set_param(param, None if sorted(value) == sorted(default) else ",".join(value) or "none")
    return value


def tabs(labels: Sequence[str], *, param: str, key: str, container: Any = st) -> Sequence[Any]:
    """Tabs whose open tab is stored in the URL as `?param=label` (the first tab is left out)."""
    labels = list(labels)
    if _from_link(key):
        wanted = _param(param)
        if wanted is not None and wanted not in labels:
            ignore(param, wanted, _choices(labels, str))
        st.session_state[key] = wanted if wanted in labels else labels[0]
    elif st.session_state[key] not in labels:
        st.session_state[key] = labels[0]
    shown = container.tabs(labels, key=key, on_change="rerun")
    value = st.session_state.get(key)
    set_param(param, None if value == labels[0] else value)
    return shown  # type: ignore[no-any-return]


def ignored_params(names: Sequence[str], why: str) -> None:
    """Parameters an older link may carry that no longer apply: dropped from the address, with a note."""
    for name in names:
        wanted = _param(name)
        if wanted is not None:
            ignore(name, wanted, why)
            del st.query_params[name]


def not_for_role(message: str, names: Sequence[str] | None = None, container: Any = st) -> bool:
    """A link made for another role (a leader's Rebalance opened by a rep): its parameters (`names`, else every one
    no widget of this run used) are dropped with one line, `message`, not a note per parameter saying it is 'not
    used on this page' (it is, for that role). Returns whether the link carried any."""
    used: set[str] = getattr(_run, "used", None) or set()
    dropped = [n for n in st.query_params if n not in used and (names is None or n in names)]
    for name in dropped:
        del st.query_params[name]
    if dropped:
        container.info(md_text(message, 400), icon=":material/lock:")
    return bool(dropped)


def start_run() -> None:
    """A new run of a page begins: no parameter of the link has been used yet (see drop_unused)."""
    _run.used = set()


def drop_unused() -> None:
    """After a page ran to its end: drop from the address every parameter no widget of this run used (one
    another page, role or older version reads, or junk), each with a note, so the link to this view carries
    only what the page applied for this user."""
    used: set[str] | None = getattr(_run, "used", None)
    if used is None:
        return
    for name in [n for n in st.query_params if n not in used]:
        ignore(name, ",".join(st.query_params.get_all(name)), "not used on this page")
        del st.query_params[name]


def set_param(name: str, value: Any) -> None:
    """Write (or clear) one query parameter without touching the others; the page has used it (drop_unused)."""
    used: set[str] | None = getattr(_run, "used", None)
    if used is not None:
        used.add(name)
    if value is None or value == "" or value == []:
        if name in st.query_params:
            del st.query_params[name]
    elif isinstance(value, list):  # one ?name= per value
        if st.query_params.get_all(name) != [str(v) for v in value]:
            st.query_params[name] = [str(v) for v in value]
    elif st.query_params.get(name) != str(value) or len(st.query_params.get_all(name)) > 1:
        st.query_params[name] = str(value)
