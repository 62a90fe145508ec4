"""Short human formats shared by reasons, plans, exports and the dashboard."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from babel import Locale
from babel.numbers import get_currency_symbol

# The store's currency as shown: the symbol money is written with in this run (a CLI command, one render of a page).
# Set from the store by the CLI and the app's shell (use_currency); US dollars until then. A file built later, out of
# that run (a download button's callable runs on a thread of its own), names its currency instead: currency=CODE.
_SYMBOL: ContextVar[str] = ContextVar("currency_symbol", default="$")
_CODE: ContextVar[str] = ContextVar("currency_code", default="USD")
# A store whose imports found amounts in several currencies, and where nobody set one, has no currency: ISO 4217's
# code for "no currency" stands for it. Its money is written as the plain number, with no sign (a "$" or the sign of
# whichever currency holds most would pass the others off as it: a commercial tool without exchange rates shows the
# amounts as written and says so), and each page carries mixed_caveat where its totals are read.
MIXED = "XXX"
_MIXED_CODES: ContextVar[str] = ContextVar("currency_mixed", default="")


def filled(values: pd.Series, missing: str) -> pd.Series:
    """Values as text with `missing` where absent, whatever the column's dtype: a column with no value at all
    reads as float64, which pandas will not fill with text (a Pandas4Warning now, an error in pandas 4)."""
    return values.astype(object).where(values.notna(), missing).astype(str)


def one_line(value: object, limit: int | None = 60) -> str:
    """A name from a CRM file inside a sentence or a one-line field: its line breaks and runs of spaces as one
    space, at most `limit` characters (a 5,000-character name is cut with an ellipsis)."""
    flat = " ".join(str(value).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def listing(items: Sequence[str], limit: int, sep: str = ", ") -> str:
    """The first `limit` items joined, then how many more: 'Acme, Beta, Gamma and 1,204 more'."""
    shown = sep.join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


# Accounts imported from a file without an ID column are keyed by their name ('name:acme|boston'): no CRM record
# has that id.
NAME_KEY_PREFIX = "name:"


def crm_record_id(account_id: object) -> str:
    """The account's id in its CRM, '' when it has none (keyed by name)."""
    aid = "" if account_id is None or pd.isna(account_id) else str(account_id)
    return "" if aid.startswith(NAME_KEY_PREFIX) else aid


def account_label(account_id: object, name: object) -> str:
    """An account as a leader knows it: 'Gamma KK (001A)', its name on one line and its CRM id; without a CRM id
    (an import's key such as 'name:gamma kk|tokyo japan') its name alone."""
    aid = str(account_id)
    if name is None or pd.isna(name) or not str(name).strip():
        return aid
    crm = crm_record_id(aid)
    return one_line(name) if not crm or crm == name else f"{one_line(name)} ({crm})"


def currency_code(code: str | None) -> str | None:
    """An ISO 4217 code the CLDR knows ('eur' -> 'EUR'), else None."""
    text = str(code or "").strip().upper()
    return text if len(text) == 3 and text in _known_codes() else None


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    return frozenset(Locale("en").currencies)


def _symbol(code: str | None) -> str:
    if currency_code(code) == MIXED:
        return ""
    return get_currency_symbol(currency_code(code) or "USD", locale="en")


def use_currency(code: str | None, mixed: str | None = None) -> None:
    """Write money in `code`'s symbol from now on in this run (US dollars when unknown); MIXED: with no sign, the
    store's amounts being in the currencies `mixed` names ('GBP, INR, JPY'), which mixed_caveat then lists."""
    _SYMBOL.set(_symbol(code))
    _CODE.set(currency_code(code) or "USD")
    _MIXED_CODES.set(str(mixed or "") if _CODE.get() == MIXED else "")


def mixed_caveat(codes: str | None = None, currency: str | None = None) -> str:
    """The one caveat of a store whose money is in several currencies ('' when it has one): the amounts are added
    as written, and how to make them one. `codes`: the currencies ('GBP, INR, JPY'), else this run's; `currency`:
    a plan's currency code, else this run's."""
    if currency_code(currency or _CODE.get()) != MIXED:
        return ""
    listed = f" ({codes or _MIXED_CODES.get()})" if (codes or _MIXED_CODES.get()) else ""
    return (
        f"amounts are in several currencies{listed} and are added as written, with no currency sign: convert them "
        "in the CRM export and import again, or set one currency in Settings (admins; `planner settings --currency "
        "CODE`)"
    )


def quota_caveat(codes: str | None = None, currency: str | None = None) -> str:
    """Why no ratio of quota to potential or expected value is shown in a store of several currencies ('' when it
    has one): a quota in pounds against potential in euros, both unconverted, is no share of anything. Same
    arguments as mixed_caveat."""
    if not mixed_caveat(codes, currency):
        return ""
    listed = f" ({codes or _MIXED_CODES.get()})" if (codes or _MIXED_CODES.get()) else ""
    return (
        f"quotas and amounts are in several currencies{listed}, not converted, so a ratio of quota to potential or "
        "expected value means nothing until they are in one currency"
    )


# Our own sentences name a command of this project in backticks (`planner settings --currency CODE`): Markdown
# shows it as code, plain formats (Excel, HTML) without the backticks. Only such a command counts, so a backtick in
# a name from a CRM file stays a character.
_COMMAND = re.compile(r"`((?:python -m )?planner [^`\n]{1,80})`")


def without_code_marks(sentence: str) -> str:
    """One of our sentences as plain text: 'run `planner train`' -> 'run planner train'."""
    return _COMMAND.sub(r"\1", sentence)


def markdown_with_code(sentence: str, escape: Callable[[str], str]) -> str:
    """One of our sentences as Markdown: its commands as code spans, the rest through `escape` (shown as
    written, names from CRM files included)."""

    def text(piece: str) -> str:  # an escape may trim the spaces that part it from the code
        lead, trail = (" " if piece[:1].isspace() else ""), (" " if piece[-1:].isspace() and piece.strip() else "")
        return lead + escape(piece) + trail if piece.strip() else lead

    out, last = [], 0
    for m in _COMMAND.finditer(sentence):
        out += [text(sentence[last : m.start()]), f"`{m.group(1)}`"]
        last = m.end()
    return "".join([*out, text(sentence[last:])])


def currency_in_use() -> str:
    """This run's currency code (use_currency's; USD until set): what a page hands the file it builds later."""
    return _CODE.get()


def currency_prefix(currency: str | None = None) -> str:
    """What a money figure starts with: '$', '€', 'CA$', or 'CHF ' (a code gets a space), nothing in a store of
    several currencies (MIXED); in `currency` (an ISO code, US dollars when unknown) when given, else in this run's
    currency (use_currency)."""
    symbol = _SYMBOL.get() if currency is None else _symbol(currency)
    return f"{symbol} " if symbol[-1:].isalpha() else symbol


def money(value: float | None, missing: str = "n/a", *, currency: str | None = None) -> str:
    """$1.2B / $1.2M / $350.0k / $900 (in `currency` when given, else this run's): short money for text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    prefix = currency_prefix(currency)
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{prefix}{value / size:,.1f}{unit}"
    return f"{prefix}{value:,.0f}"


def json_safe(value: Any) -> Any:
    """A value made JSON-ready: NaN, inf, pd.NA and NaT become None; numpy scalars become Python ones.

    Dicts, lists and tuples are cleaned recursively (tuples become lists). The one cleaner for the CLI's
    --json output, stored scenario and model records, and the pages' downloads.
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
