"""Fixes found with real public CRM exports and a rep's edited link: the link to this view carries only what the
page applied; HubSpot deals link to companies by domain; the as-of date of a book whose open deals are long
overdue; English names of states and provinces for holidays."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.helpers import AVA, app_as


def _link(at: AppTest) -> str:
    return str(at.sidebar.code[0].value)


def _notes(at: AppTest) -> str:
    return " ".join(str(i.value) for i in at.sidebar.info)


# ---- 1. the link to this view -------------------------------------------------------------------------------


def test_a_reps_link_drops_what_the_page_did_not_apply_and_says_so(app_store: Path) -> None:
    """A rep's /targets link naming another territory, an account and a parameter no page reads: none of it is
    in the link to this view (only `rep` was dropped before), and a note names each; the page's own filter stays."""
    query = {"rep": "R003", "territory": "R004", "account": "A0042", "size": "50-199"}
    at = app_as(AVA, page="targets", query=query)
    assert not at.exception
    assert "asked for territory R003" in at.sidebar.warning[0].value
    link = _link(at)
    assert "size=50-199" in link
    for junk in ("rep=", "territory=", "account="):
        assert junk not in link, link
    assert set(at.query_params) == {"size"}
    notes = _notes(at)
    assert "territory=R004" in notes and "account=A0042" in notes


def test_a_leaders_link_keeps_what_the_page_applied(app_store: Path) -> None:
    """Nothing the page used is dropped: the territory and the filters of an admin's link stay, junk goes."""
    at = app_as(None, secrets=None, page="targets", query={"rep": "R003", "size": "50-199", "junk": "mail"})
    assert not at.exception
    link = _link(at)
    assert "rep=R003" in link and "size=50-199" in link and "junk" not in link
    assert "junk=mail (not used on this page)" in _notes(at).replace("\\", "")
