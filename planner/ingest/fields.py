"""What each kind of CRM export holds: target fields, vendor column names, detection, mapping.

Column names are compared after `normalize_header`: lower case, punctuation to spaces, Salesforce
`__c` suffixes and Pipedrive's `Deal - ` / `Organization - ` prefixes dropped. A field's synonyms
are listed in priority order (Billing City wins over Shipping City).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("accounts", "deals", "reps")
ATTR = "(custom attribute)"
IGNORE = "(ignore)"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    dtype: str  # id | text | number | employees | fraction | bool | date | zip | state | owner | coord
    synonyms: tuple[str, ...]


def _f(name: str, label: str, dtype: str, *synonyms: str) -> Field:
    return Field(name, label, dtype, synonyms)


FIELDS: dict[str, list[Field]] = {
    "accounts": [
        _f(
            "id",
            "Account ID",
            "id",
            "account id",
            "id",
            "record id",
            "company id",
            "organization id",
            "org id",
            "do not modify account",
            "accountid",
            "hubspot company id",
            "customer id",
            "crm id",
            "account crm id",
        ),
        _f(
            "name",
            "Account name",
            "text",
            "account name",
            "name",
            "company name",
            "company",
            "organization name",
            "organisation name",
            "organization",
            "org name",
            "customer name",
            "account",
            "accountname",
            "companyname",
        ),
        _f("industry", "Industry", "text", "industry", "industry vertical", "sector", "vertical", "industry name"),
        _f(
            "employees",
            "Employees",
            "employees",
            "employees",
            "number of employees",
            "numberofemployees",
            "employee count",
            "headcount",
            "no of employees",
            "num employees",
            "company size",
            "employee range",
            "number employees",
            "employees count",
        ),
        _f(
            "annual_revenue",
            "Annual revenue",
            "number",
            "annual revenue",
            "annualrevenue",
            "revenue",
            "annual revenue usd",
            "estimated annual revenue",
            "total revenue",
        ),
        _f(
            "employee_growth",
            "Employee growth (12 months)",
            "fraction",
            "employee growth 12m",
            "employee growth",
            "employee growth 12 months",
            "employee growth rate",
            "headcount growth",
            "employee growth 12m pct",
            "headcount growth 12m",
        ),
        _f(
            "intent_score",
            "Intent score",
            "number",
            "intent score",
            "intent",
            "buyer intent score",
            "intent score 0 100",
        ),
        _f(
            "new_executive",
            "New executive (90 days)",
            "bool",
            "new executive 90d",
            "new executive",
            "new exec",
            "new executive last 90 days",
            "executive change 90d",
            "executive change",
        ),
        _f(
            "website_visits",
            "Website visits (30 days)",
            "number",
            "website visits 30d",
            "website visits",
            "web visits",
            "website visits 30 days",
            "number of pageviews",
            "page views",
        ),
        _f(
            "account_type",
            "Account type",
            "text",
            "type",
            "account type",
            "lifecycle stage",
            "lifecyclestage",
            "customer type",
            "account status",
            "relationship",
        ),
        _f(
            "customer_status",
            "Customer status (custom field)",
            "text",
            "customer status",
            "customer flag",
            "is customer",
            "customer",
        ),
        _f(
            "city",
            "City",
            "text",
            "billing city",
            "billingcity",
            "address 1 city",
            "city",
            "city town village locality of address",
            "hq city",
            "mailing city",
            "company city",
        ),
        _f(
            "state",
            "State",
            "state",
            "billing state province",
            "billing state",
            "billingstate",
            "address 1 state province",
            "state region",
            "state",
            "state province",
            "state county of address",
            "province",
        ),
        _f(
            "postal_code",
            "ZIP / postal code",
            "zip",
            "billing zip postal code",
            "billingpostalcode",
            "billing postal code",
            "billing zip",
            "address 1 zip postal code",
            "zip postal code",
            "postal code",
            "zip",
            "zip code",
            "postcode",
            "zip postal code of address",
        ),
        _f("county", "County", "text", "county", "billing county"),
        _f(
            "country",
            "Country",
            "text",
            "billing country",
            "billingcountry",
            "address 1 country region",
            "country",
            "country region",
            "country of address",
            "office location",
            "hq country",
            "country name",
            "country code",
        ),
        _f("lat", "Latitude", "coord", "billinglatitude", "billing latitude", "address 1 latitude", "latitude", "lat"),
        _f(
            "lon",
            "Longitude",
            "coord",
            "billinglongitude",
            "billing longitude",
            "address 1 longitude",
            "longitude",
            "lon",
            "lng",
            "long",
        ),
        _f(
            "owner",
            "Owner (name, email or user ID)",
            "owner",
            "account owner",
            "owner",
            "company owner",
            "account owner name",
            "owner name",
            "hubspot owner",
            "ownerid",
            "owner id",
            "account owner id",
            "hubspot owner id",
            "sales agent",
            "sales rep",
        ),
        _f("owner_email", "Owner email", "owner", "owner email", "account owner email", "company owner email"),
        _f("domain", "Website / domain", "text", "website", "company domain name", "domain", "web site"),
        _f("is_deleted", "Deleted in the CRM", "bool", "isdeleted", "is deleted", "deleted", "archived"),
    ],
    "deals": [
        _f(
            "id",
            "Deal ID",
            "id",
            "opportunity id",
            "deal id",
            "record id",
            "do not modify opportunity",
            "opportunityid",
            "hs object id",
            "id",
        ),
        _f(
            "account_id",
            "Account ID",
            "id",
            "account id",
            "accountid",
            "associated company ids",
            "associated company id",
            "company id",
            "organization id",
            "org id",
            "customer id",
            "account crm id",
        ),
        _f(
            "account_name",
            "Account name",
            "text",
            "account name",
            "account",
            "company",
            "company name",
            "associated company",
            "organization",
            "organization name",
            "potential customer",
            "customer",
            "accountname",
        ),
        _f(
            "name",
            "Deal name",
            "text",
            "opportunity name",
            "deal name",
            "dealname",
            "title",
            "topic",
            "deal title",
            "name",
            "product",
        ),
        _f(
            "stage",
            "Stage",
            "text",
            "stage",
            "stagename",
            "deal stage",
            "sales stage",
            "pipeline stage",
            "pipeline phase",
            "stage name",
            "dealstage",
            "opportunity stage",
        ),
        _f("status", "Status (open / won / lost)", "text", "status", "deal status"),
        _f(
            "amount",
            "Amount",
            "number",
            "amount",
            "deal value",
            "value",
            "est revenue",
            "estimated revenue",
            "opportunity amount",
            "amount in company currency",
            "total contract value",
            "actual revenue",
            "close value",
            "deal amount",
            "amount usd",
            "value usd",
        ),
        _f(
            "users",
            "Users / seats",
            "number",
            "users",
            "seats",
            "quantity",
            "licenses",
            "number of users",
            "total opportunity quantity",
            "totalopportunityquantity",
        ),
        _f(
            "created_date",
            "Created date",
            "date",
            "created date",
            "createddate",
            "create date",
            "deal created",
            "created on",
            "created",
            "created at",
            "add time",
            "createdate",
            "engage date",
            "engaged date",
            "date created",
        ),
        _f(
            "close_date",
            "Close date",
            "date",
            "close date",
            "closedate",
            "est close date",
            "estimated close date",
            "expected close date",
            "actual close date",
            "closed date",
            "close time",
            "date closed",
        ),
        _f("is_closed", "Closed", "bool", "closed", "isclosed", "is closed"),
        _f("is_won", "Won", "bool", "won", "iswon", "is won", "is closed won"),
        _f(
            "owner",
            "Owner (name, email or user ID)",
            "owner",
            "opportunity owner",
            "deal owner",
            "owner",
            "ownerid",
            "owner id",
            "owner name",
            "hubspot owner id",
            "sales agent",
            "sales rep",
            "agent",
            "salesperson",
        ),
        _f("owner_email", "Owner email", "owner", "owner email", "opportunity owner email", "deal owner email"),
        _f("is_deleted", "Deleted in the CRM", "bool", "isdeleted", "is deleted", "deleted", "archived"),
    ],
    "reps": [
        _f("id", "User ID", "id", "user id", "userid", "id", "employee id", "rep id", "owner id"),
        _f(
            "name",
            "Name",
            "text",
            "full name",
            "name",
            "rep name",
            "sales rep",
            "sales agent",
            "agent",
            "rep",
            "user",
            "owner name",
            "owner",
            "salesperson",
        ),
        _f("first_name", "First name", "text", "first name", "firstname", "given name"),
        _f("last_name", "Last name", "text", "last name", "lastname", "surname", "family name"),
        _f("email", "Email", "owner", "email", "email address", "e mail", "work email", "user email", "rep email"),
        _f("city", "Home city", "text", "home city", "city", "office city", "base city", "location city"),
        _f("state", "Home state", "state", "home state", "state province", "state", "state region", "office state"),
        _f(
            "postal_code",
            "Home ZIP",
            "zip",
            "home zip",
            "home zip code",
            "home postal code",
            "zip postal code",
            "postal code",
            "postalcode",
            "zip",
            "zip code",
            "office zip",
        ),
        _f("lat", "Home latitude", "coord", "home lat", "home latitude", "latitude", "lat"),
        _f("lon", "Home longitude", "coord", "home lon", "home longitude", "longitude", "lon", "lng"),
        _f(
            "quota",
            "Quota",
            "number",
            "quota",
            "annual quota",
            "quota amount",
            "sales quota",
            "quota usd",
            "annual target",
            "target",
        ),
        _f("capacity_hours", "Capacity (hours / year)", "number", "capacity hours", "capacity", "selling hours"),
        _f("active", "Active", "bool", "active", "isactive", "is active"),
        _f("manager", "Manager", "text", "manager", "manager name", "sales manager", "reports to", "team lead"),
        _f(
            "region",
            "Region / team",
            "text",
            "region",
            "regional office",
            "sales region",
            "team",
            "sales team",
            "office",
            "territory",
            "division",
        ),
        _f("is_deleted", "Deleted in the CRM", "bool", "isdeleted", "is deleted", "deleted", "archived"),
    ],
}
FIELD_BY_NAME = {kind: {f.name: f for f in fields} for kind, fields in FIELDS.items()}
# Accounts without an ID column are keyed by their normalised name (plus domain or location).
REQUIRED: dict[str, tuple[str, ...]] = {"accounts": (), "deals": ("id",), "reps": ()}

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
})  # fmt: skip

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
    "deals": {"stage", "amount", "close_date", "is_won", "is_closed", "status", "users"},
    "reps": {"quota", "first_name", "last_name", "capacity_hours", "email"},
}
_NAME_HINTS = {
    "deals": ("opportunit", "deal", "pipeline"),
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
_PREFIX = re.compile(r"^(deal|organization|organisation|person|company)\s+-\s+", re.IGNORECASE)
# Warehouse syncs of HubSpot write every property as property_<name>.
_WAREHOUSE_PREFIX = re.compile(r"^property_", re.IGNORECASE)


def normalize_header(header: str) -> str:
    """'Billing Zip/Postal Code' -> 'billing zip postal code'; 'Intent_Score__c' -> 'intent score'."""
    text = str(header).replace("\ufeff", "").strip()
    text = _PREFIX.sub("", text)
    text = _WAREHOUSE_PREFIX.sub("", text)
    text = re.sub(r"__c$", "", text)
    text = re.sub(r"\(do not modify\)", "do not modify ", text, flags=re.IGNORECASE)
    text = re.sub(r"[^0-9a-zA-Z]+", " ", text).strip().lower()
    return text


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


def detect_kind(columns: list[str], file_name: str = "") -> tuple[str | None, dict[str, int]]:
    """The most likely kind (accounts, deals or reps) and each kind's score; None when nothing fits."""
    norm = {normalize_header(c) for c in columns}
    raw = [c.strip().lower() for c in columns]
    scores = {kind: len(norm & markers) for kind, markers in _KIND_MARKERS.items()}
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
    return (best if scores[best] >= 2 else None), scores


def propose_mapping(columns: list[str], kind: str) -> dict[str, str]:
    """Map every column to a field of `kind`, to ATTR (kept as a custom attribute) or to IGNORE."""
    norm = [normalize_header(c) for c in columns]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field in FIELDS[kind]:
        for synonym in field.synonyms:
            hits = [c for c, n in zip(columns, norm, strict=True) if n == synonym and c not in mapping]
            if hits:
                mapping[hits[0]] = field.name
                taken.add(field.name)
                break
    for c, n in zip(columns, norm, strict=True):
        if c in mapping:
            continue
        if c.strip().startswith("_"):  # sync bookkeeping (_fivetran_synced, _airbyte_...)
            mapping[c] = IGNORE
        elif kind == "accounts" and n and n not in IGNORED_COLUMNS and not n.startswith(("shipping", "do not modify")):
            mapping[c] = ATTR
        else:
            mapping[c] = IGNORE
    return mapping


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
    from planner.errors import BadInput

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
