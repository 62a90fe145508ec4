"""An admin shuts out someone the reps table would let in by CRM email (a rep who left, a forwarded mailbox): the
role "none". Before it, `roles remove` said "has no role to remove" and nothing could take that access away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from planner import roles, store
from planner.scope import OPERATOR
from tests.helpers import AVA, ROOT, app_as, errors


def test_the_role_none_shuts_out_a_rep_who_signs_in_by_crm_email(app_store: Path) -> None:
    with store.read(app_store) as con:
        assert roles.resolve(con, AVA) is not None  # Ava signs in by her CRM email
    done = subprocess.run([sys.executable, "-m", "planner", "--db", str(app_store), "roles", "set", AVA, "none"],
                          cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr.strip() == f"{AVA} has no access now (not even by a rep's CRM email)"
    with store.read(app_store) as con:
        assert roles.resolve(con, AVA) is None
        listed = roles.list_roles(con, scope=OPERATOR).set_index("email").loc[AVA]
    assert listed["role"] == "none" and "no access" in listed["source"]
    at = app_as(AVA)
    assert errors(at) == [] and at.dataframe == [] and at.metric == []  # no data: the no-access page
    # The Admin page lists the row among the removable ones; removing it gives her CRM-email access back.
    admin = app_as("boss@example.com", page="admin")
    assert AVA in admin.selectbox(key="adm_remove").options
    roles.remove_role(app_store, AVA, scope=OPERATOR)
    with store.read(app_store) as con:
        assert roles.resolve(con, AVA) is not None


def test_the_admin_page_gives_no_access(app_store: Path) -> None:
    at = app_as("boss@example.com", page="admin")
    at.text_input(key="adm_email").input(AVA.upper())
    at.selectbox(key="adm_role").set_value("none")
    at.button(key="adm_save").click().run()
    assert errors(at) == []
    assert f"{AVA} has no access now" in at.success[0].value.replace("\\", "")
    with store.read(app_store) as con:
        assert roles.resolve(con, AVA) is None
