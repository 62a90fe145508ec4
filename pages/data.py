"""Data: import CRM exports (several files at once, any shape), check and fix the mapping, read the
validation report, place accounts the geocoder missed, reps' homes, the store's as-of date, the import
history, and going back to the demo store.

Everything shown goes through readers that take the signed-in scope: a rep sees only their own
accounts, deals and home; import history and rejected rows (anyone's raw rows) are for leaders and admins.
"""

from __future__ import annotations

import math
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui import shell, tables

shell.ensure_routed()

from planner import export, ingest, world
from planner.errors import PlannerError
from planner.ingest import fields as F
from planner.ingest import limits
from planner.scope import Scope
from planner.text import crm_record_id, currency_in_use
from ui import auth, data, job_views, jobs, maps, sidebar, state, upload

KIND_LABELS = {"accounts": "Accounts", "deals": "Deals / opportunities", "reps": "Reps / users / teams",
               F.SKIP: "Nothing to import: skip it"}  # fmt: skip
METHOD_COLORS = {"file": [31, 119, 180], "zip": [44, 160, 44], "zip3": [255, 127, 14], "city": [148, 103, 189],
                 "country": [214, 39, 40]}  # fmt: skip
METHOD_LABELS = {"file": "coordinates in the file", "zip": "ZIP code", "zip3": "ZIP area (first 3 digits)",
                 "city": "city", "country": "country only (its centre)", "none": "not placed"}  # fmt: skip
UNIT_LABELS = {"auto": "as written", "units": "units (dollars)", "thousands": "thousands", "millions": "millions"}


# The store's data version (when it last changed). Widgets showing its rows carry it in their key, so a new import
# gives new widgets: a kept one showed the demo's rep names for the new reps' ids and the demo's as-of date, and
# a kept edit of the unplaced accounts' table would have applied to whatever account took its row.
VERSION = ""


def _key(name: str) -> str:
    return f"{name}@{VERSION}"


# The downloads' headers, as the page's tables label them; other columns (a rejected row's own) keep theirs.
DOWNLOAD_LABELS = {
    "account_id": "Account ID", "name": "Name", "city": "City", "state": "State", "postal_code": "Postal code",
    "country": "Country", "placed": "Placed", "source": "Source", "deal_id": "Deal ID", "stage": "Stage",
    "amount": "Amount", "created_date": "Created", "close_date": "Close date", "is_closed": "Closed", "is_won": "Won",
    "owner": "Owner", "rep_id": "Rep ID", "manager": "Manager", "region": "Region", "home_city": "Home city",
    "home": "Home", "accounts": "Accounts", "home_lat": "Home lat", "home_lon": "Home lon", "import_id": "Import",
    "finished_at": "Finished (UTC)", "file_name": "File", "kind": "Kind", "rows_read": "Rows read",
    "inserted": "Inserted", "updated": "Updated", "rejected": "Rejected", "geocoded": "Geocoded",
    "imported_by": "By", "sha256": "SHA-256", "row": "Row", "reason": "Reason",
}  # fmt: skip
GENERATED_DEAL_KEY = "deal:"  # a deal imported without an ID is keyed by its name and date: no CRM knows that key


def _download(df: pd.DataFrame, name: str, key: str) -> None:
    """A table's CSV under the page's headers, built when clicked; the click does not rerun the page (11 s here)."""
    if "deal_id" in df:  # the importer's made-up key for a deal without an ID is no one's deal ID
        df = df.assign(deal_id=df["deal_id"].astype(str).where(~df["deal_id"].astype(str).str.startswith(
            GENERATED_DEAL_KEY), ""))  # fmt: skip
    if "account_id" in df:
        df = df.assign(account_id=df["account_id"].map(crm_record_id))
    labels = {c: DOWNLOAD_LABELS.get(str(c), str(c)) for c in df.columns}
    table = export.readable(df, labels, currency=currency_in_use(), money=("amount",),
                            digits={"home_lat": 5, "home_lon": 5})  # fmt: skip
    tables.download_button(st, f"Download {export.rows_label(len(df))} (CSV)", lambda: export.to_csv_bytes(table),
                       file_name=f"{name}.csv", mime="text/csv", key=key, on_click="ignore")  # fmt: skip


def _saved(upload: Any) -> Path:
    """Write an uploaded file to this session's scratch folder (the importer reads files)."""
    root = Path(st.session_state.setdefault("data_workdir", tempfile.mkdtemp(prefix="planner-upload-")))
    folder = root / str(getattr(upload, "file_id", "x"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(str(getattr(upload, "name", "upload.csv"))).name
    if not path.exists():
        path.write_bytes(upload.getvalue())
    return path


def _plans_of(uploads: list[upload.Upload]) -> tuple[list[ingest.Plan], list[tuple[Path, str]], list[str]]:
    """Each file's tables under the file's name in this batch (unique: two Account.csv keep their own mapping);
    a file identical to an earlier one is left out (the page says so)."""
    plans: list[ingest.Plan] = []
    files: list[tuple[Path, str]] = []
    problems: list[str] = []
    cache = st.session_state.setdefault("data_plans", {})
    for u in uploads:
        if u.same_as is not None:
            continue
        path = _saved(u.file)
        key = f"{u.file.file_id}:{u.name}"
        if key not in cache:
            try:
                cache[key] = ingest.inspect_file(data.db_path(), path, u.name)
            except PlannerError as exc:
                cache[key] = upload.page_wording(str(exc))
        if isinstance(cache[key], str):
            problems.append(cache[key])
            continue
        files.append((path, u.name))
        plans.extend(cache[key])
    return plans, files, problems


def _mapping_editor(plan: ingest.Plan, who: Scope) -> dict[str, Any]:
    """The proposed mapping with sample values, editable; a remembered mapping can be forgotten. Its widgets are
    keyed by the table's name (unique in a batch): keyed by position, removing a file from the batch gave the next
    file's table the choices made for the one removed."""
    t = plan.table
    with st.container(border=True):
        st.markdown(f"**{auth.md_text(t.name)}** · {F.SOURCE_LABELS.get(plan.source, plan.source)}")
        left, right = st.columns([1, 2])
        kinds = [*F.KINDS, F.SKIP]
        # A sheet of product prices, a pivot table or a header without rows is skipped unless the user picks a kind.
        skip = ingest.skip_reason(plan) if t.sheet is not None or plan.kind is None or not t.sample else None
        kind = left.selectbox(
            "This table holds", kinds, index=kinds.index(F.SKIP if skip else plan.kind or F.SKIP),
            format_func=lambda k: KIND_LABELS[k], key=f"data_kind_{t.name}",
            help="Detected from the column names; change it if the guess is wrong.",
        )  # fmt: skip
        notes = list(t.notes)
        if plan.remembered:
            notes.insert(0, "using the mapping you confirmed for a file with these columns last time")
        if skip:
            notes.insert(0, f"skipped unless you pick what it holds on the left: {skip}")
        right.caption(f"{len(t.columns)} columns · first rows previewed: {len(t.sample)}"
                      + ("  \n" + "  \n".join(auth.md_text(n, 300) for n in notes) if notes else ""))  # fmt: skip
        if plan.remembered and right.button("Forget the remembered mapping", key=f"data_forget_{t.name}"):
            try:
                ingest.forget_mapping(data.db_path(), plan.signature, scope=who)
            except PlannerError as exc:
                data.show_error(exc)
            st.session_state.pop("data_plans", None)
            st.rerun()
        if kind == F.SKIP:
            return {"kind": F.SKIP}
        mapping = plan.mapping if kind == plan.kind else F.propose_mapping(t.columns, kind)
        samples = [", ".join(v for v in dict.fromkeys(r[j].strip() for r in t.sample if j < len(r) and r[j].strip())
                             if v)[:80] for j in range(len(t.columns))]  # fmt: skip
        frame = pd.DataFrame({"Column": t.columns, "Sample values": samples,
                              "Maps to": [mapping.get(c, F.IGNORE) for c in t.columns]})  # fmt: skip
        edited = st.data_editor(
            frame, key=f"data_map_{t.name}_{kind}", hide_index=True, width="stretch",
            disabled=["Column", "Sample values"],
            column_config={"Maps to": st.column_config.SelectboxColumn(
                "Maps to", options=F.field_choices(kind), required=True,
                help="The field this column fills. Custom attributes are kept (typed) for the model.")},
            placeholder="–",
        )  # fmt: skip
        choice: dict[str, Any] = {"kind": kind, "mapping": dict(zip(edited["Column"], edited["Maps to"], strict=True))}
        if why := upload.missing_before_import(plan, choice):
            st.warning(auth.md_text(why, 500), icon=":material/warning:")
            choice["missing"] = why
    return choice


def _import_section(who: Scope, fresh: dict[str, Any]) -> None:
    st.subheader("Import CRM exports")
    st.write(
        "Salesforce (reports, Data Loader, API exports, warehouse syncs), HubSpot, Dynamics 365, Pipedrive, or any "
        "CSV / Excel file, with or without record IDs. Drop accounts, deals and a user or team export together: "
        "reps and teams go in first, then accounts, then deals, which link to accounts by ID or name. Owners "
        "come from the accounts file, else from their deals."
    )
    can_import = who.is_admin
    if fresh["is_demo"] and can_import:
        st.warning(
            "The store holds the **demo world**. An import that lands rows **replaces the demo world entirely** "
            "(demo accounts, deals, reps, scores and plans are removed); an import in which no row can be "
            "imported leaves it as it is. You can rebuild the demo at the bottom of this page.",
            icon=":material/swap_horiz:",
        )
    if not can_import:
        st.info("Only admins can import data; ask an admin to upload your CRM exports.", icon=":material/lock:")
        return
    _import_outcome(job_views.follow(job_views.IMPORT, who), who)  # this user's import, started here or before
    mb = upload.apply_upload_limit()
    uploads = st.file_uploader(
        "CRM export files", type=upload.TYPES, accept_multiple_files=True, max_upload_size=mb,
        key=f"data_upload_{st.session_state.get('data_upload_round', 0)}",
        help="Workbooks with several sheets import each sheet; a .zip imports the CSV and Excel files it holds. "
        + limits.limits_text(),
    )  # fmt: skip
    st.caption(f"{limits.limits_text()} {upload.refused_text(mb)}")
    named = upload.name_uploads(list(uploads or []), st.session_state.setdefault("data_sha256", {}))
    plans, files, problems = _plans_of(named)
    for problem in problems:
        st.error(auth.md_text(problem, 500), icon=":material/error:")
    for u in named:
        note = upload.duplicate_note(u) if u.same_as else upload.renamed_note(u)
        if note:
            st.info(auth.md_text(note, 400), icon=":material/content_copy:")
    choices = [(p.table.name, _mapping_editor(p, who)) for p in plans]
    overrides = dict(choices)  # table names are unique in a batch (upload.name_uploads)
    if not plans:
        return
    cols = st.columns(2)
    unit = cols[0].selectbox(
        "Account revenue is written in", list(UNIT_LABELS), format_func=lambda u: UNIT_LABELS[u],
        key="data_revenue_unit", help="Exports such as 'revenue (in millions)' write 581 for $581M: pick the unit.",
    )  # fmt: skip
    n = sum(o["kind"] != F.SKIP for _, o in choices)
    missing = [name for name, o in choices if o.get("missing")]
    from_file, remove, unsure = _sync_choices(cols[0], sum(o["kind"] == "accounts" for _, o in choices))
    label = f"Import {n} table{'s' if n != 1 else ''}" + (" and remove missing accounts" if remove else "")
    if cols[1].button(label, key="data_import", type="primary", disabled=bool(problems or missing or unsure) or not n):
        job_views.start_import(
            files, st.session_state.pop("data_workdir", None), who, overrides=overrides,
            imported_by=who.user or "local", owners_from_file=from_file,
            revenue_unit=None if unit == "auto" else unit, remove_missing=remove,
        )  # fmt: skip
        st.session_state.pop("data_plans", None)
        st.session_state.pop("data_sha256", None)
        for choice in ("data_remove_missing", "data_remove_missing_confirm"):  # asked again for every import
            st.session_state.pop(choice, None)
        # A fresh uploader: the files are being imported, and importing them twice by mistake is avoided.
        st.session_state["data_upload_round"] = st.session_state.get("data_upload_round", 0) + 1
        st.rerun()
    if problems:
        st.caption("Remove the files with errors above to import the others.")
    if missing:
        st.caption(f"Map the missing fields of {auth.md_text(', '.join(missing), 300)}, or pick 'Nothing to import: "
                   "skip it' for them, to import.")  # fmt: skip


def _import_outcome(job: jobs.Job | None, who: Scope) -> None:
    """The outcome of this user's import, which ran in the background (ui/jobs.py), shown once: the report (as
    when they stayed on the page), its one-line error (with Retry when the files were not at fault), or that it
    was cancelled."""
    if job is None:
        return
    if job.state == jobs.DONE:
        report = job.result
        st.session_state["data_last_report"] = report
        st.session_state["data_flash"] = (
            f"Imported {sum(f.inserted for f in report.files):,} new and {sum(f.updated for f in report.files):,} "
            f"matched rows from {len(report.files)} table(s) in {report.seconds:.1f} s."
            if report.landed else "No row could be imported: the store is unchanged. See the report below."
        )  # fmt: skip
        st.rerun()  # the page's figures read the new store
    if job.state == jobs.FAILED:  # in the page's words, as when the import ran inside the page
        landed = "" if job.cancellable else " (the rows were saved; scoring them failed)"
        st.error(upload.page_wording(job.error) + landed, icon=":material/error:")
        if job.retryable:  # not the files' fault: the same files again, without uploading them again
            job_views.offer_retry(job, who)
    else:
        st.info(f"{auth.md_text(job.label, 300)} was cancelled: nothing was imported, the store is unchanged.",
                icon=":material/cancel:")  # fmt: skip


def _sync_choices(col: Any, accounts_tables: int) -> tuple[bool, bool, bool]:
    """How a re-import meets the book: take every owner from the file (else an account a committed rebalance
    moved keeps the plan's owner while the CRM has not caught up), and, for one accounts file, remove the stored
    accounts a full export leaves out (deleted or merged in the CRM), confirmed before the import can start:
    (owners from the file, remove, not yet confirmed)."""
    from_file = col.checkbox(
        "Take every owner from the file", key="data_owners_from_file",
        help="By default an account a committed rebalance moved keeps the plan's owner while the file still names "
        "its owner before the commit (the CRM not updated yet); tick this to take the file's owner everywhere.",
    )  # fmt: skip
    return (from_file, *_remove_missing_choice(accounts_tables))


def _remove_missing_choice(accounts_tables: int) -> tuple[bool, bool]:
    """The choice to remove the stored accounts a full accounts export leaves out, and whether it is not yet
    confirmed: (remove, not yet confirmed)."""
    if accounts_tables != 1:
        return False, False
    remove = st.checkbox(
        "Remove stored accounts (and deals) missing from this upload", key="data_remove_missing",
        help="For a full export of the CRM's accounts: stored accounts of the same CRM that it names neither by ID "
        "nor by name were deleted or merged there. A full deals export in the same upload removes the stored deals "
        "it leaves out too. The import refuses a file that matches fewer than half of them.",
    )  # fmt: skip
    if not remove:
        return False, False
    sure = st.checkbox(
        "I understand that stored accounts this upload does not name are removed with their deals, and so are "
        "stored deals a deals file in it leaves out (from pipeline, targets and plans; recorded in the audit log)",
        key="data_remove_missing_confirm",
    )  # fmt: skip
    return True, not sure


def _report_section() -> None:
    report = st.session_state.get("data_last_report")
    if report is None:
        return
    st.subheader("Validation report")
    if report.cleared_demo:
        st.info("The demo world was removed: the store now holds your data only.", icon=":material/info:")
    for note in report.notes:
        (st.warning if not report.landed else st.info)(auth.md_text(note, 400), icon=":material/info:")
    for i, f in enumerate(report.files):
        with st.container(border=True):
            st.markdown(
                f"**{auth.md_text(f.file)}** · {KIND_LABELS[f.kind]} · {F.SOURCE_LABELS.get(f.source, f.source)}"
            )
            c = st.columns(4)
            c[0].metric("Rows read", f"{f.rows_read:,}", help="Every row ends inserted, updated or rejected.")
            c[1].metric("Inserted", f"{f.inserted:,}", help="New accounts, deals or reps.")
            same = f"of which {f.unchanged:,} unchanged" if f.updated and f.unchanged is not None else None
            c[2].metric("Updated", f"{f.updated:,}", help="Already in the store (or merged duplicates).", delta=same,
                        delta_color="off", delta_arrow="off")  # fmt: skip
            c[3].metric("Rejected", f"{f.rejected:,}", help="Kept with their row number and reason; download below.")
            for note in f.notes:
                st.caption(auth.md_text(note, 400))
            for warning in f.warnings:
                st.warning(auth.md_text(warning, 400), icon=":material/warning:")
            if f.owner_conflicts:
                st.dataframe(pd.DataFrame(f.owner_conflicts), hide_index=True, width="stretch",
                             key=f"data_conflicts_{i}", placeholder="–",
                             column_config={"account_id": "Account ID", "account": "Account", "scenario_id": "Scenario",
                                            "before_plan": "Owner before the plan", "plan_owner": "Plan's owner",
                                            "file_owner": "File's owner (taken)"})  # fmt: skip
            if f.reasons:
                reasons = pd.DataFrame(f.reasons).rename(columns={"reason": "Reason", "rows": "Rows",
                                                                  "first_row": "First row"})  # fmt: skip
                st.dataframe(reasons, hide_index=True, width="stretch", key=f"data_reasons_{i}", placeholder="–")
            if f.attributes:
                kept = ", ".join(f"{auth.md_text(a['column'])} ({a['dtype']})" for a in f.attributes)
                st.caption(f"Kept as custom attributes: {kept}")


def _map_section(coverage: pd.DataFrame, points: pd.DataFrame) -> None:
    st.subheader("Accounts on the map")
    if not len(coverage):
        st.caption("No accounts yet.")
        return
    cov = coverage.assign(method=coverage["method"].map(lambda m: METHOD_LABELS.get(m, m)))
    total = int(coverage["accounts"].sum())
    placed = total - int(coverage.loc[coverage["method"] == "none", "accounts"].sum())
    st.caption(f"{placed:,} of {total:,} accounts are placed ({placed / total:.1%}). Accounts placed only by their "
               "country count toward coverage and balance but not toward travel.")  # fmt: skip
    left, right = st.columns([1, 2])
    left.dataframe(cov.rename(columns={"method": "Placed by", "accounts": "Accounts"}), hide_index=True,
                   key="data_coverage", placeholder="–")  # fmt: skip
    with left:
        _download(cov.rename(columns={"method": "Placed by"}), "accounts_placed", "data_coverage_download")
    if not len(points):
        return
    # One dot per ~25 km square and placement method, sized by its accounts: every account counts, and a store of a
    # million sends a few thousand dots (one dot per account sent 3 MB for 20,000 of them, most of a 14 s page).
    single = points["accounts"] == 1
    dots = [
        {"lon": round(float(lo), 4), "lat": round(float(la), 4), "c": METHOD_COLORS.get(m, [90, 90, 90]),
         "r": round(3000 * math.sqrt(n)), "t": str(name) if one else f"{n:,} accounts",
         "l1": ("" if one else "around ") + ", ".join(str(v) for v in (c, s, z, k) if isinstance(v, str) and v),
         "l2": f"placed by {METHOD_LABELS.get(m, m)}", "l3": ""}
        for name, c, s, z, k, la, lo, m, n, one in zip(
            points["name"], points["city"], points["state"], points["postal_code"], points["country"],
            points["lat"], points["lon"], points["geo_method"], points["accounts"].astype(int), single, strict=True)
    ]  # fmt: skip
    layer = maps.pdk.Layer("ScatterplotLayer", data=dots, id="placed", get_position=["lon", "lat"], get_fill_color="c",
                           radius_min_pixels=2, radius_max_pixels=10, get_radius="r", pickable=True)  # fmt: skip
    layers = [*maps.borders_layers(), layer]
    drawn = int(points["accounts"].sum())
    with right:
        view = maps.view_state(points["lat"], points["lon"], width_px=480, height_px=360)  # the narrower column
        st.pydeck_chart(maps.deck(layers, view, height=360), key="data_map")
        st.caption(" · ".join(f":{color}[●] {METHOD_LABELS[m]}" for m, color in (
            ("file", "blue"), ("zip", "green"), ("zip3", "orange"), ("city", "violet"), ("country", "red")))
                   + f" — {drawn:,} accounts in {len(points):,} dots (one per ~25 km square and method; "
                   "larger dots hold more accounts)")  # fmt: skip


def _unplaced_section(unplaced: pd.DataFrame, who: Scope) -> None:
    if not len(unplaced):
        st.caption("Every account is placed more precisely than its country.")
        return
    st.write(f"**{len(unplaced):,} account(s) are not placed, or only by their country.** Correct their postal code, "
             "or city and state / country, and place them again.")  # fmt: skip
    can_fix = who.is_admin
    fixed = st.data_editor(
        unplaced, key=_key("data_unplaced"), hide_index=True, width="stretch",
        disabled=["account_id", "name", "placed", "source"] if can_fix else True,
        column_config={"account_id": "Account ID", "name": "Name", "city": "City", "state": "State",
                       "postal_code": "Postal code", "country": "Country", "placed": "Placed", "source": "Source"},
        placeholder="–",
    )  # fmt: skip
    _download(unplaced, "unplaced_accounts", "data_unplaced_download")
    if can_fix and st.button("Place these accounts", key="data_place"):
        try:
            n = ingest.place_accounts(data.db_path(), fixed, scope=who)
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state["data_flash"] = f"Placed {n:,} of {len(fixed):,} accounts."
        st.rerun()


def _unlinked_section(unlinked: pd.DataFrame) -> None:
    if not len(unlinked):
        return
    st.subheader("Deals not linked to an account")
    st.caption(f"{len(unlinked):,} deal(s) name no account (early open deals often do): they count in their "
               "owner's pipeline and win rate.")  # fmt: skip
    st.dataframe(unlinked.head(500), hide_index=True, width="stretch", key="data_unlinked", placeholder="–")
    _download(unlinked, "unlinked_deals", "data_unlinked_download")


def _homes_section(homes: pd.DataFrame, who: Scope) -> None:
    st.subheader("Reps and their homes")
    if not len(homes):
        st.caption("No reps yet: owners in an accounts or deals file, or a user or team export, create them.")
        return
    st.caption("A rep without a home gets one inferred at the place of their accounts with the least travel to "
               "the others (marked 'inferred'); set it where they work. Travel is measured from it.")  # fmt: skip
    st.dataframe(homes, hide_index=True, width="stretch", key="data_homes",
                 column_config={"rep_id": "Rep ID", "name": "Name", "manager": "Manager", "region": "Region",
                                "home_city": "Home city", "home": "Home", "accounts": "Accounts",
                                "home_lat": st.column_config.NumberColumn("Home lat", format="%.3f"),
                                "home_lon": st.column_config.NumberColumn("Home lon", format="%.3f")},
                 placeholder="–")  # fmt: skip
    _download(homes, "rep_homes", "data_homes_download")
    if not who.is_admin:
        return
    names = dict(zip(homes["rep_id"], homes["name"], strict=True))
    cols = st.columns([3, 4, 2])
    rep = cols[0].selectbox("Rep", list(names), format_func=lambda r: f"{names[r]} ({r})", key=_key("data_home_rep"))
    place = cols[1].text_input("Home", key="data_home_place", placeholder="Berlin, Germany · Denver, CO · 80202")
    if cols[2].button("Set home", key="data_home_set", disabled=not place.strip()):
        try:
            done = ingest.set_rep_home(data.db_path(), str(rep), place=place, scope=who)
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state["data_flash"] = f"Home of {names[rep]} set ({done['placed_by']})."
        st.rerun()


def _as_of_section(fresh: dict[str, Any], who: Scope) -> None:
    st.subheader("As-of date")
    st.write(f"Figures, features and plans are computed as of **{fresh.get('as_of_text') or 'n/a'}**. By default "
             "this is today, or the newest activity in the data when that is more than 90 days old.")  # fmt: skip
    if not who.is_admin:
        return
    cols = st.columns([1, 1, 1])
    current = date.fromisoformat(str(fresh["as_of"])) if fresh.get("as_of") else date.today()
    day = cols[0].date_input("Set the as-of date", value=current, key=_key("data_as_of"),
                             min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))  # fmt: skip
    if cols[1].button("Use this date", key="data_as_of_set"):
        _set_as_of(day, who)
    if fresh.get("as_of_rule") == "set" and cols[2].button("Back to automatic", key="data_as_of_auto"):
        _set_as_of(None, who)


def _set_as_of(day: Any, who: Scope) -> None:
    try:
        info = ingest.set_as_of(data.db_path(), day, scope=who)
    except PlannerError as exc:
        data.show_error(exc)
    st.session_state["data_flash"] = f"The data is now as of {info['text']}."
    st.rerun()


def _history_section(who: Scope) -> None:
    st.subheader("Import history")
    if who.is_rep:
        st.caption("Import history and rejected rows cover every territory: leaders and admins see them here.")
        return
    with data.snapshot() as snap:
        history = data.cached(ingest.history, snap, scope=who)
    if not len(history):
        st.caption("No imports yet.")
        return
    st.dataframe(history, hide_index=True, width="stretch", key="data_history", column_config={
        "import_id": st.column_config.NumberColumn("Import", format="%d"),
        "finished_at": st.column_config.DatetimeColumn("Finished (UTC)"), "file_name": "File", "source": "Source",
        "kind": "Kind", "rows_read": st.column_config.NumberColumn("Rows read", format="%d"),
        "inserted": st.column_config.NumberColumn("Inserted", format="%d"),
        "updated": st.column_config.NumberColumn("Updated", format="%d"),
        "rejected": st.column_config.NumberColumn("Rejected", format="%d"),
        "geocoded": st.column_config.NumberColumn("Geocoded", format="%d"), "imported_by": "By", "sha256": "SHA-256",
    }, placeholder="–")  # fmt: skip
    _download(history, "import_history", "data_history_download")
    with_rejects = history[history["rejected"].fillna(0) > 0]
    if not len(with_rejects):
        return
    labels = {int(i): str(n) for i, n in zip(with_rejects["import_id"], with_rejects["file_name"], strict=True)}
    chosen = state.selectbox("Rejected rows of", [int(i) for i in with_rejects["import_id"]], param="rejects",
                             format_func=lambda i: f"#{i} {labels[i]}", key=_key("data_rejects_import"))  # fmt: skip
    with data.snapshot() as snap:
        rejected = data.cached(ingest.rejected_rows, snap, int(chosen), scope=who)
    st.dataframe(rejected.head(200), hide_index=True, width="stretch", key="data_rejects_table", placeholder="–")
    _download(rejected, f"rejected_rows_{chosen}", "data_rejects_download")


st.title("Data")
who = sidebar.scope()
try:
    with data.snapshot() as snap:
        fresh = data.cached(world.freshness, snap)
        counts = data.cached(world.counts, snap, scope=who)
        coverage = data.cached(ingest.geocoding_coverage, snap, scope=who)
        unplaced = data.cached(ingest.unplaced_accounts, snap, scope=who)
        unlinked = data.cached(ingest.unlinked_deals, snap, scope=who)
        points = data.cached(ingest.placement_groups, snap, scope=who)
        homes = data.cached(ingest.rep_homes, snap, scope=who)
except PlannerError as exc:
    data.show_error(exc)

whose = "Your territory holds" if who.is_rep else "The store holds"
reps_part = "" if who.is_rep else f" and {counts['reps']} reps"
VERSION = str(fresh["data_updated_at"])
changed = VERSION.replace("T", " ")
status = " (demo data)." if fresh["is_demo"] else f", last changed {changed} UTC."
st.caption(f"{whose} {counts['accounts']:,} accounts, {counts['deals']:,} deals{reps_part}{status} "
           f"Data as of {fresh['as_of_text']}.")  # fmt: skip
flash = st.session_state.pop("data_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
_import_section(who, fresh)
_report_section()
_map_section(coverage, points)
_unplaced_section(unplaced, who)
_unlinked_section(unlinked)
_homes_section(homes, who)
_as_of_section(fresh, who)
_history_section(who)
upload.reset_section(who)
