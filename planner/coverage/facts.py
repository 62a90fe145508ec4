"""What coverage means, and the per-account facts every coverage figure is aggregated from.

- coverage = share of potential in accounts owned by an active rep, within reach of that rep's home
  and within the rep's capacity: a rep works reachable accounts in order of expected value per hour
  until the hours run out; the rest of the book is 'over capacity'.
- An account whose distance cannot be measured (no coordinates, no home for its owner, or a location
  known only to the country) counts toward coverage and balance but not toward travel: it is taken
  as reachable and its workload is the meeting time alone.
- white space = high-potential accounts (top share of potential in scope) that are not covered.

The facts are one table on the connection (store.facts.account_facts, built once per store version and scope);
these constants reach it as parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import duckdb

from planner.coverage.value import ExpectedValueBasis, as_of_date, expected_value_basis
from planner.coverage.workload import Workload, load_workload
from planner.errors import BadInput
from planner.scope import Scope, require_view
from planner.store import facts as store_facts
from planner.store import metrics as q

SEGMENTS: dict[str, tuple[float, float | None]] = {
    "SMB": (0, 100),
    "Mid-market": (100, 1000),
    "Enterprise": (1000, None),
}
"""Size segments by employees: [low, high)."""

STATUSES: dict[str, str] = {
    "covered": "Covered",
    "unowned": "No active owner",
    "out_of_reach": "Out of the owner's reach",
    "over_capacity": "Beyond the owner's capacity",
}
"""Coverage status of an account, in this order of precedence after 'covered'."""

STATUS_CODES = q.StatusCodes(*STATUSES)
CAPACITY_ORDER = "expected_value_per_hour"
"""In which order a rep works the reachable book until capacity runs out (see store.metrics)."""


@dataclass(frozen=True)
class Filters:
    """The Coverage page's filters; empty tuples mean 'all'. rep_id is the territory in view."""

    segments: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    rep_id: str | None = None

    def __post_init__(self) -> None:
        for s in self.segments:
            if s not in SEGMENTS:
                raise BadInput(f"unknown segment {s!r}; use {', '.join(SEGMENTS)}")

    @property
    def is_set(self) -> bool:
        return bool(self.segments or self.industries or self.states or self.rep_id)

    def without_rep(self) -> Filters:
        return Filters(self.segments, self.industries, self.states, None)

    def predicate(self) -> tuple[str, list[object]]:
        return q.filter_predicate(
            self.industries, self.states, [SEGMENTS[s] for s in self.segments], self.rep_id, alias="a"
        )

    def describe(self) -> str:
        parts = [", ".join(v) for v in (self.segments, self.industries, self.states) if v]
        if self.rep_id:
            parts.append(f"territory {self.rep_id}")
        return " · ".join(parts) or "all accounts"


EVERY_ACCOUNT = Filters()
"""No filter: every account in the caller's scope."""


@dataclass(frozen=True)
class Context:
    """What one computation of coverage figures stands on."""

    as_of: date
    basis: ExpectedValueBasis
    workload: Workload


def context(con: duckdb.DuckDBPyConnection, *, scope: Scope, workload: Workload | None) -> Context:
    as_of = as_of_date(con)
    return Context(as_of, expected_value_basis(con, scope=scope, as_of=as_of), workload or load_workload(con))


def check_view(scope: Scope, filters: Filters) -> None:
    """Forbidden unless the caller may look at the territory the filters name."""
    require_view(scope, filters.rep_id)


@contextmanager
def account_facts(con: duckdb.DuckDBPyConnection, *, scope: Scope, filters: Filters, ctx: Context) -> Iterator[str]:
    """The per-account facts table of the accounts in scope that pass the filters; yields its name."""
    w = ctx.workload
    with store_facts.account_facts(
        con,
        as_of=ctx.as_of,
        scope=scope,
        predicate=filters.predicate(),
        fixed_hours=(float(w.fixed_hours(True)), float(w.fixed_hours(False))),
        hours_per_km=(float(w.hours_per_km(True)), float(w.hours_per_km(False))),
        reachable_km=w.reachable_km,
        default_capacity=w.default_capacity_hours,
        fallback_propensity=ctx.basis.fallback_propensity,
        model_version=ctx.basis.model_version,
        statuses=STATUS_CODES,
        capacity_order=CAPACITY_ORDER,
    ) as name:
        yield name
