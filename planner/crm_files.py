"""Owner-update files a CRM imports, from a rebalancing result: one implementation for the page and the CLI.

Each format carries what its import tool matches an owner by:

- salesforce (Data Loader update of Account): Id, OwnerId (the owner's Salesforce user id), Owner name;
- hubspot (company import): Record ID, Company owner (the HubSpot owner id, else the owner's email,
  which HubSpot matches to a user), Owner name;
- dynamics (Dataverse account import): accountid, name, ownerid (the owner's systemuser id),
  owneridtype (systemuser), Owner (full name, which the import wizard matches), Owner email;
- pipedrive (organization import): Organization - ID, Organization - Name, Organization - Owner (the
  owner's Pipedrive user id, else email), Owner name;
- plain: every account with the previous and new owner by name and email (never internal rep ids) and
  whether it moved (an account without an owner today gets one without moving); its account_id column is left out
  when no account has a CRM record id (a book imported without an ID column), so the file imports again into the
  same store matched by name, as `export accounts` does.

The CRM formats list the accounts that change owner. A rep's user id counts for the CRM the rep was
imported from (a Salesforce id is not used in a Pipedrive file; the email is). When an owner's CRM user
id is unknown the id cell stays blank, a Note column says so on that row, and `notes` says how to supply the ids (a user
or team file with each rep's CRM user id and email).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from planner.errors import BadInput
from planner.export import readable, record_ids
from planner.text import NAME_KEY_PREFIX, crm_record_id, listing

FORMATS = ("salesforce", "hubspot", "dynamics", "pipedrive", "plain")
CRM_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "dynamics": "Dynamics 365", "pipedrive": "Pipedrive"}
# The columns owner_rows() returns; a caller may build them from the store or from an optimizer result.
ROW_COLUMNS = (
    "account_id", "account_name", "source", "previous_owner_name", "previous_owner_email", "owner_name",
    "owner_email", "owner_crm_id", "owner_source", "moved", "changed",
)  # fmt: skip
SUPPLY_IDS = (
    "import your CRM's user list as a team file with each rep's user id and email "
    "(python -m planner import users.csv --kind reps, or the Data page), then export again"
)


@dataclass(frozen=True)
class OwnerFile:
    """A table to write and the notes to show next to it (unknown ids and how to supply them)."""

    table: pd.DataFrame
    notes: tuple[str, ...]


def _text(series: pd.Series) -> pd.Series:
    """Text cells with blanks for missing values (never None or nan in a file)."""
    out = series.astype("string").str.strip()
    return out.fillna("").astype(object)


def owner_rows(assignments: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """The rows owner_update() takes, from an optimizer result's assignments and every known rep.

    `assignments` has account_id, name, previous_owner, owner (rep ids), moved; `reps` has rep_id, name,
    and optionally email and crm_id (today's reps plus a scenario's new hires).
    """
    r = reps.drop_duplicates("rep_id", keep="last").set_index("rep_id")
    name = r["name"] if "name" in r else pd.Series(dtype=object)
    email = r["email"] if "email" in r else pd.Series(dtype=object)
    crm = r["crm_id"] if "crm_id" in r else pd.Series(dtype=object)
    source = r["source"] if "source" in r else pd.Series(dtype=object)
    a = assignments
    prev, new = a["previous_owner"], a["owner"]
    prev_name = prev.map(name)
    new_name = new.map(name)
    return pd.DataFrame(
        {
            "account_id": a["account_id"].to_numpy(),
            "account_name": (a["name"] if "name" in a else pd.Series(None, index=a.index)).to_numpy(),
            "source": (a["source"] if "source" in a else pd.Series(None, index=a.index)).to_numpy(),
            "previous_owner_name": prev_name.where(prev_name.notna(), prev).to_numpy(),
            "previous_owner_email": prev.map(email).to_numpy(),
            "owner_name": new_name.where(new_name.notna(), new).to_numpy(),
            "owner_email": new.map(email).to_numpy(),
            "owner_crm_id": new.map(crm).to_numpy(),
            "owner_source": new.map(source).to_numpy(),
            "moved": a["moved"].fillna(False).astype(bool).to_numpy(),
            "changed": (a["moved"].fillna(False).astype(bool) | (prev.isna() & new.notna())).to_numpy(),
            "expected_value": (a["expected_value"] if "expected_value" in a else pd.Series(None, index=a.index))
            .astype(float)
            .to_numpy(),
        }
    )


def owner_update(rows: pd.DataFrame, fmt: str) -> OwnerFile:
    """The owner-update file in `fmt` (see the module docstring) for owner_rows()-shaped `rows`."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown CRM format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "plain":
        return _plain(rows)
    moved = rows[rows["changed"].fillna(False).astype(bool)].reset_index(drop=True)
    crm = CRM_NAMES[fmt]
    ids = _text(moved["owner_crm_id"])
    # A user id is another CRM's when the rep came from another CRM: a Salesforce id means nothing to Pipedrive.
    ids = ids.where(~_foreign(moved, "owner_source", fmt), "")
    email = _text(moved["owner_email"])
    name = _text(moved["owner_name"])
    acc = _text(moved["account_id"])
    # No record of this CRM has the id of an account imported without an ID column, or from another CRM (a
    # Salesforce 0015E00000A0046AAA in HubSpot's Record ID column would match nothing, or the wrong company).
    other_crm = _foreign(moved, "source", fmt) & ~acc.str.startswith(NAME_KEY_PREFIX)
    keyed = acc.str.startswith(NAME_KEY_PREFIX) | other_crm
    acc = acc.where(~keyed, "")
    if fmt == "salesforce":
        table = pd.DataFrame({"Id": acc, "OwnerId": ids, "Owner name": name})
        known = ids != ""
    elif fmt == "hubspot":
        owner = ids.where(ids != "", email)
        table = pd.DataFrame({"Record ID": acc, "Company owner": owner, "Owner name": name})
        known = owner != ""
    elif fmt == "dynamics":
        table = pd.DataFrame(
            {"accountid": acc, "name": _text(moved["account_name"]), "ownerid": ids,
             "owneridtype": "systemuser", "Owner": name, "Owner email": email}
        )  # fmt: skip
        known = ids != ""
    else:
        owner = ids.where(ids != "", email)
        table = pd.DataFrame(
            {"Organization - ID": acc, "Organization - Name": _text(moved["account_name"]),
             "Organization - Owner": owner, "Owner name": name}
        )  # fmt: skip
        known = owner != ""
    what = "user id or email" if fmt in ("hubspot", "pipedrive") else "user id"
    notes: list[str] = []
    if keyed.any():
        if fmt in ("salesforce", "hubspot"):  # the other two formats carry the account's name already
            table.insert(1, "Account name", _text(moved["account_name"]))
        foreign_ids = int(other_crm.sum())
        came = ("came from a file without a record ID column" if not foreign_ids else
                f"carry another CRM's record ids ({foreign_ids:,}) or none")  # fmt: skip
        notes.append(
            f"{int(keyed.sum()):,} of {len(table):,} accounts {came}; their {crm} record id cell is blank (match "
            f"them by name, or import the accounts from {crm} with their record ID column and export again)"
        )
    if not known.all() or keyed.any():
        table["Note"] = [
            "; ".join(
                (
                    []
                    if k
                    else [f"{crm} {what} of {n or 'the new owner'} unknown: import a user list, then export again"]
                )
                + ([f"no {crm} record id: match by name"] if no_id else [])
            )
            for k, n, no_id in zip(known, name, keyed, strict=True)
        ]
    if not known.all():
        unknown = sorted(set(name[~known]))
        notes.append(
            f"{int((~known).sum()):,} of {len(table):,} accounts go to owners whose {crm} {what} is unknown "
            f"({listing(unknown, 5)}); their owner cell is blank: {SUPPLY_IDS}"
        )
    return OwnerFile(table.reset_index(drop=True), tuple(notes))


def _foreign(rows: pd.DataFrame, column: str, fmt: str) -> pd.Series:
    """Rows whose `column` (a source such as 'salesforce_dataloader') names a CRM other than `fmt`'s."""
    src = _text(rows[column]).str.lower() if column in rows else pd.Series("", index=rows.index)
    foreign = pd.Series(False, index=rows.index)
    for other in CRM_NAMES:
        if other != fmt:
            foreign |= src.str.contains(other, regex=False) & ~src.str.contains(fmt, regex=False)
    return foreign


def _plain(rows: pd.DataFrame) -> OwnerFile:
    table = pd.DataFrame(
        {
            "account_id": _text(rows["account_id"]),  # an import's name key is no id: blank (record_ids below)
            "account_name": _text(rows["account_name"]),
            "previous_owner": _text(rows["previous_owner_name"]),
            "previous_owner_email": _text(rows["previous_owner_email"]),
            "owner": _text(rows["owner_name"]),
            "owner_email": _text(rows["owner_email"]),
            "moved": rows["moved"].fillna(False).astype(bool).to_numpy(),
        }
    )
    if "expected_value" in rows and rows["expected_value"].notna().any():
        table["expected_value"] = rows["expected_value"].to_numpy()  # the CLI's --out column since its first version
    notes: list[str] = []
    table, _ = record_ids(table)  # an ID column with no CRM record id at all: left out
    if len(table) and "account_id" not in table:
        notes.append("no account has a CRM record id (the book was imported without an ID column), so the file has "
                     "no account_id column: it imports again matched by name and place")  # fmt: skip
    no_mail = sorted(set(table.loc[table["owner_email"] == "", "owner"]) - {""})
    if no_mail:
        notes.append(f"no email known for {listing(no_mail, 5)}: {SUPPLY_IDS}")
    return OwnerFile(table, tuple(notes))


# The plain file's columns as the Rebalance page words them (the CLI's `balance --out` keeps the columns above).
PLAIN_LABELS = {
    "account_id": "Account ID", "account_name": "Account", "previous_owner": "Previous owner",
    "previous_owner_email": "Previous owner email", "owner": "New owner", "owner_email": "New owner email",
    "moved": "Moves", "expected_value": "Expected value",
}  # fmt: skip


def plain_for_people(table: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The plain owner file as a page downloads it: its headers in words, money to the cent with the currency
    named ('Expected value (EUR)'), yes/no."""
    return readable(table, PLAIN_LABELS, currency=currency, money=("expected_value",))


# An owner-changes table (the Rebalance page's, or planner.scenarios.moves_report) as people read it.
MOVE_LABELS = {
    "name": "Account", "account_name": "Account", "account_id": "Account ID", "city": "City", "state": "State",
    "potential": "Potential", "change": "Change", "from": "From", "previous_owner": "Previous owner", "to": "To",
    "new_owner": "New owner", "km_before": "{unit} before", "km_after": "{unit} after", "reason": "Reason",
}  # fmt: skip


def moves_for_people(table: pd.DataFrame, currency: str, travel_unit: str = "km") -> pd.DataFrame:
    """Owner changes as a page downloads them: the page's headers, no rep ids, an import's name key blank (no CRM
    knows it), money to the cent with the currency named, travel to 0.1 (37932.219999999994 was written)."""
    labels = {c: label.format(unit=travel_unit) for c, label in MOVE_LABELS.items()}
    out = readable(table, labels, currency=currency, money=("potential",), digits={"km_before": 1, "km_after": 1})
    if "Account ID" in out:
        out["Account ID"] = _text(out["Account ID"]).map(crm_record_id)
    return out
