"""A rep's territory plan: targets with rationale, offers, asks of other teams, a dated sequence,
weekly load against capacity, KPI alignment with quota, plan vs actual, and its exports.

The plan starts from the rep's ranked accounts (the active propensity model's scores, or a
transparent heuristic when no model has scored them yet), keeps the rep's edits (add, remove,
reorder, offer, start week, rationale) as `TargetSpec`s, and derives everything else from the
specs and editable rules, so an edit or a rule change shows its effect at once.

Modules: `spec` (what a plan is), `rules`, `offers` (catalogue and partners), `book` (ranking),
`sequence` (cadence, staggering, asks, load), `kpis` (KPIs, gap, plan vs actual), `edits`,
`build` (compose), `saved` (load and save), `reps` (the one rep lookup), `exports` (files).
"""

from planner.plan.asks import suggest_needs
from planner.plan.book import ranked_book
from planner.plan.build import compose, data_is_stale, rep_calendar, start_problem, start_window
from planner.plan.calendar import WorkCalendar, next_working_day_after, work_calendar
from planner.plan.edits import add_target, draft_specs, editor_table, move_target, remove_target, specs_from_table
from planner.plan.kpis import (
    actual_summary,
    close_gap,
    kpi_alignment,
    needs_per_team,
    offer_usage,
    plan_vs_actual,
    summary_lines,
)
from planner.plan.offers import (
    OFFER_KINDS,
    catalogue,
    clean_offers,
    clean_partners,
    default_offers,
    default_partners,
    partner_table,
    partners_for_editing,
    quarter_end,
    save_catalogue,
    seed_catalogue,
    suggest_offer,
    valid_offers,
)
from planner.plan.reps import rep_for, resolve_rep
from planner.plan.rules import DEFAULT_RULES, MAX_WEEKS, TEAMS, parse_start, rules_json, rules_with_defaults
from planner.plan.saved import current_plan_id, default_start, load, save, saved_plans, stored_specs
from planner.plan.sequence import MIXES, cadence, schedule, weekly_capacity, weekly_load
from planner.plan.spec import Plan, TargetSpec

__all__ = [
    "DEFAULT_RULES", "MAX_WEEKS", "MIXES", "OFFER_KINDS", "Plan", "TEAMS", "TargetSpec", "WorkCalendar",
    "actual_summary", "add_target", "cadence", "catalogue", "clean_offers", "clean_partners", "close_gap",
    "compose", "current_plan_id", "data_is_stale", "default_offers", "default_partners", "default_start", "draft_specs",
    "editor_table", "kpi_alignment", "load", "move_target", "needs_per_team", "next_working_day_after",
    "offer_usage", "parse_start", "partner_table", "partners_for_editing", "plan_vs_actual", "quarter_end",
    "ranked_book", "remove_target", "rep_calendar", "rep_for", "resolve_rep", "rules_json", "rules_with_defaults",
    "save", "save_catalogue", "saved_plans", "schedule", "seed_catalogue", "specs_from_table", "start_problem",
    "start_window", "stored_specs",
    "suggest_needs", "suggest_offer", "summary_lines", "valid_offers", "weekly_capacity", "weekly_load",
    "work_calendar"
]  # fmt: skip
