"""Admin: who may sign in to the dashboard, and as what (admins only)."""

from __future__ import annotations

import json

import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import roles, world
from planner.errors import PlannerError
from ui import auth, data, sidebar, tables

FROM_EMAIL = "__from_email__"
NEW_ROLE = "rep"  # what the form offers first

st.title("Admin")
who = sidebar.scope()
if not who.is_admin:
    st.warning(
        "Only admins can manage roles. If you need to see more than you do, ask an admin.", icon=":material/lock:"
    )
    sidebar.stop()

flash = st.session_state.pop("adm_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

if auth.mode() == "local":
    st.info(
        "**Local single-user mode**: no sign-in is configured, so these roles are not used yet. "
        "Configure `[auth]` in `.streamlit/secrets.toml` (docs/DEPLOY.md) and people will sign in with the "
        "roles below.",
        icon=":material/info:",
    )
admins = auth.bootstrap_admins()
try:
    with data.snapshot() as snap:
        access = data.cached(roles.list_roles, snap, admins, scope=who)
        reps = data.cached(world.rep_options, snap, scope=who)
        changes = data.cached(roles.role_changes, snap, scope=who)
except PlannerError as exc:
    data.show_error(exc)

st.subheader("Who can sign in")
st.caption(
    "Admins import data, commit scenarios and manage roles; leaders see every territory and make scenarios; "
    "reps see only their own territory. Active reps whose CRM email matches sign in as that rep without a role "
    "here; bootstrap admins come from `[planner] admins` in secrets."
)
access = access.drop(columns=["rep_id"])  # the rep's name says whose territory; ids are the store's, not the team's
st.dataframe(
    access,
    hide_index=True,
    width="stretch",
    key="adm_access",
    column_config={
        "email": "Email",
        "role": "Role",
        "rep_name": "Rep (territory)",
        "source": "Why",
    },
    placeholder="–",
)
tables.csv_download(access.rename(columns={"email": "Email", "role": "Role", "rep_name": "Rep (territory)",
                                           "source": "Why"}), "who_can_sign_in.csv", "adm_access_dl")  # fmt: skip

rep_names = dict(zip(reps["rep_id"], reps["name"], strict=True))
if st.session_state.pop("adm_saved", False):
    # Emptied only after a save that landed: a save that failed (another import writing meanwhile) keeps what was typed.
    st.session_state.update(adm_email="", adm_role=NEW_ROLE, adm_rep=FROM_EMAIL)
st.session_state.setdefault("adm_role", NEW_ROLE)  # through the state alone: a default as well would be warned of
left, right = st.columns(2)
with left, st.form("adm_set_form"):
    st.markdown("**Give someone a role**")
    email = st.text_input("Email", key="adm_email", placeholder="name@example.com")
    role = st.selectbox(
        "Role", [*roles.ROLES, roles.NO_ACCESS], key="adm_role",
        format_func=lambda r: "none: no access, not even by a rep's CRM email" if r == roles.NO_ACCESS else r,
    )  # fmt: skip
    rep = st.selectbox(
        "Territory (rep role only)",
        [FROM_EMAIL, *rep_names],
        key="adm_rep",
        format_func=lambda r: "The rep with this CRM email" if r == FROM_EMAIL else f"{rep_names[r]} ({r})",
    )
    if st.form_submit_button("Save role", type="primary", key="adm_save"):
        try:
            given = roles.set_role(
                data.db_path(), email, role, rep if role == "rep" and rep != FROM_EMAIL else None, scope=who
            )
        except PlannerError as exc:
            st.error(data.error_text(exc), icon=":material/error:")
        else:
            if given is None:
                st.session_state["adm_flash"] = f"{auth.md_text(email.strip().lower())} has no access now."
            else:
                where = f" for territory {given.rep_id}" if given.rep_id else ""
                st.session_state["adm_flash"] = f"{auth.md_text(given.user)} is now {given.role}{where}."
            st.session_state["adm_saved"] = True
            st.rerun()

removable = [str(e) for e in access.loc[access["source"].str.startswith("roles table"), "email"]]
with right:
    st.markdown("**Remove a role**")
    if removable:
        gone = st.selectbox("Email", removable, key="adm_remove")
        if st.button("Remove role", key="adm_remove_btn", icon=":material/person_remove:"):
            try:
                roles.remove_role(data.db_path(), gone, scope=who)
            except PlannerError as exc:
                st.error(data.error_text(exc), icon=":material/error:")
            else:
                st.session_state["adm_flash"] = f"Removed the role of {auth.md_text(gone)}."
                st.rerun()
    else:
        st.caption("The roles table is empty.")

st.subheader("Recent role changes")


def _change_text(action: str, detail: str | None) -> str:
    """'ann@x.com: leader', 'bo@x.com: rep of Bo Lin', 'cy@x.com: role removed' for an audit entry's JSON."""
    d = json.loads(detail or "{}")
    if action == "role.remove":
        return f"{d.get('email', '')}: role removed"
    rep = f" of {rep_names.get(d['rep_id'], d['rep_id'])}" if d.get("rep_id") else ""
    return f"{d.get('email', '')}: {d.get('role', '')}{rep}"


if len(changes):
    changes = changes.assign(detail=[_change_text(a, d) for a, d in zip(changes["action"], changes["detail"],
                                                                         strict=True)])  # fmt: skip
    st.dataframe(
        changes,
        hide_index=True,
        width="stretch",
        key="adm_changes",
        column_config={"logged_at": "When (UTC)", "actor": "By", "action": "Change", "detail": "Detail"},
        placeholder="–",
    )
    tables.csv_download(changes.rename(columns={"logged_at": "When (UTC)", "actor": "By", "action": "Change",
                                                "detail": "Detail"}), "role_changes.csv", "adm_changes_dl")  # fmt: skip
else:
    st.caption("No role changes yet.")
