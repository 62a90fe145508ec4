"""What each kind of CRM export holds: target fields, vendor column names, detection, mapping.

Column names are compared after `normalize_header`: lower case, punctuation to spaces, Salesforce
`__c` suffixes and Pipedrive's `Deal - ` / `Organization - ` prefixes dropped. A field's synonyms
are listed in priority order (Billing City wins over Shipping City).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from planner.errors import BadInput, ImportFileError
from planner.ingest.vocabulary import FIELDS
from planner.text import currency_code

KINDS = ("accounts", "deals", "reps")
SKIP = "skip"  # the kind of a table not to import (a workbook's product list, pivot or summary sheet)
ATTR = "(custom attribute)"
IGNORE = "(ignore)"


FIELD_BY_NAME = {kind: {f.name: f for f in fields} for kind, fields in FIELDS.items()}
# Accounts without an ID column are keyed by their normalised name (plus domain or location).
REQUIRED: dict[str, tuple[str, ...]] = {"accounts": (), "deals": (), "reps": ()}
# Deals without an ID column are keyed by their account and name (plus created date).

# Known columns that are not worth keeping as attributes (contact details, audit fields).
IGNORED_COLUMNS = frozenset({
    "phone", "main phone", "fax", "website", "company domain name", "domain", "description", "account description",
    "billing street", "billingstreet", "street", "street address", "address", "address 1 street 1",
    "address 1 street 2", "address 1 street 3", "shipping street", "shipping city", "shipping state province",
    "shipping zip postal code", "shipping country", "shippingstreet", "shippingcity", "shippingstate",
    "shippingpostalcode", "shippingcountry", "created by", "last modified by", "last modified date",
    "lastmodifieddate", "createdbyid", "lastmodifiedbyid", "systemmodstamp", "masterrecordid",
    "do not modify row checksum", "do not modify modified on", "last activity", "last activity date",
    "full combined address of address", "house number of address", "street route of address", "parent account",
    "parent account id", "parentid", "account site", "ticker symbol", "linkedin company page", "facebook company page",
    "twitter handle", "currency", "account currency", "time zone", "primary contact", "email", "owner email",
    "billinggeocodeaccuracy", "billing geocode accuracy", "accountnumber", "account number",
    # The bookkeeping of the planner's own owner files (crm_files), not facts of an account: re-imported, they
    # made custom attributes and every row read as changed.
    "previous owner", "previous owner email", "moved", "expected value", "owner name", "owneridtype", "note",
})  # fmt: skip
# What the planner's own `export accounts` derives (planner.store.world.export_accounts: how it placed the account,
# the owner's rep ID, users and revenue potential, the import source), ignored in a file that has them all (one of
# our exports coming back): as custom attributes, a first re-import counted every unchanged row as updated. A CRM's
# own 'Source' or 'Potential' column in any other file stays an attribute.
OWN_EXPORT_COLUMNS = frozenset({"geo method", "owner rep id", "est users", "potential"})
OWN_EXPORT_EXTRA = frozenset({"source"})

_KIND_MARKERS = {
    "deals": {"opportunity id", "opportunity name", "stage", "stagename", "deal stage", "deal name", "close date",
              "closedate", "amount", "deal value", "iswon", "won", "deal title", "topic", "est close date",
              "pipeline", "deal id", "do not modify opportunity", "expected close date", "probability",
              "stage name", "dealstage", "dealname", "close value", "engage date", "deal amount",
              "opportunity owner", "deal owner", "potential customer", "est revenue", "associated company ids"},
    "reps": {"user id", "full name", "first name", "last name", "quota", "username", "title", "isactive",
             "manager", "role", "profile", "home city", "home zip", "home state", "annual quota", "userid",
             "firstname", "lastname", "user name", "rep name", "rep email", "sales agent", "regional office",
             "sales team", "sales manager"},
    "accounts": {"account name", "account id", "company name",
                 "billing city", "billing zip postal code", "billingpostalcode",
                 "employees", "number of employees", "numberofemployees", "annual revenue", "annualrevenue",
                 "industry", "do not modify account", "organization name", "company domain name",
                 "address 1 city", "account owner", "company owner", "billing state province", "website",
                 "account type", "lifecycle stage", "zip postal code of address", "sector", "office location",
                 "lifecyclestage", "year established"},
}  # fmt: skip
_DISTINCTIVE = {
    "accounts": {
        "employees",
        "annual_revenue",
        "industry",
        "employee_growth",
        "intent_score",
        "account_type",
        "new_executive",
        "website_visits",
    },
    "deals": {"stage", "amount", "close_date", "actual_close_date", "is_won", "is_closed", "status", "users"},
    "reps": {"quota", "first_name", "last_name", "capacity_hours", "email"},
}
_NAME_HINTS = {
    "deals": ("opportunit", "oportunidad", "deal", "pipeline"),
    "reps": ("user", "rep", "owner", "team", "staff"),
    "accounts": ("account", "compan", "organi", "customer"),
}
_SOURCE_MARKERS = {
    "salesforce_dataloader": {"Id", "BillingPostalCode", "BillingCity", "BillingState", "OwnerId", "StageName",
                              "NumberOfEmployees", "AnnualRevenue", "AccountId", "IsWon", "IsClosed", "CloseDate",
                              "CreatedDate", "FirstName", "LastName", "IsActive"},
    "salesforce": {"Account ID", "Account Name", "Billing Zip/Postal Code", "Billing State/Province",
                   "Billing City", "Opportunity ID", "Opportunity Name", "Account Owner", "Opportunity Owner",
                   "Close Date", "Created Date", "User ID", "Full Name"},
    "hubspot": {"Record ID", "Company name", "Company Domain Name", "State/Region", "Company owner", "Deal Stage",
                "Deal Name", "Associated Company IDs", "Associated Company", "Deal owner", "Create Date",
                "Lifecycle Stage", "Pipeline"},
    "dynamics365": {"Address 1: City", "Address 1: State/Province", "Address 1: ZIP/Postal Code",
                    "Potential Customer", "Est. Close Date", "Est. Revenue", "Topic", "Main Phone"},
    "pipedrive": set(),
}  # fmt: skip
_SALESFORCE_SNAKE = {
    "stage_name",
    "is_deleted",
    "owner_id",
    "account_id",
    "is_won",
    "is_closed",
    "billing_city",
    "billing_postal_code",
    "number_of_employees",
    "annual_revenue",
    "created_date",
    "close_date",
}
SOURCE_LABELS = {
    "salesforce_warehouse": "Salesforce (warehouse sync)",
    "hubspot_warehouse": "HubSpot (warehouse sync)",
    "salesforce": "Salesforce report export",
    "salesforce_dataloader": "Salesforce Data Loader export",
    "hubspot": "HubSpot export",
    "dynamics365": "Dynamics 365 export",
    "pipedrive": "Pipedrive export",
    "generic": "Generic CSV / Excel",
}
# Fields that place an account or a rep's home: a file without any leaves the stored places as they are.
PLACE_FIELDS = frozenset({"lat", "lon", "postal_code", "city", "state", "county", "country", "address"})
_PREFIX = re.compile(r"^(deal|organization|organisation|person|company)\s+-\s+", re.IGNORECASE)
# The Pipedrive records whose columns describe another record in a file of each kind (a deal's organization).
_FOREIGN = {"deals": ("organization", "organisation", "company", "person"), "accounts": ("deal", "person")}
# Warehouse syncs of HubSpot write every property as property_<name>.
_WAREHOUSE_PREFIX = re.compile(r"^property_", re.IGNORECASE)


def normalize_header(header: str) -> str:
    """'Billing Zip/Postal Code' -> 'billing zip postal code'; 'Intent_Score__c' -> 'intent score';
    'Étape' -> 'etape'."""
    text = str(header).replace("\ufeff", "").strip()
    text = _PREFIX.sub("", text)
    text = _WAREHOUSE_PREFIX.sub("", text)
    text = re.sub(r"__c$", "", text)
    text = re.sub(r"\(do not modify\)", "do not modify ", text, flags=re.IGNORECASE)
    # Accents folded, so exports in other languages compare: 'Étape' -> 'etape', 'Größe' -> 'grosse'.
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^0-9a-zA-Z]+", " ", text).strip().lower()
    # Pipedrive names an address field's parts '<part> of <field>' ('City/town/village/locality of Company Address')
    return re.sub(r" of (?:[a-z0-9]+ )+address$", " of address", text)


def detect_source(columns: list[str]) -> str:
    """Which CRM wrote these columns: salesforce, salesforce_dataloader, hubspot, dynamics365, pipedrive, generic."""
    raw = {c.replace("\ufeff", "").strip() for c in columns}
    if any(_PREFIX.match(c) for c in raw) or any(c.endswith(" of Address") for c in raw):
        return "pipedrive"
    if any(c.startswith("(Do Not Modify)") for c in raw):
        return "dynamics365"
    if sum(c.lower().startswith("property_") for c in raw) >= 2:
        return "hubspot_warehouse"
    if len({c.lower() for c in raw} & _SALESFORCE_SNAKE) >= 2:
        return "salesforce_warehouse"
    scores = {src: len(raw & markers) for src, markers in _SOURCE_MARKERS.items()}
    scores["salesforce_dataloader"] += 2 * sum(c.endswith("__c") for c in raw)
    best = max(scores, key=lambda s: scores[s])
    return best if scores[best] >= 2 or (best == "salesforce_dataloader" and scores[best] >= 1 and "Id" in raw) \
        else "generic"  # fmt: skip


# A contacts export (Pipedrive Persons, Salesforce or HubSpot Contacts): people at customers, each linked to their
# organization. Their first and last names and emails look like a user export's, yet they are not reps.
_CONTACT_MARKERS = {"contact id", "contactid", "contact owner", "contact owner name", "do not modify contact",
                    "contact name", "contact full name", "person id"}  # fmt: skip
_PEOPLE = {"first name", "last name", "firstname", "lastname", "full name"}
_EMPLOYER = {"account name", "account id", "accountid", "account", "company", "company name", "associated company",
             "associated company ids", "organization", "organization name", "parent customer"}  # fmt: skip
_NOT_CONTACTS = {"stage", "stagename", "deal stage", "amount", "close date", "opportunity name", "opportunity id",
                 "deal name", "deal id", "user id", "userid", "username", "user name", "quota", "annual quota",
                 "role", "profile", "isactive", "is active", "userroleid", "user role", "home city",
                 "home zip"}  # fmt: skip


def is_contacts(columns: list[str]) -> bool:
    """A contacts (persons) export: rows of customers' people linked to their organization, not users."""
    raw = [c.replace("\ufeff", "").strip().lower() for c in columns]
    prefixes = [m.group(1) for c in raw if (m := _PREFIX.match(c))]
    if prefixes and prefixes.count("person") * 2 > len(prefixes):  # Pipedrive: 'Person - Name', 'Person - Email'
        return True
    norm = {normalize_header(c) for c in columns}
    if norm & _NOT_CONTACTS:
        return False
    return bool(norm & _CONTACT_MARKERS) or bool(norm & _PEOPLE and norm & _EMPLOYER)


def no_kind_reason(columns: list[str]) -> str:
    """Why a table of no kind holds nothing to import (a contacts export, or columns of no kind)."""
    if is_contacts(columns):
        return "a contacts export (people at your customers, not your reps), which the planner does not use"
    return f"not accounts, deals or reps (columns: {', '.join(columns[:6])})"


def unknown_kind(name: str, columns: list[str]) -> str:
    """The one-line error for a table of no kind: why, and what to do."""
    if is_contacts(columns):
        return (f"{name} is {no_kind_reason(columns)}; import accounts, deals and a user export, or pass --kind reps "
                "(or pick the kind on the Data page) if these people are your reps")  # fmt: skip
    return (f"{name}: cannot tell whether it holds accounts, deals or reps (columns: {', '.join(columns[:8])}); "
            "pass --kind, or pick the kind on the Data page")  # fmt: skip


def detect_kind(columns: list[str], file_name: str = "") -> tuple[str | None, dict[str, int]]:
    """The most likely kind (accounts, deals or reps) and each kind's score; None when nothing fits (and for a
    contacts export, whose people are customers', not reps)."""
    norm = {normalize_header(c) for c in columns}
    raw = [c.strip().lower() for c in columns]
    scores = {kind: len(norm & markers) for kind, markers in _KIND_MARKERS.items()}
    if is_contacts(columns):
        return None, scores
    if any(c.startswith("deal - ") for c in raw):
        scores["deals"] += 3
    if any(c.startswith(("organization - ", "organisation - ")) for c in raw):
        scores["accounts"] += 3
    lower_name = file_name.lower()
    for kind, hints in _NAME_HINTS.items():
        if any(h in lower_name for h in hints):
            scores[kind] += 1
    if "email" in norm and not norm & {"billing city", "stage", "amount", "industry"}:
        scores["reps"] += 1
    # Generic files: count the distinctive fields each kind's synonyms find.
    for kind, distinctive in _DISTINCTIVE.items():
        found = set(propose_mapping(columns, kind).values()) & distinctive
        scores[kind] += len(found)
    best = max(KINDS, key=lambda k: (scores[k], k == "accounts"))
    if scores[best] >= 2:
        return best, scores
    # A bare list of companies ("Company,Country", "Organization,Website"): an account name or ID under a
    # company word, and nothing a deal or a rep has. A lone "Name" column stays undecided (a rep's, or a deal's).
    accounts = propose_mapping(columns, "accounts")
    company = any(v in ("id", "name") and normalize_header(c) not in ("name", "id") for c, v in accounts.items())
    if company and not max(scores["deals"], scores["reps"]):
        return "accounts", scores
    return None, scores


# Excel's pivot tables head their rows 'Row Labels' (in the languages Excel writes) and their values 'Sum of ...'.
_PIVOT_HEADS = {"row labels", "column labels", "etiquettes de lignes", "zeilenbeschriftungen", "etiquetas de fila",
                "rotulos de linha", "etichette di riga"}  # fmt: skip
_PIVOT_VALUES = ("sum of ", "count of ", "average of ", "max of ", "min of ")


def is_pivot(columns: list[str]) -> bool:
    """A pivot table's header (totals by row label, not records): nothing in it is an account, deal or rep."""
    norm = [normalize_header(c) for c in columns]
    return bool(_PIVOT_HEADS & set(norm)) or sum(n.startswith(_PIVOT_VALUES) for n in norm) >= 2


_CURRENCY_SUFFIX = re.compile(r"\s*\(([A-Za-z]{3})\)\s*$")


def _header_for(column: str, kind: str) -> str:
    """normalize_header, except that a Pipedrive column of another record keeps its record's name: in a deals
    file 'Organization - ID' is 'organization id' (the deal's account), not 'id' (the deal's own); and a currency
    code in brackets is no part of the name ('amount (EUR)', as `planner export` writes money)."""
    code = _CURRENCY_SUFFIX.search(str(column))
    if code and currency_code(code.group(1)):
        column = str(column)[: code.start()]
    prefix = _PREFIX.match(str(column).replace("\ufeff", "").strip())
    if prefix and prefix.group(1).lower() in _FOREIGN.get(kind, ()):
        return normalize_header(prefix.group(1) + " " + str(column).strip()[prefix.end() :])
    return normalize_header(column)


def propose_mapping(columns: list[str], kind: str) -> dict[str, str]:
    """Map every column to a field of `kind`, to ATTR (kept as a custom attribute) or to IGNORE."""
    norm = [_header_for(c, kind) for c in columns]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field in FIELDS[kind]:
        for synonym in field.synonyms:
            hits = [c for c, n in zip(columns, norm, strict=True) if n == synonym and c not in mapping]
            if hits:
                mapping[hits[0]] = field.name
                taken.add(field.name)
                break
    own = kind == "accounts" and set(norm) >= OWN_EXPORT_COLUMNS
    for c, n in zip(columns, norm, strict=True):
        if c in mapping:
            continue
        # Sync bookkeeping (_fivetran_synced, _airbyte_...); what our own export derived.
        if c.strip().startswith("_") or (own and n in OWN_EXPORT_COLUMNS | OWN_EXPORT_EXTRA):
            mapping[c] = IGNORE
        elif kind == "accounts" and n and n not in IGNORED_COLUMNS and not n.startswith(("shipping", "do not modify")):
            mapping[c] = ATTR
        else:
            mapping[c] = IGNORE
    return mapping


_REPEAT = re.compile(r"^(.*) \((\d+)\)$")  # the reader's name for a header's repeat (reader.dedupe_columns)


def repeated_columns(mapping: dict[str, str]) -> list[tuple[str, str]]:
    """(column read as a field, a later column of the same header) for each header written twice or more, where the
    repeat is read as no field: 'City' and 'City (2)', as the reader names a repeated 'City'."""
    lower = {str(c).lower(): c for c in mapping}
    out = []
    for repeat, target in mapping.items():
        found = _REPEAT.match(str(repeat))
        first = lower.get(found.group(1).lower()) if found else None
        if first is not None and target in (ATTR, IGNORE) and mapping[first] not in (ATTR, IGNORE):
            out.append((first, repeat))
    return out


def attribute_key(column: str) -> str:
    """A stable attribute name for a custom column: 'Employee Growth (12m) %' -> 'employee_growth_12m_pct'."""
    text = str(column).replace("%", " pct ")
    return re.sub(r"[^0-9a-z]+", "_", normalize_header(text)).strip("_") or "x"


def field_choices(kind: str) -> list[str]:
    """Options for a mapping editor: every field of the kind, then ATTR and IGNORE."""
    names = [f.name for f in FIELDS[kind]]
    return names + ([ATTR] if kind == "accounts" else []) + [IGNORE]


def validate_mapping(mapping: dict[str, str], kind: str) -> dict[str, str]:
    """Check a (possibly user-edited) mapping: known targets, each field used at most once."""
    allowed = set(field_choices(kind))
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if target not in allowed:
            raise BadInput(f"column {column!r} is mapped to {target!r}, which is not a {kind} field; pick one of "
                           f"{', '.join(sorted(allowed))}")  # fmt: skip
        if target in (ATTR, IGNORE):
            continue
        if target in seen:
            raise BadInput(f"columns {seen[target]!r} and {column!r} are both mapped to {target}; map only one")
        seen[target] = column
    return mapping


def check_column_map(columns: dict[str, str], known: set[str]) -> None:
    """Every column a caller maps (the CLI's --map COLUMN=FIELD) is in some file (`known`), and every field is
    one of some kind's fields: a typo is refused before anything is read, never ignored."""
    every = sorted({f.name for kind in KINDS for f in FIELDS[kind]})
    for column, field_name in columns.items():
        if column not in known:
            shown = ", ".join(sorted(known)[:12])
            raise ImportFileError(f"--map '{column}={field_name}': no file has a column '{column}' (columns: {shown})")
        if field_name not in {*every, IGNORE, ATTR, "ignore", "attribute"}:
            raise ImportFileError(
                f"--map '{column}={field_name}': '{field_name}' is not a field; fields: {', '.join(every)}, "
                "ignore, attribute"
            )


def apply_column_map(mapping: dict[str, str], kind: str, table: str, given: dict[str, str]) -> dict[str, str]:
    """The caller's columns onto a proposed mapping of a table of `kind`: each named column maps to its field
    (the field leaves any column the proposal gave it); 'ignore' and 'attribute' are the Data page's choices."""
    names = {f.name for f in FIELDS[kind]}
    out = dict(mapping)
    for column, field_name in given.items():
        target = {"ignore": IGNORE, "attribute": ATTR}.get(field_name, field_name)
        if target not in names | {IGNORE, ATTR}:
            raise ImportFileError(
                f"--map '{column}={field_name}': {table} holds {kind}, which have no field '{field_name}'; "
                f"{kind} fields: {', '.join(sorted(names))}"
            )
        if target not in (IGNORE, ATTR):
            out = {c: (IGNORE if f == target and c != column else f) for c, f in out.items()}
        out[column] = target
    return out


def kind_of_fields(fields: Iterable[str]) -> str | None:
    """The one kind that has every named field (None when none or several have them)."""
    named = set(fields) - {"ignore", "attribute", IGNORE, ATTR}
    fit = [k for k in KINDS if named <= {f.name for f in FIELDS[k]}]
    return fit[0] if len(fit) == 1 else None


def fold_close_dates(exprs: dict[str, str], labels: dict[str, str]) -> None:
    """Pipedrive's 'Won time' and 'Lost time' as the deal's actual close date (in place): the one of the deal's
    status (a deal won, reopened and lost keeps both), the later one when no status says; an open deal has none.
    'Deal closed on', read as the actual close date itself, wins. The store knows only the actual close date;
    the two stay parsed on their own (their expressions are kept) so that text that is no date is warned of."""
    won, lost = labels.pop("won_time", None), labels.pop("lost_time", None)
    if not (won or lost):
        return
    w = exprs["won_time"] if won else "NULL::DATE"
    lo = exprs["lost_time"] if lost else "NULL::DATE"
    outcome = next((f"tp_stage({exprs[f]})" for f in ("status", "stage") if f in labels), "NULL")
    folded = (
        f"CASE {outcome} WHEN 'won' THEN {w} WHEN 'lost' THEN {lo} WHEN 'open' THEN NULL ELSE greatest({w}, {lo}) END"
    )
    if "actual_close_date" in labels:
        folded = f"coalesce({exprs['actual_close_date']}, {folded})"
    exprs["actual_close_date"] = folded
    labels.setdefault("actual_close_date", won or lost or "")


# A one-line address's last comma-separated parts, read conservatively (RE2 and Python read these alike): the last
# part when it names a country, then '80802 München' / '00-950 Warszawa' / '1012 AB Amsterdam' (postal code first),
# 'London SW1A 2AA' (postal code last), or 'CA 94105' / 'ON M5V 3L9' after the city (state and postal code).
_POSTAL_FIRST = r"^(\d{4,5}|\d{2}-\d{3}|\d{3} \d{2}|\d{4} ?[A-Z]{2})\s+(\D.*)$"
_POSTAL_LAST = r"^(\D.*?)\s+([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$"
_STATE_POSTAL = r"^([A-Z]{2})\s+(\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d)$"


def _address_parts(text: str) -> tuple[str | None, str | None]:
    """(city, postal code) a one-line address gives, read as the SQL of fold_address reads it (for its warning)."""
    parts = [p.strip() for p in text.split(",")]
    for i, seg in enumerate(parts[-2:][::-1]):  # the last part, else the one before (the last names a country)
        if m := re.match(_POSTAL_FIRST, seg):
            return m.group(2), m.group(1)
        if m := re.match(_POSTAL_LAST, seg):
            return m.group(1), m.group(2)
        if (m := re.match(_STATE_POSTAL, seg)) and len(parts) > 1 + (i + 1):
            return parts[-2 - i], m.group(2)
    return None, None


def fold_address(exprs: dict[str, str], labels: dict[str, str], columns: list[str], sample: list[list[str]],
                 warnings: list[str]) -> None:  # fmt: skip
    """An account's one-line address read for the city, state, postal code and country no column gives (in place);
    addresses of the sample that give neither a city nor a postal code are warned of, never silently left."""
    column = labels.pop("address", None)
    if column is None:
        return
    a = exprs.pop("address")
    last = f"regexp_extract({a}, ',\\s*([^,]+?)\\s*$', 1)"  # the part that may name a country (the store's list)

    def pick(pattern: str, group: int) -> str:  # from the last part, else the one before
        return ", ".join(f"nullif(regexp_extract(p[-{k}], '{pattern}', {group}), '')" for k in (1, 2))

    def city_before(k: int) -> str:  # 'San Francisco, CA 94105': the part before the state and postal code
        return f"CASE WHEN regexp_full_match(p[-{k}], '{_STATE_POSTAL}') THEN p[-{k + 1}] END"

    parsed = {
        "postal_code": f"coalesce({pick(_POSTAL_FIRST, 1)}, {pick(_POSTAL_LAST, 2)}, {pick(_STATE_POSTAL, 2)})",
        "city": f"coalesce({pick(_POSTAL_FIRST, 2)}, {pick(_POSTAL_LAST, 1)}, {city_before(1)}, {city_before(2)})",
        "state": f"coalesce({pick(_STATE_POSTAL, 1)})",
    }
    parts = f"list_transform(string_split({a}, ','), lambda x: trim(x))"
    values = {f: f"list_transform([{parts}], lambda p: {sql})[1]" for f, sql in parsed.items()}
    values["country"] = f"CASE WHEN tp_key({last}) IN (SELECT key FROM _tp_country) AND {a} LIKE '%,%' THEN {last} END"
    for field_name, value in values.items():
        exprs[field_name] = f"coalesce({exprs[field_name]}, {value})" if field_name in labels else value
    if labels.keys() & {"city", "postal_code"}:
        return  # the address only fills the rows whose columns are empty
    j = columns.index(column)
    texts = [r[j].strip() for r in sample if j < len(r) and r[j].strip()]
    unread = [t for t in texts if _address_parts(t) == (None, None)]
    if unread:
        warnings.append(
            f"{column}: {len(unread):,} of the first {len(texts):,} addresses give no postal code or city that could "
            f"be read (e.g. {unread[0]!r}), so those accounts are placed by their country at most; export the "
            "address's parts (city, postal code, country) as columns, or map them on the Data page"
        )
