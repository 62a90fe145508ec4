"""Data: import CRM exports (several files at once), check the mapping, read the validation report,
place accounts the geocoder missed, see the import history, and go back to the demo store."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import demo, export, ingest, settings
from planner.errors import PlannerError
from planner.ingest import fields as F
from planner.ingest import limits
from planner.store import world
from ui import data, maps, sidebar

TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]
KIND_LABELS = {"accounts": "Accounts", "deals": "Deals / opportunities", "reps": "Reps / users"}
METHOD_COLORS = {"file": [31, 119, 180], "zip": [44, 160, 44], "zip3": [255, 127, 14], "city": [148, 103, 189]}
METHOD_LABELS = {"file": "coordinates in the file", "zip": "ZIP code", "zip3": "ZIP area (first 3 digits)",
                 "city": "city and state", "none": "not placed"}  # fmt: skip

st.title("Data")
who = sidebar.scope()
try:
    with data.snapshot() as snap:
        fresh = data.cached(world.freshness, snap)
        counts = data.cached(world.counts, snap)
        history = data.cached(ingest.history, snap)
        coverage = data.cached(ingest.geocoding_coverage, snap)
        unplaced = data.cached(ingest.unplaced_accounts, snap)
        points = data.cached(ingest.placement_points, snap)
except PlannerError as exc:
    data.show_error(exc)

st.caption(
    f"The store holds {counts['accounts']:,} accounts, {counts['deals']:,} deals and {counts['reps']} reps"
    + (
        " (demo data)."
        if fresh["is_demo"]
        else f", last changed {str(fresh['data_updated_at']).replace('T', ' ')} UTC."
    )
)
flash = st.session_state.pop("data_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

# ---- Import -----------------------------------------------------------------------------------
st.subheader("Import CRM exports")
st.write(
    "Salesforce (report exports and Data Loader), HubSpot, Dynamics 365, Pipedrive, or any CSV / Excel file. "
    "Drop accounts, deals and a user export together: accounts go in first, deals are linked to them, owners "
    "become reps. Rows are matched by their CRM ID, so importing a newer export updates what is there."
)
if fresh["is_demo"]:
    st.warning(
        "The store holds the **demo world**. Importing your own data **replaces the demo world entirely** "
        "(demo accounts, deals, reps, scores and plans are removed). You can rebuild the demo at the bottom of "
        "this page.",
        icon=":material/swap_horiz:",
    )
can_import = who.role == "admin"
if not can_import:
    st.info("Only admins can import data; ask an admin to upload your CRM exports.", icon=":material/lock:")

uploads = st.file_uploader(
    "CRM export files",
    type=TYPES,
    accept_multiple_files=True,
    key=f"data_upload_{st.session_state.get('data_upload_round', 0)}",
    disabled=not can_import,
    help="Workbooks with several sheets import each sheet. " + limits.limits_text(),
)
st.caption(limits.limits_text())


def _saved(upload: object) -> Path:
    """Write an uploaded file to this session's scratch folder (the importer reads files)."""
    root = Path(st.session_state.setdefault("data_workdir", tempfile.mkdtemp(prefix="planner-upload-")))
    folder = root / str(getattr(upload, "file_id", "x"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(str(getattr(upload, "name", "upload.csv"))).name
    if not path.exists():
        path.write_bytes(upload.getvalue())  # type: ignore[attr-defined]
    return path


plans: list[ingest.Plan] = []
files: list[tuple[Path, str]] = []
problems: list[str] = []
for upload in uploads or []:
    path = _saved(upload)
    cache = st.session_state.setdefault("data_plans", {})
    key = f"{upload.file_id}"
    if key not in cache:
        try:
            cache[key] = ingest.inspect_file(data.db_path(), path, upload.name)
        except PlannerError as exc:
            cache[key] = str(exc)
    if isinstance(cache[key], str):
        problems.append(cache[key])
        continue
    files.append((path, upload.name))
    plans.extend(cache[key])

for problem in problems:
    st.error(problem, icon=":material/error:")

overrides: dict[str, dict[str, object]] = {}
for i, plan in enumerate(plans):
    t = plan.table
    with st.container(border=True):
        st.markdown(f"**{t.name}** · {F.SOURCE_LABELS.get(plan.source, plan.source)}")
        left, right = st.columns([1, 2])
        kinds = list(F.KINDS)
        kind = left.selectbox(
            "This table holds",
            kinds,
            index=kinds.index(plan.kind) if plan.kind in kinds else 0,
            format_func=lambda k: KIND_LABELS[k],
            key=f"data_kind_{i}",
            help="Detected from the column names; change it if the guess is wrong.",
        )
        notes = list(t.notes)
        if plan.remembered:
            notes.insert(0, "using the mapping you confirmed for a file with these columns last time")
        if plan.kind is None:
            notes.insert(0, "the kind could not be detected: pick it on the left")
        right.caption(
            f"{len(t.columns)} columns · first rows previewed: {len(t.sample)}"
            + ("  \n" + "  \n".join(notes) if notes else "")
        )
        mapping = plan.mapping if kind == plan.kind else F.propose_mapping(t.columns, kind)
        examples = [next((r[j] for r in t.sample if j < len(r) and r[j].strip()), "") for j in range(len(t.columns))]
        frame = pd.DataFrame(
            {"Column": t.columns, "Example": examples, "Maps to": [mapping.get(c, F.IGNORE) for c in t.columns]}
        )
        edited = st.data_editor(
            frame,
            key=f"data_map_{i}_{kind}",
            hide_index=True,
            width="stretch",
            disabled=["Column", "Example"],
            column_config={
                "Maps to": st.column_config.SelectboxColumn(
                    "Maps to",
                    options=F.field_choices(kind),
                    required=True,
                    help="The field this column fills. Custom attributes are kept (typed) for the model.",
                )
            },
        )
        overrides[t.name] = {"kind": kind, "mapping": dict(zip(edited["Column"], edited["Maps to"], strict=True))}

if plans and can_import:
    label = f"Import {len(plans)} table{'s' if len(plans) > 1 else ''}"
    if st.button(label, key="data_import", type="primary", disabled=bool(problems)):
        bar = st.progress(0.0, text="Starting")
        try:
            report = ingest.import_files(
                data.db_path(),
                files,
                overrides=overrides,
                imported_by=who.user or "local",
                progress=lambda f, m: bar.progress(min(1.0, f), text=m),
                scope=who,
            )
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state["data_last_report"] = report
        st.session_state.pop("data_plans", None)
        # A fresh uploader: the imported files are done, and importing them twice by mistake is avoided.
        st.session_state["data_upload_round"] = st.session_state.get("data_upload_round", 0) + 1
        shutil.rmtree(st.session_state.pop("data_workdir", ""), ignore_errors=True)
        st.session_state["data_flash"] = (
            f"Imported {sum(f.inserted for f in report.files):,} new and {sum(f.updated for f in report.files):,} "
            f"matched rows from {len(report.files)} table(s) in {report.seconds:.1f} s."
        )
        st.rerun()
    if problems:
        st.caption("Remove the files with errors above to import the others.")

# ---- Validation report of the last import ----------------------------------------------------
report = st.session_state.get("data_last_report")
if report is not None:
    st.subheader("Validation report")
    if report.cleared_demo:
        st.info("The demo world was removed: the store now holds your data only.", icon=":material/info:")
    for i, f in enumerate(report.files):
        with st.container(border=True):
            st.markdown(f"**{f.file}** · {KIND_LABELS[f.kind]} · {F.SOURCE_LABELS.get(f.source, f.source)}")
            c = st.columns(4)
            c[0].metric("Rows read", f"{f.rows_read:,}", help="Every row ends inserted, updated or rejected.")
            c[1].metric("Inserted", f"{f.inserted:,}", help="New CRM IDs.")
            c[2].metric(
                "Updated", f"{f.updated:,}", help="CRM IDs already in the store; identical rows stay as they were."
            )
            c[3].metric("Rejected", f"{f.rejected:,}", help="Kept with their row number and reason; download below.")
            for note in f.notes:
                st.caption(note)
            for warning in f.warnings:
                st.warning(warning, icon=":material/warning:")
            if f.reasons:
                st.dataframe(
                    pd.DataFrame(f.reasons).rename(
                        columns={"reason": "Reason", "rows": "Rows", "first_row": "First row"}
                    ),
                    hide_index=True,
                    width="stretch",
                    key=f"data_reasons_{i}",
                )
            g = f.geocoding
            if g.get("valid_zip"):
                share = g["valid_zip_placed"] / g["valid_zip"]
                st.caption(
                    f"Geocoding: {g['valid_zip_placed']:,} of {g['valid_zip']:,} rows with a valid US ZIP placed "
                    f"({share:.1%}); by method: "
                    + ", ".join(f"{METHOD_LABELS.get(k, k)} {v:,}" for k, v in sorted(g["by_method"].items()))
                )
            if f.attributes:
                st.caption(
                    "Kept as custom attributes: " + ", ".join(f"{a['column']} ({a['dtype']})" for a in f.attributes)
                )

# ---- Geocoding: accounts not placed on the map -------------------------------------------------
st.subheader("Accounts on the map")
if len(coverage):
    cov = coverage.assign(method=coverage["method"].map(lambda m: METHOD_LABELS.get(m, m)))
    total = int(coverage["accounts"].sum())
    placed = total - int(coverage.loc[coverage["method"] == "none", "accounts"].sum())
    st.caption(f"{placed:,} of {total:,} accounts are placed ({placed / total:.1%}).")
    left, right = st.columns([1, 2])
    left.dataframe(
        cov.rename(columns={"method": "Placed by", "accounts": "Accounts"}),
        hide_index=True,
        key="data_coverage",
    )
    if len(points):
        dots = [
            {"lon": round(float(lo), 4), "lat": round(float(la), 4), "c": METHOD_COLORS.get(m, [90, 90, 90]),
             "t": str(n), "l1": f"{c or ''}, {s or ''} {z or ''}", "l2": f"placed by {METHOD_LABELS.get(m, m)}",
             "l3": ""}
            for n, c, s, z, la, lo, m in zip(points["name"], points["city"], points["state"], points["postal_code"],
                                               points["lat"], points["lon"], points["geo_method"], strict=True)
        ]  # fmt: skip
        layer = maps.pdk.Layer(
            "ScatterplotLayer", data=dots, id="placed", get_position=["lon", "lat"], get_fill_color="c",
            radius_min_pixels=2, radius_max_pixels=6, get_radius=3000, pickable=True,
        )  # fmt: skip
        with right:
            st.pydeck_chart(
                maps.deck([maps.states_layer(), layer], maps.view_state(points["lat"], points["lon"]), height=360),
                key="data_map",
            )
            st.caption(
                " · ".join(
                    f":{color}[●] {METHOD_LABELS[m]}"
                    for m, color in (("file", "blue"), ("zip", "green"), ("zip3", "orange"), ("city", "violet"))
                )
                + f" — {len(points):,} accounts shown"
            )
if len(unplaced):
    st.write(
        f"**{len(unplaced):,} account(s) could not be placed.** Correct their ZIP code, or city and state, "
        "and place them again."
    )
    fixed = st.data_editor(
        unplaced,
        key="data_unplaced",
        hide_index=True,
        width="stretch",
        disabled=["account_id", "name", "source"],
        column_config={
            "account_id": "Account ID",
            "name": "Name",
            "city": "City",
            "state": "State",
            "postal_code": "ZIP",
            "source": "Source",
        },
    )
    if can_import and st.button("Place these accounts", key="data_place"):
        try:
            n = ingest.place_accounts(data.db_path(), fixed, scope=who)
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state["data_flash"] = f"Placed {n:,} of {len(fixed):,} accounts."
        st.rerun()
else:
    st.caption("Every account is placed.")

# ---- History ------------------------------------------------------------------------------------
st.subheader("Import history")
if len(history):
    st.dataframe(
        history,
        hide_index=True,
        width="stretch",
        key="data_history",
        column_config={
            "import_id": st.column_config.NumberColumn("Import", format="%d"),
            "finished_at": st.column_config.DatetimeColumn("Finished (UTC)"),
            "file_name": "File",
            "source": "Source",
            "kind": "Kind",
            "rows_read": st.column_config.NumberColumn("Rows read", format="%d"),
            "inserted": st.column_config.NumberColumn("Inserted", format="%d"),
            "updated": st.column_config.NumberColumn("Updated", format="%d"),
            "rejected": st.column_config.NumberColumn("Rejected", format="%d"),
            "geocoded": st.column_config.NumberColumn("Geocoded", format="%d"),
            "imported_by": "By",
            "sha256": "SHA-256",
        },
    )
    with_rejects = history[history["rejected"].fillna(0) > 0]
    if len(with_rejects):
        options = list(with_rejects["import_id"])
        labels = dict(zip(with_rejects["import_id"], with_rejects["file_name"], strict=True))
        chosen = st.selectbox(
            "Rejected rows of",
            options,
            format_func=lambda i: f"#{i} {labels[i]}",
            key="data_rejects_import",
        )
        with data.snapshot() as snap:
            rejected = data.cached(ingest.rejected_rows, snap, int(chosen))
        st.dataframe(rejected.head(200), hide_index=True, width="stretch", key="data_rejects_table")
        st.download_button(
            f"Download {len(rejected):,} rejected rows (CSV)",
            export.to_csv_bytes(rejected),
            file_name=f"rejected_rows_{chosen}.csv",
            mime="text/csv",
            key="data_rejects_download",
        )
else:
    st.caption("No imports yet.")

# ---- Back to the demo ---------------------------------------------------------------------------
with st.expander("Back to the demo store", icon=":material/restart_alt:"):
    st.write("Replace everything in the store with a freshly built demo world.")
    if st.button("Rebuild the demo store", key="data_rebuild_demo", type="secondary", disabled=not can_import):
        bar = st.progress(0.0, text="Starting")
        try:
            demo.build_store(
                data.db_path(),
                int(settings.get("demo_accounts")),
                int(settings.get("demo_reps")),
                int(settings.get("demo_seed")),
                force=True,
                progress=lambda f, m: bar.progress(min(1.0, f), text=m),
                scope=who,
            )
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state.pop("data_last_report", None)
        st.session_state["data_flash"] = "The demo store is back."
        st.rerun()
