"""The store's currency: which one a CRM file's amounts are in, and the store's own.

A file says its currency by the markers its amounts carry ('EUR 12.500,00', '€1,200', '£900', 'CA$50') or by a
column that names it per row (Salesforce's 'Opportunity Currency', HubSpot's and Dynamics' 'Currency': a code or an
English name); a quota is money too ('JPY 150,000,000'). The first file that says one sets the store's currency, and
every money figure is then written in it (planner.text.money). A file in several currencies, or in another than the
one an import set, makes the store one of several currencies: money is then written with no sign, every page says
the amounts are added as written, and the model leaves annual revenue out, until a person sets one currency. A file
in another currency than the one a person set is warned about. Amounts are never converted (no exchange rates
offline).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from babel import Locale
from babel.numbers import list_currencies

from planner import store, text
from planner.errors import BadInput
from planner.ingest import fields as F
from planner.scope import Scope, require_admin
from planner.store import imports as sq
from planner.store import world

# Markers a money value carries (RE2, on the raw text), besides its ISO code (any of them, CODES). A bare '$' says
# nothing: US, Canadian and Australian exports all write it, and US dollars are the default anyway. '¥' alone is
# the yen (CLDR's English symbol; the yuan is 'CN¥' there, and '元' in Chinese).
MARKERS = {
    "EUR": r"€|\bEUR\b",
    "GBP": r"£|\bGBP\b",
    "USD": r"\bUSD\b|\bUS\$",
    "CAD": r"\bCAD\b|\bC\$|\bCA\$",
    "AUD": r"\bAUD\b|\bA\$|\bAU\$",
    "INR": r"₹|\bINR\b|\bRs\.? ?\d", "BRL": r"\bR\$|\bBRL\b", "CHF": r"\bCHF\b", "PLN": r"zł|\bPLN\b",
    "KRW": r"₩|\bKRW\b", "RUB": r"₽|\bRUB\b", "TRY": r"₺|\bTRY\b", "ILS": r"₪|\bILS\b", "CZK": r"Kč|\bCZK\b",
    "JPY": r"\bJPY\b|(?:^|[^N])¥|￥|円", "CNY": r"\bCNY\b|\bRMB\b|CN¥|元", "SEK": r"\bSEK\b", "NOK": r"\bNOK\b",
    "DKK": r"\bDKK\b", "SAR": r"\bSAR\b|ر\.س|﷼", "AED": r"\bAED\b|د\.إ", "THB": r"฿", "VND": r"₫", "PHP": r"₱",
    "NGN": r"₦", "UAH": r"₴", "KZT": r"₸",
    "MXN": r"\bMXN\b|\bMX\$", "ZAR": r"\bZAR\b", "SGD": r"\bSGD\b|\bS\$", "HKD": r"\bHKD\b|\bHK\$",
    "NZD": r"\bNZD\b|\bNZ\$",
}  # fmt: skip
# Columns that name each row's currency (headers as normalize_header writes them).
CODE_HEADERS = frozenset({
    "currency", "currency code", "currency iso code", "currencyisocode", "opportunity currency", "account currency",
    "deal currency code", "transaction currency", "amount currency",
})  # fmt: skip
CODES = tuple(sorted(list_currencies()))
MONEY_FIELDS = ("amount", "annual_revenue", "quota")
DEFAULT = "USD"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """English currency names ('euro', 'us dollar') -> code."""
    return {name.lower(): code for code, name in Locale("en").currencies.items()}


def code_of(value: str) -> str | None:
    """A currency code or English name ('eur', 'Euro', 'US Dollar') -> its ISO code, else None."""
    return text.currency_code(value) or _names().get(str(value).strip().lower())


def store_currency(con: duckdb.DuckDBPyConnection) -> str:
    """The store's currency code (US dollars when no import or person set one)."""
    return text.currency_code(world.currency(con)) or DEFAULT


@store.retry_conflicts
def set_currency(db_path: Path, value: str, *, scope: Scope) -> str:
    """Set the store's currency (admins only): a code or an English name. Amounts are not converted."""
    require_admin(scope)
    code = code_of(value)
    if code is None or code == text.MIXED:
        raise BadInput(f"currency {value!r} is not a currency; give its ISO code, e.g. EUR, GBP, USD")
    with store.write(db_path) as con:
        world.set_currency(con, code, scope=scope, by_person=True)
    return code


def mixed_caveat(con: duckdb.DuckDBPyConnection) -> str:
    """The caveat of a store of several currencies ('' when it has one): see planner.text.mixed_caveat."""
    return text.mixed_caveat(world.mixed_currencies(con), store_currency(con))


def file_currencies(con: duckdb.DuckDBPyConnection, columns: list[str], labels: dict[str, str],
                    *, scope: Scope) -> list[str]:  # fmt: skip
    """The currencies a staged table's amounts are in, sorted: by their markers and by a currency column."""
    require_admin(scope)
    money = [labels[f] for f in MONEY_FIELDS if f in labels]
    codes = [c for c in columns if F.normalize_header(c) in CODE_HEADERS]
    counts, named = sq.currency_evidence(con, money, codes, MARKERS, CODES, scope=scope)
    found = {code for code, n in counts.items() if n}
    found |= {c for c in (code_of(v) for v in named) if c}
    return sorted(found)


def apply(con: duckdb.DuckDBPyConnection, columns: list[str], labels: dict[str, str], report: Any,
          *, scope: Scope) -> None:  # fmt: skip
    """Within the import's write: the first file that names one currency sets the store's; a file in several
    currencies, or in another than the one an import set, makes the store one of several currencies (money shown
    with no sign); a file in another currency than the one a person set is warned about. Amounts are kept as
    written."""
    require_admin(scope)
    found = file_currencies(con, columns, labels, scope=scope)
    if not found:
        return
    current = text.currency_code(world.chosen_currency(con))
    by_person = world.currency_chosen_by_person(con)
    mixed = world.mixed_currencies(con) if current is None else None
    together = sorted({*found, *([current] if current else []), *(mixed.split(", ") if mixed else [])})
    unset = f"set it with `planner settings --currency {found[0]}` (or on the Settings page)"
    if len(found) > 1:
        report.warnings.append(
            f"amounts are in several currencies ({', '.join(found)}): they are added up as written, not converted; "
            "export them converted to one currency (the CRM's converted amount column) and import again"
        )
        if not by_person:  # a later file in one of them must not relabel these
            world.note_mixed_store(con, ", ".join(together), scope=scope)
        return
    code = found[0]
    if current is None and mixed:
        if code not in mixed.split(", "):
            world.note_mixed_store(con, ", ".join(together), scope=scope)
        report.warnings.append(
            f"this file's amounts are in {code}, but the store already holds amounts in several currencies "
            f"({', '.join(together)}), so its currency stays unset: if the whole store is in {code}, {unset}"
        )
    elif current is None:
        world.set_currency(con, code, scope=scope)
        report.notes.append(f"amounts are in {code}: the store now shows money in {code}")
    elif current != code and by_person:
        report.warnings.append(
            f"this file's amounts are in {code} and the store's in {current}: they are kept as written, not "
            f"converted; if the whole store is in {code}, {unset}"
        )
    elif current != code:
        world.note_mixed_store(con, ", ".join(together), scope=scope)
        report.warnings.append(
            f"this file's amounts are in {code} and the store's in {current}: they are kept as written, not "
            f"converted, and the store now holds several currencies ({', '.join(together)}), shown with no currency "
            f"sign; if the whole store is in {code}, {unset}"
        )
