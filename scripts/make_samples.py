"""Write the sample exports of issue #14 into data/samples/ (deterministic; run by a maintainer).

Shapes, as the public originals deliver them (nobody on the project wrote those; these follow their shape):
- crm_sales_opportunities/: accounts.csv (no ID column; office_location is a country; revenue in
  millions), sales_pipeline.csv (deals keyed by account NAME, blank for early open deals; 2016-2017),
  sales_teams.csv (sales_agent, manager, regional_office);
- warehouse_salesforce_*.csv: Salesforce objects synced to a warehouse (snake_case, is_deleted);
- warehouse_hubspot_*.csv: HubSpot objects synced to a warehouse (property_..., archived);
- salesforce_api_account.csv / salesforce_api_opportunity.csv: full-field Salesforce API exports
  (Billing coordinates filled in, a custom Customer_Status__c, one ZIP contradicting its state).

    python scripts/make_samples.py
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "samples"

WORDS_A = ["Acme", "Betasoft", "Blue Fin", "Bluth", "Cancity", "Codehow", "Conecom", "Dalttechnology", "Dambase",
           "Domzoom", "Doncon", "Dontechi", "Faxquote", "Finhigh", "Fixdex", "Funholding", "Gekko", "Genco",
           "Golddex", "Goodsilron", "Green-Plus", "Groovestreet", "Hatfan", "Hottechi", "Initech", "Isdom",
           "Iselectrics", "J-Texon", "Kan-code", "Kinnamplus", "Konex", "Labdrill", "Lexiqvolax", "Massive Dynamic",
           "Mathtouch", "Nam-zim", "Newex", "Ontomedia", "Opentech", "Plexzap", "Plusstrip", "Plussunin",
           "Rangreen", "Rantouch", "Ron-tech", "Rundofase", "Scotfind", "Scottech", "Silis", "Singletechno",
           "Sonron", "Stanredtax", "Statholdings", "Streethex", "Sumace", "Sunnamplex", "Toughzap", "Treequote",
           "Umbrella", "Vehement Capital", "Xx-holding", "Y-corporation", "Zathunicon", "Zencorporation",
           "Zoomit", "Zotware", "Zumgoity", "Bioholding", "Cheers", "Cubeland", "Donquadtech", "Ganjaflex",
           "Globex", "Hottechi Labs", "Inity", "Kinnamplus Co", "Lexilane", "Newhotplus", "Olescom", "Ontotanin",
           "Polyvox", "Quadrant", "Rodline", "Sunwheel", "Tristate Labs"]  # fmt: skip
SECTORS = ["technolgy", "medical", "retail", "software", "entertainment", "finance", "marketing",
           "telecommunications", "services", "employment"]  # fmt: skip
COUNTRIES = ["United States"] * 12 + ["Philippines", "Germany", "Jordan", "Kenya", "Norway", "Panama", "Belgium",
                                      "Brazil", "China", "Italy", "Japan", "Korea", "Poland"]  # fmt: skip
PRODUCTS = {"GTX Basic": 550, "GTX Pro": 4821, "MG Special": 55, "MG Advanced": 3393, "GTX Plus Pro": 5482,
            "GTX Plus Basic": 1096, "GTK 500": 26768}  # fmt: skip
FIRST = ["Moses", "Darcel", "Zane", "Maureen", "Versie", "Anna", "Gladys", "Rosie", "Hayden", "Kami", "Cassey",
         "Donn", "Corliss", "Reed", "Lajuana", "Garret", "Violet", "Boris", "Vicki", "Markita", "Cecily",
         "Niesha", "James", "Daniell", "Wilburn", "Elease", "Rosalina", "Jonathan", "Marty", "Hayden J",
         "Carol", "Mei-Mei", "Carl", "Lionel", "Dustin"]  # fmt: skip
LAST = ["Frase", "Schlecht", "Levy", "Marcella", "Wilburn", "Snelling", "Jandreau", "Rodriguez", "Neal",
        "Bales", "Cress", "Cardenas", "Cosme", "Zoeller", "Hagan", "Kinder", "Mattox", "Faz", "Laflamme",
        "Hagen", "Robbins", "Huffines", "Blair", "Hultquist", "Reichel", "Gillaspie", "Dampier", "Berthelot",
        "Leprohon", "Ingle", "Thompson", "Swatzell", "Vandenberg", "Wyatt", "Brinkmann"]  # fmt: skip
MANAGERS = [("Dustin Brinkmann", "Central"), ("Melvin Marxen", "Central"), ("Cara Losch", "East"),
            ("Rocco Neubert", "East"), ("Celia Rouche", "West"), ("Summer Sewald", "West")]  # fmt: skip


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)


def crm_sales_opportunities(rng: random.Random) -> None:
    folder = OUT / "crm_sales_opportunities"
    names = WORDS_A[:85]
    accounts = []
    for i, name in enumerate(names):
        revenue = round(rng.lognormvariate(6.5, 1.3), 2)
        employees = max(9, int(revenue * rng.uniform(1.5, 4.5)))
        parent = names[(i * 7) % 85] if i % 9 == 4 else ""
        accounts.append([name, SECTORS[i % len(SECTORS)], rng.randint(1979, 2017), revenue, employees,
                         COUNTRIES[i % len(COUNTRIES)] if i % 3 else "United States", parent])  # fmt: skip
    _write(folder / "accounts.csv",
           ["account", "sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of"],
           accounts)  # fmt: skip
    agents = [f"{FIRST[i]} {LAST[i]}" for i in range(35)]
    teams = [[a, *MANAGERS[i // 6]] for i, a in enumerate(agents)]
    _write(folder / "sales_teams.csv", ["sales_agent", "manager", "regional_office"], teams)
    deals = []
    start = date(2016, 10, 20)
    for _ in range(1200):
        agent = agents[rng.randrange(30)]  # five agents have no deals, as in the public data
        product = rng.choice(list(PRODUCTS))
        stage = rng.choices(["Prospecting", "Engaging", "Won", "Lost"], [0.06, 0.16, 0.48, 0.30])[0]
        engage = start + timedelta(days=rng.randrange(420))
        account = rng.choice(names)
        if stage == "Prospecting" or (stage == "Engaging" and rng.random() < 0.3):
            account = ""  # early open deals carry no account yet
        engage_s = "" if stage == "Prospecting" else engage.isoformat()
        if stage in ("Won", "Lost"):
            close = min(engage + timedelta(days=rng.randint(1, 138)), date(2017, 12, 31))
            value = round(PRODUCTS[product] * rng.uniform(0.85, 1.15)) if stage == "Won" else 0
            deals.append([_opp_id(rng), agent, product, account, stage, engage_s, close.isoformat(), value])
        else:
            deals.append([_opp_id(rng), agent, product, account, stage, engage_s, "", ""])
    _write(folder / "sales_pipeline.csv",
           ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date",
            "close_value"], deals)  # fmt: skip


def _opp_id(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(8))


US_PLACES = [("Boston", "MA", "02110", 42.3570, -71.0530), ("Denver", "CO", "80202", 39.7508, -104.9966),
             ("Austin", "TX", "78701", 30.2711, -97.7437), ("Seattle", "WA", "98101", 47.6101, -122.3344),
             ("Chicago", "IL", "60601", 41.8858, -87.6181), ("Atlanta", "GA", "30303", 33.7529, -84.3925),
             ("Phoenix", "AZ", "85004", 33.4515, -112.0685),
             ("Columbus", "OH", "43215", 39.9653, -83.0048)]  # fmt: skip
INDUSTRIES = ["Technology", "Healthcare", "Finance", "Manufacturing", "Retail", "Education"]


def _sf_id(prefix: str, i: int) -> str:
    return f"{prefix}5g00000Wh{i:04d}AAA"


def warehouse_salesforce(rng: random.Random) -> None:
    """Fivetran/Airbyte-style Salesforce tables: snake_case columns, soft-deleted rows flagged."""
    owners = [_sf_id("005", i) for i in range(1, 5)]
    accounts = []
    for i in range(1, 41):
        city, state, zip_, _, _ = US_PLACES[i % len(US_PLACES)]
        accounts.append([_sf_id("001", i), f"Warehouse Account {i:02d}", "Customer - Direct" if i % 4 == 0 else
                         "Prospect", rng.choice(INDUSTRIES), city, state, zip_, "United States",
                         rng.randint(20, 4000), rng.randint(1, 900) * 100_000, owners[i % 4],
                         "true" if i % 13 == 0 else "false", "2026-10-01T08:00:00.000Z"])  # fmt: skip
    _write(OUT / "warehouse_salesforce_account.csv",
           ["id", "name", "type", "industry", "billing_city", "billing_state", "billing_postal_code",
            "billing_country", "number_of_employees", "annual_revenue", "owner_id", "is_deleted",
            "_fivetran_synced"], accounts)  # fmt: skip
    opps = []
    for i in range(1, 81):
        acct = 1 + (i * 3) % 40
        closed = i % 3 != 0
        won = closed and i % 2 == 0
        stage = "Closed Won" if won else ("Closed Lost" if closed else rng.choice(["Prospecting", "Negotiation"]))
        created = date(2026, 1, 5) + timedelta(days=i * 3)
        opps.append([_sf_id("006", i), f"Warehouse Deal {i:02d}", _sf_id("001", acct), stage,
                     rng.randint(5, 200) * 1000, (created + timedelta(days=45)).isoformat(),
                     f"{created.isoformat()}T10:00:00.000Z", str(won).lower(), str(closed).lower(),
                     owners[acct % 4], "true" if i % 17 == 0 else "false"])  # fmt: skip
    _write(OUT / "warehouse_salesforce_opportunity.csv",
           ["id", "name", "account_id", "stage_name", "amount", "close_date", "created_date", "is_won",
            "is_closed", "owner_id", "is_deleted"], opps)  # fmt: skip


def warehouse_hubspot(rng: random.Random) -> None:
    """HubSpot objects synced to a warehouse: property_ columns, archived rows."""
    companies = []
    for i in range(1, 31):
        city, state, zip_, _, _ = US_PLACES[i % len(US_PLACES)]
        companies.append([7000 + i, f"Hub Company {i:02d}", rng.choice(["COMPUTER_SOFTWARE", "HOSPITAL_HEALTH_CARE",
                          "RETAIL", "FINANCIAL_SERVICES"]), city, state, zip_, "United States",
                          rng.randint(10, 3000), rng.randint(1, 500) * 100_000, 90000 + i % 3,
                          "customer" if i % 5 == 0 else "lead", "true" if i % 11 == 0 else "false"])  # fmt: skip
    _write(OUT / "warehouse_hubspot_company.csv",
           ["id", "property_name", "property_industry", "property_city", "property_state", "property_zip",
            "property_country", "property_numberofemployees", "property_annualrevenue",
            "property_hubspot_owner_id", "property_lifecyclestage", "archived"], companies)  # fmt: skip
    deals = []
    for i in range(1, 61):
        comp = 7000 + 1 + (i * 7) % 30
        stage = rng.choice(["closedwon", "closedlost", "appointmentscheduled", "contractsent"])
        created = date(2026, 2, 1) + timedelta(days=i * 4)
        deals.append([8000 + i, f"Hub Deal {i:02d}", stage, rng.randint(2, 90) * 1000,
                      (created + timedelta(days=30)).isoformat(), f"{created.isoformat()} 09:30:00", 90000 + i % 3,
                      comp, "true" if i % 19 == 0 else "false"])  # fmt: skip
    _write(OUT / "warehouse_hubspot_deal.csv",
           ["deal_id", "property_dealname", "property_dealstage", "property_amount", "property_closedate",
            "property_createdate", "property_hubspot_owner_id", "associated_company_id", "archived"],
           deals)  # fmt: skip


def salesforce_api(rng: random.Random) -> None:
    """A full-field Salesforce API export of Account and Opportunity."""
    header = ["Id", "IsDeleted", "MasterRecordId", "Name", "Type", "ParentId", "BillingStreet", "BillingCity",
              "BillingState", "BillingPostalCode", "BillingCountry", "BillingLatitude", "BillingLongitude",
              "BillingGeocodeAccuracy", "ShippingStreet", "ShippingCity", "ShippingState", "ShippingPostalCode",
              "ShippingCountry", "Phone", "Fax", "AccountNumber", "Website", "Sic", "Industry", "AnnualRevenue",
              "NumberOfEmployees", "Ownership", "TickerSymbol", "Description", "Rating", "Site", "OwnerId",
              "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
              "LastActivityDate", "Customer_Status__c", "Tier__c"]  # fmt: skip
    rows = []
    for i in range(1, 26):
        city, state, zip_, lat, lon = US_PLACES[i % len(US_PLACES)]
        has_coords = i % 5 != 0
        if i == 7:
            zip_ = "10001"  # a New York ZIP on an account whose state says otherwise
        kind = "Customer - Direct" if i % 6 == 0 else ("Customer - Channel" if i % 10 == 0 else "Prospect")
        status = "Active Customer" if i % 8 == 0 else ""
        rows.append([_sf_id("001", 100 + i), "false", "", f"API Account {i:02d}", kind, "", f"{i} Main St", city,
                     state, zip_, "USA", round(lat + 0.01 * i, 6) if has_coords else "",
                     round(lon - 0.01 * i, 6) if has_coords else "", "Address" if has_coords else "", "", "", "", "",
                     "", "555-0100", "", f"AN{i:04d}", f"api{i}.example.com", "", rng.choice(INDUSTRIES),
                     rng.randint(1, 900) * 100_000, rng.randint(20, 5000), "Private", "", "", "Warm", "",
                     _sf_id("005", 10 + i % 3), "2025-04-01T10:00:00.000+0000", _sf_id("005", 1),
                     "2026-10-01T10:00:00.000+0000", _sf_id("005", 1), "2026-10-01T10:00:00.000+0000", "",
                     status, "Tier 2"])  # fmt: skip
    _write(OUT / "salesforce_api_account.csv", header, rows)
    opps = []
    for i in range(1, 31):
        acct = 100 + 1 + (i * 5) % 25
        won = i % 4 == 0
        closed = won or i % 3 == 0
        opps.append([_sf_id("006", 100 + i), "false", _sf_id("001", acct), f"API Deal {i:02d}",
                     "Closed Won" if won else ("Closed Lost" if closed else "Qualification"),
                     rng.randint(5, 150) * 1000, "2026-09-30", str(closed).lower(), str(won).lower(),
                     _sf_id("005", 10 + i % 3), "2026-03-01T10:00:00.000+0000"])  # fmt: skip
    _write(OUT / "salesforce_api_opportunity.csv",
           ["Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
            "OwnerId", "CreatedDate"], opps)  # fmt: skip


def main() -> None:
    rng = random.Random(14)
    crm_sales_opportunities(rng)
    warehouse_salesforce(rng)
    warehouse_hubspot(rng)
    salesforce_api(rng)
    print(f"wrote samples to {OUT}")


if __name__ == "__main__":
    main()
